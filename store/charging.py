"""The gateway's reads and writes: chargers, tokens, sessions, samples, status history.

Writes take a `Batch` (they run inside a group-commit transaction); reads that happen before
a decision take a plain connection.

The gateway's statements are built once, here, with bind parameters: building one per call
(and an upsert's `excluded` proxies) cost SQLAlchemy more than running it, and a prebuilt
statement's compiled form is reused from the compiled cache.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    insert,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store.batcher import Batch
from store.outbox_store import event_row
from store.schema import (
    chargers,
    connectors,
    data_transfers,
    meter_samples,
    outbox,
    sessions,
    sites,
    status_events,
    subscribers,
    tariffs,
    tokens,
)

# at most this many ids in one IN (...): well under every engine's bind-parameter limit
IN_CHUNK = 500

_CHARGER = select(
    chargers, sites.c.allow_passwordless, sites.c.tz, sites.c.security_profile
).select_from(chargers.outerjoin(sites, sites.c.id == chargers.c.site_id))
_LOAD_CHARGERS = _CHARGER.where(chargers.c.id.in_(bindparam("ids", expanding=True)))


async def load_chargers(conn: AsyncConnection, ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """Chargers with what their site allows (allow_passwordless, tz), many ids per query:
    id -> charger, unknown ids left out."""
    found: dict[str, dict[str, Any]] = {}
    wanted = list(dict.fromkeys(ids))
    for i in range(0, len(wanted), IN_CHUNK):
        result = await conn.execute(_LOAD_CHARGERS, {"ids": wanted[i : i + IN_CHUNK]})
        for row in result.mappings():
            found[row["id"]] = dict(row)
    return found


async def security_profiles(conn: AsyncConnection) -> dict[str, int]:
    """Each site's security profile (the gateway re-checks its open sockets against them)."""
    rows = await conn.execute(select(sites.c.id, sites.c.security_profile))
    return {site_id: profile for site_id, profile in rows}


async def register_pending(conn: AsyncConnection, charger_id: str, at: datetime) -> None:
    """An unknown charger that connected: kept as pending until a super-admin approves it."""
    await conn.execute(
        insert(chargers).values(id=charger_id, site_id=None, state="pending", created_at=at)
    )


_RECENT_KEYS = (
    "id",
    "connector_id",
    "started_at",
    "stopped_at",
    "meter_start_wh",
    "transaction_ref",
)
_RECENT = (
    select(*(sessions.c[k] for k in _RECENT_KEYS))
    .where(
        or_(sessions.c.stopped_at.is_(None), sessions.c.stopped_at >= bindparam("since")),
    )
    .order_by(sessions.c.stopped_at.is_not(None), sessions.c.stopped_at, sessions.c.id)
)
_RECENT_MANY = _RECENT.add_columns(sessions.c.charger_id).where(
    sessions.c.charger_id.in_(bindparam("ids", expanding=True))
)


async def recent_sessions_of(
    conn: AsyncConnection, ids: Collection[str], stopped_since: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Each charger's open sessions, then those stopped since `stopped_since` (oldest first),
    many chargers per query: id -> its rows."""
    found: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    wanted = list(found)
    for i in range(0, len(wanted), IN_CHUNK):
        params = {"ids": wanted[i : i + IN_CHUNK], "since": stopped_since}
        for row in (await conn.execute(_RECENT_MANY, params)).mappings():
            found[row["charger_id"]].append({k: row[k] for k in _RECENT_KEYS})
    return found


# a site's tokens with the subscriber each belongs to
_TOKEN_FROM = tokens.outerjoin(subscribers, subscribers.c.id == tokens.c.subscriber_id)
_MONTHLY = (
    select(chargers.c.id, chargers.c.monthly_payment, sites.c.auth_policy)
    .select_from(chargers.outerjoin(sites, sites.c.id == chargers.c.site_id))
    .where(chargers.c.id.in_(bindparam("ids", expanding=True)))
)
_TOKENS = (
    select(
        tokens.c.site_id, tokens.c.id_tag, tokens.c.state, subscribers.c.state, tokens.c.expires_at
    )
    .select_from(_TOKEN_FROM)
    .where(
        tokens.c.site_id.in_(bindparam("sites", expanding=True)),
        tokens.c.id_tag.in_(bindparam("tags", expanding=True)),
    )
)

AuthorizeKey = tuple[str, str | None, str]  # (charger id, site id, idTag)
# (monthly payment, token state, subscriber state, token expiry, site auth policy)
AuthorizeFacts = tuple[bool, str | None, str | None, datetime | None, str]


async def authorize_facts_of(
    conn: AsyncConnection, keys: Collection[AuthorizeKey]
) -> dict[AuthorizeKey, AuthorizeFacts]:
    """What Authorizes decide on, for many at once in two queries: per (charger, site, idTag),
    (the charger's monthly payment (False when the charger is gone), the token's state on
    that site ('active', 'blocked', None when unknown), the state of the subscriber it belongs
    to (None when none), the token's expiry (None: none), the site's auth policy)."""
    charger_ids = list({k[0] for k in keys})
    monthly: dict[str, tuple[bool, str]] = {}
    for i in range(0, len(charger_ids), IN_CHUNK):
        result = await conn.execute(_MONTHLY, {"ids": charger_ids[i : i + IN_CHUNK]})
        monthly.update((row[0], (bool(row[1]), row[2] or "open")) for row in result)
    site_ids = list({k[1] for k in keys if k[1] is not None})
    tags = list({k[2] for k in keys if k[1] is not None})
    found: dict[tuple[str, str], tuple[str, str | None, datetime | None]] = {}
    for i in range(0, len(site_ids), IN_CHUNK):
        for j in range(0, len(tags), IN_CHUNK):
            params = {"sites": site_ids[i : i + IN_CHUNK], "tags": tags[j : j + IN_CHUNK]}
            for row in await conn.execute(_TOKENS, params):
                found[(row[0], row[1])] = (row[2], row[3], row[4])
    answers: dict[AuthorizeKey, AuthorizeFacts] = {}
    for key in keys:
        charger_id, site_id, id_tag = key
        token = found.get((site_id, id_tag)) if site_id is not None else None
        paid, policy = monthly.get(charger_id, (False, "open"))
        state, sub_state, expires = token or (None, None, None)
        answers[key] = (paid, state, sub_state, expires, policy)
    return answers


_SNAPSHOT_COLUMNS = (
    chargers.c.site_id,
    chargers.c.monthly_payment,
    tariffs.c.current_version_id.label("tariff_id"),
    chargers.c.max_power_w,
)
_SNAPSHOT_FROM = chargers.outerjoin(tariffs, tariffs.c.id == chargers.c.tariff_id)
_SNAPSHOT = (
    select(*_SNAPSHOT_COLUMNS)
    .select_from(_SNAPSHOT_FROM)
    .where(chargers.c.id == bindparam("charger_id"))
)


async def charger_snapshot(batch: Batch, charger_id: str) -> dict[str, Any]:
    """What a session snapshots at its start: mode, tariff, site (read in the same transaction).

    ``tariff_id`` is the id of the assigned tariff's *current version* (tariff_versions.id),
    not of the tariff: a later edit of the tariff makes a new version and never reprices a
    session that started under the old one. None when no tariff is assigned.
    """
    return dict((await batch.execute(_SNAPSHOT, {"charger_id": charger_id})).mappings().one())


# The session of a StartTransaction key (a replay), if any.
START_KEY = ("charger_id", "connector_id", "id_tag", "charger_started_at", "meter_start_wh")
_KEY = START_KEY
_same_key = and_(*(sessions.c[k] == bindparam(k) for k in _KEY))

# Everything a StartTransaction reads, in one query: the charger's snapshot, the token on the
# charger's site (its state, its subscriber's state, the subscriber who pays) and the session
# a replay of this start would have made.
_START_FACTS_COLUMNS = (
    *_SNAPSHOT_COLUMNS,
    tokens.c.state.label("token_state"),
    subscribers.c.state.label("subscriber_state"),
    tokens.c.subscriber_id,
    tokens.c.expires_at.label("token_expires_at"),
    sites.c.auth_policy,
    sessions.c.id.label("session_id"),
    sessions.c.auth_status,
)
_START_FACTS_KEYS = tuple(c.name for c in _START_FACTS_COLUMNS)


def _start_facts_from(chargers_from: Any, id_tag: Any, same_key: Any) -> Any:
    """The charger (from `chargers_from`) with its tariff, token, subscriber and replay."""
    return (
        chargers_from.outerjoin(tariffs, tariffs.c.id == chargers.c.tariff_id)
        .outerjoin(sites, sites.c.id == chargers.c.site_id)
        .outerjoin(tokens, and_(tokens.c.site_id == chargers.c.site_id, tokens.c.id_tag == id_tag))
        .outerjoin(subscribers, subscribers.c.id == tokens.c.subscriber_id)
        .outerjoin(sessions, same_key)
    )


_START_FACTS = (
    select(*_START_FACTS_COLUMNS)
    .select_from(_start_facts_from(chargers, bindparam("id_tag"), _same_key))
    .where(chargers.c.id == bindparam("charger_id"))
)


@cache
def _start_facts_many(n: int) -> Any:
    """`_START_FACTS` for n keys at once: the keys as a derived table (one SELECT of bind
    parameters per key, numbered) joined like the single query."""
    arms = [
        select(
            literal_column(str(i), Integer).label("n"),
            *(bindparam(f"{k}_{i}", type_=sessions.c[k].type).label(k) for k in _KEY),
        )
        for i in range(n)
    ]
    keys = union_all(*arms).subquery("k")
    same_key = and_(*(sessions.c[k] == keys.c[k] for k in _KEY))
    return select(keys.c.n, *_START_FACTS_COLUMNS).select_from(
        _start_facts_from(
            keys.join(chargers, chargers.c.id == keys.c.charger_id), keys.c.id_tag, same_key
        )
    )


async def start_facts_of(batch: Batch, keys: list[tuple[Any, ...]]) -> dict[Any, dict[str, Any]]:
    """`start_facts` of many StartTransactions in one query per 256: START_KEY tuple -> its
    facts; a key whose charger is gone is left out."""
    found: dict[Any, dict[str, Any]] = {}
    for i in range(0, len(keys), 256):
        chunk = keys[i : i + 256]
        size = 2
        while size < len(chunk):  # a few statement shapes, each compiled once
            size *= 2
        # padded with keys of no charger: the join drops them at once
        padded = chunk + [("", *chunk[0][1:])] * (size - len(chunk))
        params = {f"{k}_{n}": key[j] for n, key in enumerate(padded) for j, k in enumerate(_KEY)}
        result = await batch.execute(_start_facts_many(size), params, flush=False)
        for row in result.mappings():
            if row["n"] < len(chunk):
                found[chunk[row["n"]]] = {k: row[k] for k in _START_FACTS_KEYS}
    return found


async def start_facts(batch: Batch, key: dict[str, Any]) -> dict[str, Any]:
    """For a StartTransaction with this session key, in one query (same transaction):
    `charger_snapshot`'s fields; token_state, subscriber_state (the token's and its
    subscriber's state on the charger's site); subscriber_id (who owns the token there now);
    and session_id, auth_status of the
    session a replay finds by the key (None when this start is new).

    Raises NoResultFound when the charger is gone, like `charger_snapshot`.
    """
    # nothing queued (samples, status, outbox, connectors, boot fields) is read here
    return dict((await batch.execute(_START_FACTS, key, flush=False)).mappings().one())


# The token's state on the charger's site (what a StopTransaction's idTag is checked against).
_STOP_TOKEN = (
    select(tokens.c.state)
    .select_from(
        chargers.outerjoin(
            tokens,
            and_(tokens.c.site_id == chargers.c.site_id, tokens.c.id_tag == bindparam("id_tag")),
        )
    )
    .where(chargers.c.id == bindparam("charger_id"))
)


async def token_on_charger_site(batch: Batch, charger_id: str, id_tag: str) -> str | None:
    """`token_state` on the site the charger has now (one query); NoResultFound when the
    charger is gone, like `charger_snapshot`."""
    params = {"charger_id": charger_id, "id_tag": id_tag}
    return (await batch.execute(_STOP_TOKEN, params)).scalar_one()  # type: ignore[no-any-return]


_RECORD_BOOT = update(chargers).where(chargers.c.id == bindparam("b_charger_id"))
_BOOT_FIELDS = ("vendor", "model", "serial", "firmware")


def record_boot(batch: Batch, charger_id: str, info: dict[str, Any], at: datetime) -> None:
    """What the charger said about itself, and when it booted (queued: one executemany)."""
    params = {"b_charger_id": charger_id, **{k: info[k] for k in _BOOT_FIELDS}}
    params["last_boot_at"] = params["last_seen_at"] = at
    batch.add_params(_RECORD_BOOT, [params])


def _connector_upsert(insert_of: Any) -> Any:
    stmt = insert_of(connectors)
    return stmt.on_conflict_do_update(
        index_elements=[connectors.c.charger_id, connectors.c.connector_id],
        set_={
            "status": stmt.excluded.status,
            "error_code": stmt.excluded.error_code,
            "updated_at": stmt.excluded.updated_at,
        },
    )


_CONNECTOR_UPSERT = {
    "postgresql": _connector_upsert(pg_insert),
    "sqlite": _connector_upsert(sqlite_insert),
}


def record_status(batch: Batch, row: dict[str, Any]) -> None:
    """Keep the status history and the connector's current state (both queued: one
    executemany per batch; one connector's upserts keep their order)."""
    batch.add_rows(status_events, [row])
    upsert = _CONNECTOR_UPSERT[batch.conn.dialect.name]
    batch.add_params(
        upsert,
        [
            {
                "charger_id": row["charger_id"],
                "connector_id": row["connector_id"],
                "status": row["status"],
                "error_code": row["error_code"],
                "updated_at": row["ts"],
            }
        ],
    )


_SESSION_BY_KEY = select(sessions).where(_same_key)


async def find_session_by_key(batch: Batch, key: dict[str, Any]) -> dict[str, Any] | None:
    """The session of a StartTransaction key (charger_id, connector_id, id_tag,
    charger_started_at, meter_start_wh), if any."""
    row = (await batch.execute(_SESSION_BY_KEY, {k: key[k] for k in _KEY})).mappings().first()
    return dict(row) if row is not None else None


_INSERT_SESSION = insert(sessions)


async def insert_session(batch: Batch, row: dict[str, Any]) -> int:
    # a new session depends on no queued write (queued samples may refer to it: it comes first)
    result = await batch.execute(_INSERT_SESSION, row, flush=False)
    return int(result.inserted_primary_key[0])


_GET_SESSION = select(sessions).where(sessions.c.id == bindparam("session_id"))


async def get_session(batch: Batch | AsyncConnection, session_id: int) -> dict[str, Any] | None:
    row = (await batch.execute(_GET_SESSION, {"session_id": session_id})).mappings().first()
    return dict(row) if row is not None else None


_UPDATE_SESSION = update(sessions).where(sessions.c.id == bindparam("b_session_id"))


async def update_session(batch: Batch, session_id: int, values: dict[str, Any]) -> None:
    await batch.execute(_UPDATE_SESSION, {"b_session_id": session_id, **values})


_SESSION_METER = (
    select(meter_samples.c.ts, meter_samples.c.energy_mwh, meter_samples.c.power_w)
    .where(meter_samples.c.session_id == bindparam("session_id"))
    .order_by(meter_samples.c.ts, meter_samples.c.id)
)


async def session_meter(
    batch: Batch, session_id: int
) -> list[tuple[datetime, int | None, int | None]]:
    """(ts, energy_mwh, power_w) of a session's samples, oldest first."""
    result = await batch.execute(_SESSION_METER, {"session_id": session_id})
    return [tuple(r) for r in result.all()]


_STATUSES = select(status_events.c.ts, status_events.c.status).where(
    status_events.c.charger_id == bindparam("charger_id"),
    status_events.c.connector_id == bindparam("connector_id"),
)
_STATUS_BEFORE = (
    _STATUSES.where(status_events.c.ts <= bindparam("start"))
    .order_by(status_events.c.ts.desc(), status_events.c.id.desc())
    .limit(1)
)
_STATUSES_DURING = _STATUSES.where(
    status_events.c.ts > bindparam("start"), status_events.c.ts <= bindparam("stop")
).order_by(status_events.c.ts, status_events.c.id)


async def connector_statuses(
    batch: Batch, charger_id: str, connector_id: int, start: datetime, stop: datetime
) -> list[tuple[datetime, str]]:
    """The status in force at `start` (if any) and every change up to `stop`."""
    params = {"charger_id": charger_id, "connector_id": connector_id, "start": start}
    before = (await batch.execute(_STATUS_BEFORE, params)).all()
    during = (await batch.execute(_STATUSES_DURING, {**params, "stop": stop})).all()
    return [(r[0], r[1]) for r in (*before, *during)]


def add_samples(batch: Batch, rows: list[dict[str, Any]]) -> None:
    batch.add_rows(meter_samples, rows)


def add_data_transfer(batch: Batch, row: dict[str, Any]) -> None:
    batch.add_rows(data_transfers, [row])


def add_event(
    batch: Batch,
    kind: str,
    site_id: str | None,
    charger_id: str | None,
    payload: dict[str, Any],
    at: datetime,
) -> str:
    """An outbox event, committed with the change it describes."""
    row = event_row(kind, site_id, charger_id, payload, at)
    batch.add_rows(outbox, [row])
    return str(row["event_id"])


_TOUCH = update(chargers).where(chargers.c.id == bindparam("b_charger_id"))


async def touch_charger(batch: Batch, charger_id: str, at: datetime) -> None:
    # run now, not queued: a boot of the same charger queued in this batch comes first
    await batch.execute(_TOUCH, {"b_charger_id": charger_id, "last_seen_at": at})
