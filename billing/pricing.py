"""Price one billable session under its snapshotted tariff version (pure).

Every price comes from the session's one trace (``metering.session_timeline``), the one its
stored charging and parking seconds come from; two fast paths give the same Decimal from the
stored totals without reading the trace (docs/billing.md):

- a tariff without restrictions: ``tariffs.closed_form`` on (Wh, charging s, parking s);
- a clock-only tariff (time of day, weekdays, dates) and a session inside one window:
  ``tariffs.OneWindow``, the closed form of the elements active there.

Any other session is priced through its trace: register samples, power samples and the
connector's statuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from billing import unit_prices
from metering import Timeline, session_timeline
from tariffs import ClosedForm, OneWindow, Tariff, closed_form, parse_tariff, price_session


class SessionTotals(NamedTuple):
    """What the sessions table stores about a finished session (a NamedTuple: immutable and
    cheap to build, unlike a frozen dataclass; a run builds one per restricted session)."""

    started_at: datetime
    stopped_at: datetime
    energy_wh: int
    charging_s: int
    parking_s: int
    meter_start_wh: int = 0


class VersionPricer:
    """One tariff version, parsed and compiled once, pricing many sessions."""

    def __init__(self, tariff: Tariff, tz: str) -> None:
        self.tariff = tariff
        self.tz = tz
        self.linear: ClosedForm | None = closed_form(tariff)
        self.window: OneWindow | None = OneWindow(tariff, tz) if self.linear is None else None
        # the unit prices a line of this version shows (billing/unit_prices.py), once
        self.linear_prices: str | None = unit_prices.of_form(self.linear)
        self._window_prices: dict[int, str | None] = {}

    @classmethod
    def from_ocpi(cls, ocpi: str | dict[str, Any], tz: str) -> VersionPricer:
        import json

        obj = json.loads(ocpi, parse_float=Decimal) if isinstance(ocpi, str) else ocpi
        return cls(parse_tariff(obj), tz)

    @property
    def needs_samples(self) -> bool:
        """True when the price can depend on when energy flowed, not only on totals."""
        return self.linear is None

    def net_of_totals(self, s: SessionTotals) -> Decimal | None:
        """The price excl. VAT from the stored totals, when a closed form gives it (the same
        Decimal as the trace's price, the stored times being the trace's), else None."""
        if self.linear is not None:
            return self.linear.net(s.energy_wh, s.charging_s, s.parking_s)
        if self.window is None:
            return None
        return self.window.net(s.started_at, s.stopped_at, s.energy_wh, s.charging_s, s.parking_s)

    def prices_of_totals(self, s: SessionTotals) -> str | None:
        """The unit prices that ``net_of_totals`` used (None when it gives no price)."""
        if self.linear is not None:
            return self.linear_prices
        form = None if self.window is None else self.window.form(s.started_at, s.stopped_at)
        if form is None:
            return None
        key = id(form)  # the window's forms live as long as this pricer
        if key not in self._window_prices:
            self._window_prices[key] = unit_prices.of_form(form)
        return self._window_prices[key]

    def net_of(self, timeline: Timeline) -> Decimal:
        """The price excl. VAT of a session's trace, full precision (rounding is the
        invoice's job)."""
        return price_session(self.tariff, timeline.trace(), self.tz).total_cost.excl_vat

    def priced(self, timeline: Timeline) -> tuple[Decimal, str | None]:
        """``net_of`` and the unit prices the pricer met on the trace."""
        priced = price_session(self.tariff, timeline.trace(), self.tz)
        return priced.total_cost.excl_vat, unit_prices.of_lines(priced.lines)

    def timeline(
        self,
        s: SessionTotals,
        samples: Sequence[tuple[datetime, int | None, int | None]],
        statuses: Sequence[tuple[datetime, str]],
    ) -> Timeline:
        """The session's one trace from its stored totals, samples and connector statuses."""
        return session_timeline(
            s.started_at,
            s.stopped_at,
            meter_start_wh=s.meter_start_wh,
            energy_wh=s.energy_wh,
            samples=samples,
            statuses=statuses,
        )
