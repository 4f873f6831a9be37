"""Switches for every Wallbox behaviour in wallbox.md (and a wrong clock), all off by default.

Each switch reproduces one reported behaviour so the central system can be tested against it;
`Quirks.parse("no_boot,kwh_units")` builds them from the command line or a scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

# name -> one-line meaning (shown by `evgate simulate --list-quirks` and in the docs)
QUIRK_HELP: dict[str, str] = {
    "no_boot": "firmware 6.x: no BootNotification on (re)connect until TriggerMessage asks",
    "sample_after_stop": "Copper SB: a MeterValues after StopTransaction, a few Wh above meterStop",
    "empty_password": "no HTTP Basic Auth at all (Wallbox default), whatever password is set",
    "per_session_register": "the energy register restarts at 0 for every session",
    "kwh_units": "Energy.Active.Import.Register sampled in kWh instead of Wh",
    "zero_power": "Copper SB: Power.Active.Import reads 0 while charging",
    "frequent_reconnects": "drop the socket every reconnect_every_s (30-60 s) and reconnect",
    "suspended_after_remote_start": "SuspendedEV right after RemoteStart, Charging a bit later",
    "forget_on_reboot": "a reboot with the cable in forgets the running transaction",
    "wrong_clock": "clock counts from 1970-01-01 since power-on (no RTC/NTP)",
    "fw5_profiles": "firmware 5.x: SetChargingProfile accepted only at stackLevel 0",
    "empty_transaction_data": "StopTransaction carries transactionData: []",
}


@dataclass(frozen=True, slots=True)
class Quirks:
    no_boot: bool = False
    sample_after_stop: bool = False
    empty_password: bool = False
    per_session_register: bool = False
    kwh_units: bool = False
    zero_power: bool = False
    frequent_reconnects: bool = False
    suspended_after_remote_start: bool = False
    forget_on_reboot: bool = False
    wrong_clock: bool = False
    fw5_profiles: bool = False
    empty_transaction_data: bool = False
    # tuning of the switches above (not switches themselves)
    reconnect_every_s: tuple[float, float] = (30.0, 60.0)  # wall-clock range
    after_stop_extra_wh: int = 3
    suspended_for_s: int = 20  # virtual seconds in SuspendedEV before Charging

    @classmethod
    def names(cls) -> list[str]:
        return list(QUIRK_HELP)

    @classmethod
    def parse(cls, text: str | list[str] | tuple[str, ...] | None) -> Quirks:
        """'a,b' or ['a', 'b'] -> Quirks with those switches on; unknown names raise."""
        if not text:
            return cls()
        items = text.split(",") if isinstance(text, str) else list(text)
        on: dict[str, Any] = {}
        for raw in items:
            name = raw.strip().replace("-", "_")
            if not name:
                continue
            if name == "all":
                on.update(dict.fromkeys(QUIRK_HELP, True))
                continue
            if name not in QUIRK_HELP:
                raise ValueError(f"unknown quirk {raw.strip()!r} (known: {', '.join(QUIRK_HELP)})")
            on[name] = True
        return cls(**on)

    def with_(self, **changes: object) -> Quirks:
        return replace(self, **changes)  # type: ignore[arg-type]

    def enabled(self) -> list[str]:
        return [f.name for f in fields(self) if f.name in QUIRK_HELP and getattr(self, f.name)]
