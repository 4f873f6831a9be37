"""Smart charging (OCPP 1.6 section 3.13) from the central system's side, and a site's
power limit shared between its running sessions.

The catalog's rows for SetChargingProfile, ClearChargingProfile, GetCompositeSchedule and
RemoteStartTransaction (with a chargingProfile) call the hooks here: ``check_*`` refuse
before anything is sent what the schema cannot say (a TxProfile needs a running transaction
of that charger, periods start at 0 and ascend, ...); ``store_*`` keep what the charger's
answer means (store.charging_profiles). A profile's numbers are read as exact decimals and
stored as the JSON that was sent; no float is computed with and no Decimal is ever sent.

A site's power limit is shared by services.site_power; its shares are TxProfiles of their
own id range (``share_profile_id``), stored here like any other profile.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from metering.power_share import MAX_SITE_POWER_W
from services.context import Actor
from store import admin
from store import charging_profiles as profiles_store
from store.errors import Invalid

PURPOSES = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")
RATE_UNITS = ("A", "W")
INT32 = 2**31 - 1
MAX_LIMIT = Decimal(MAX_SITE_POWER_W)  # no charger limit (A or W) is larger

# the site shares' TxProfiles: stack level 0 (firmware that takes only 0 takes them), and a
# chargingProfileId of their own range, one per session, so a share replaces its own
# predecessor and no other connector's
SHARE_STACK_LEVEL = 0
SHARE_PROFILE_BASE = 1_000_000_000


def now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- checks the schema cannot say


def exact(value: Any, field: str) -> Decimal:
    """A JSON number as the exact decimal it was written as (6.0 -> Decimal('6.0'))."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{field} must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise Invalid(f"{field} {value!r} is not a number") from None
    if not number.is_finite():
        raise Invalid(f"{field} must be a finite number")
    return number


def _time(value: Any, field: str) -> datetime:
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{field} {value!r} is not an ISO 8601 date-time") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def check_profile(profile: dict[str, Any], connector_id: int, field: str) -> None:
    """Invalid naming the field for a profile no charger could apply as meant.

    ``connector_id`` is the connector it is for (SetChargingProfile's connectorId; a remote
    start's, or 0).
    """
    pid = profile["chargingProfileId"]
    if not 0 <= pid <= INT32:
        raise Invalid(f"{field}.chargingProfileId must be between 0 and {INT32}")
    level = profile["stackLevel"]
    if not 0 <= level <= INT32:
        raise Invalid(f"{field}.stackLevel must be 0 or more (at most {INT32})")
    purpose = profile["chargingProfilePurpose"]
    if purpose not in PURPOSES:
        raise Invalid(f"{field}.chargingProfilePurpose must be one of {', '.join(PURPOSES)}")
    if purpose == "ChargePointMaxProfile" and connector_id != 0:
        raise Invalid(f"a ChargePointMaxProfile is for connectorId 0, not {connector_id}")
    if "transactionId" in profile and purpose != "TxProfile":
        raise Invalid(f"{field}.transactionId is only for a TxProfile")
    kind = profile["chargingProfileKind"]
    schedule = profile["chargingSchedule"]
    if kind == "Recurring":
        if "recurrencyKind" not in profile:
            raise Invalid(f"{field}.recurrencyKind is needed by a Recurring profile")
        if "startSchedule" not in schedule:
            raise Invalid(f"{field}.chargingSchedule.startSchedule is needed when Recurring")
    elif "recurrencyKind" in profile:
        raise Invalid(f"{field}.recurrencyKind is only for a Recurring profile")
    if "validFrom" in profile and "validTo" in profile:
        valid_from = _time(profile["validFrom"], f"{field}.validFrom")
        if _time(profile["validTo"], f"{field}.validTo") <= valid_from:
            raise Invalid(f"{field}.validTo must be after validFrom")
    where = f"{field}.chargingSchedule"
    if schedule["chargingRateUnit"] not in RATE_UNITS:
        raise Invalid(f"{where}.chargingRateUnit must be A or W")
    duration = schedule.get("duration")
    if duration is not None and not 0 < duration <= INT32:
        raise Invalid(f"{where}.duration must be a positive number of seconds")
    if "minChargingRate" in schedule:
        rate = exact(schedule["minChargingRate"], f"{where}.minChargingRate")
        if not 0 <= rate <= MAX_LIMIT:
            raise Invalid(f"{where}.minChargingRate must be 0 or more")
    periods = schedule["chargingSchedulePeriod"]
    if not periods:
        raise Invalid(f"{where}.chargingSchedulePeriod needs at least one period")
    last = -1
    for n, period in enumerate(periods):
        at = f"{where}.chargingSchedulePeriod[{n}]"
        start = period["startPeriod"]
        if n == 0 and start != 0:
            raise Invalid(f"{at}.startPeriod must be 0: the first period starts the schedule")
        if start <= last or start > INT32:
            raise Invalid(f"{at}.startPeriod must be after the period before it")
        last = start
        limit = exact(period["limit"], f"{at}.limit")
        if not 0 <= limit <= MAX_LIMIT:
            raise Invalid(f"{at}.limit must be between 0 and {MAX_SITE_POWER_W}")
        if limit != limit.quantize(Decimal("0.1")):
            raise Invalid(f"{at}.limit has at most one decimal (e.g. 6.1)")
        phases = period.get("numberPhases")
        if phases is not None and phases not in (1, 2, 3):
            raise Invalid(f"{at}.numberPhases must be 1, 2 or 3")


async def check_set_profile(
    engine: AsyncEngine, actor: Actor, charger_id: str, payload: dict[str, Any]
) -> None:
    """SetChargingProfile: the profile's own rules, and a TxProfile's running transaction."""
    connector_id = payload["connectorId"]
    if not 0 <= connector_id <= INT32:
        raise Invalid("set-charging-profile: connectorId must be 0 (the charger) or more")
    profile = payload["csChargingProfiles"]
    check_profile(profile, connector_id, "csChargingProfiles")
    if profile["chargingProfilePurpose"] != "TxProfile":
        return
    if connector_id == 0:
        raise Invalid("a TxProfile is for the connector of its transaction, not connectorId 0")
    tx = profile.get("transactionId")
    if tx is None:
        raise Invalid("csChargingProfiles.transactionId is needed by a TxProfile")
    async with engine.connect() as conn:
        await admin.get_charger(conn, charger_id)
        session = await profiles_store.running_session(conn, charger_id, tx)
    if session is None:
        raise Invalid(
            f"csChargingProfiles.transactionId {tx} is no running session of {charger_id!r}"
        )
    if session["connector_id"] != connector_id:
        raise Invalid(
            f"transaction {tx} runs on connector {session['connector_id']}, "
            f"not connectorId {connector_id}"
        )


def check_remote_start_profile(payload: dict[str, Any]) -> None:
    """A RemoteStartTransaction's chargingProfile: a TxProfile, without a transactionId (the
    transaction does not exist yet), by the same rules as any profile."""
    profile = payload.get("chargingProfile")
    if profile is None:
        return
    if profile["chargingProfilePurpose"] != "TxProfile":
        raise Invalid("chargingProfile.chargingProfilePurpose of a remote start is TxProfile")
    if "transactionId" in profile:
        raise Invalid("chargingProfile.transactionId is not set in a remote start")
    check_profile(profile, payload.get("connectorId", 0), "chargingProfile")


async def check_clear(
    engine: AsyncEngine, actor: Actor, charger_id: str, payload: dict[str, Any]
) -> None:
    for name in ("id", "connectorId", "stackLevel"):
        value = payload.get(name)
        if value is not None and not 0 <= value <= INT32:
            raise Invalid(f"clear-charging-profile: {name} must be 0 or more")


async def check_composite(
    engine: AsyncEngine, actor: Actor, charger_id: str, payload: dict[str, Any]
) -> None:
    if not 0 <= payload["connectorId"] <= INT32:
        raise Invalid("get-composite-schedule: connectorId must be 0 (the charger) or more")
    if not 0 < payload["duration"] <= INT32:
        raise Invalid("get-composite-schedule: duration must be a positive number of seconds")


def share_profile_id(session_id: int) -> int:
    return SHARE_PROFILE_BASE + session_id % SHARE_PROFILE_BASE


def is_share(row: dict[str, Any]) -> bool:
    """A stored profile that is a site share (services.site_power sent it)."""
    return bool(row["purpose"] == "TxProfile" and row["profile_id"] >= SHARE_PROFILE_BASE)


# ---------------------------------------------------------------- what an answer means


def _row(
    charger_id: str,
    connector_id: int,
    profile: dict[str, Any],
    command: str,
    status: str,
    transaction_id: int | None,
) -> dict[str, Any]:
    return {
        "charger_id": charger_id,
        "connector_id": connector_id,
        "profile_id": profile["chargingProfileId"],
        "purpose": profile["chargingProfilePurpose"],
        "stack_level": profile["stackLevel"],
        "transaction_id": transaction_id,
        "profile": profile,
        "command": command,
        "status": str(status),
        "set_at": now(),
    }


async def store_set_profile(
    engine: AsyncEngine, charger_id: str, payload: dict[str, Any], answer: dict[str, Any]
) -> None:
    """Keep the profile with the charger's answer; Accepted, it is in force from now."""
    profile = payload["csChargingProfiles"]
    row = _row(
        charger_id,
        payload["connectorId"],
        profile,
        "set-charging-profile",
        answer.get("status", "Unknown"),
        profile.get("transactionId"),
    )
    async with engine.begin() as conn:
        await profiles_store.record(conn, row)


async def store_remote_start_profile(
    engine: AsyncEngine, charger_id: str, payload: dict[str, Any], answer: dict[str, Any]
) -> None:
    profile = payload.get("chargingProfile")
    if profile is None:
        return
    row = _row(
        charger_id,
        payload.get("connectorId", 0),
        profile,
        "remote-start-transaction",
        answer.get("status", "Unknown"),
        None,
    )
    async with engine.begin() as conn:
        await profiles_store.record(conn, row)


async def store_cleared(
    engine: AsyncEngine, charger_id: str, payload: dict[str, Any], answer: dict[str, Any]
) -> None:
    """Accepted: the profiles the request matched are no longer in force."""
    if answer.get("status") != "Accepted":
        return
    async with engine.begin() as conn:
        await profiles_store.clear(
            conn,
            charger_id,
            now(),
            profile_id=payload.get("id"),
            connector_id=payload.get("connectorId"),
            purpose=payload.get("chargingProfilePurpose"),
            stack_level=payload.get("stackLevel"),
        )


async def in_force(
    engine: AsyncEngine, actor: Actor, charger_id: str, history: bool = False
) -> list[dict[str, Any]]:
    """The charger's profiles in force (``history``: every one sent, with its answer)."""
    async with engine.connect() as conn:
        charger = await admin.get_charger(conn, charger_id)
        actor.check_read(charger["site_id"])
        rows = await profiles_store.listed(conn, charger_id, in_force_only=not history)
    for row in rows:
        row["site_share"] = is_share(row)
    return rows
