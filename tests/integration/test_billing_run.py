"""The monthly run on SQLite and PostgreSQL: hand-computed totals, boundaries, late sessions,
held-back sessions, idempotence, the next-invoice estimate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.errors import BillingError
from billing.run import RunOptions, estimate, run_billing
from store.billing_schema import invoice_lines, invoice_sessions, invoices, number_series
from store.schema import meter_samples, sessions, tokens
from tests.unit.billing.billing_testkit import NOW, World, local, rows

OCT = RunOptions("2026-10", now=NOW)


async def snapshot(engine: AsyncEngine) -> list[object]:
    out: list[object] = []
    for table in (invoices, invoice_lines, invoice_sessions, number_series):
        for row in await rows(engine, table):
            out.append(sorted((k, str(v)) for k, v in row.items() if k != "run_id"))
    return out


async def test_a_hand_computed_month(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    a = await w.subscriber("A")
    b = await w.subscriber("B", discount_bp=1000, language="nb")
    # 10 kWh x 2.50 + 1 h x 60.00 + 0.5 h parking x 12.00 + 5.00 = 96.00
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000, parking_min=30)
    # 7.333 kWh x 2.50 = 18.3325 + 0.75 h x 60.00 + 5.00 = 68.3325 -> 68.33
    await w.session("A", local("2026-10-06 08:00"), 45, 7_333)
    # peak tariff, 16:00-18:00 local, 2 kWh evenly: 1 kWh x 1.00 + 1 kWh x 4.00 = 5.00
    await w.session("B", local("2026-10-07 16:00"), 120, 2_000, tariff="peak")
    report = await run_billing(engine, OCT)
    assert (report.invoices, report.sessions, report.energy_wh) == (2, 3, 19_333)
    inv = {r["subscriber_id"]: r for r in await rows(engine, invoices)}
    assert [inv[a]["number_text"], inv[b]["number_text"]] == ["OSL-000001", "OSL-000002"]
    # A: 96.00 + 68.33 = 164.33, VAT 41.0825 -> 41.08, total 205.41
    assert (inv[a]["net"], inv[a]["vat"], inv[a]["total"]) == (16433, 4108, 20541)
    # B: 5.00 - 10 % = 4.50, VAT 1.125 -> 1.13, total 5.63
    assert (inv[b]["net"], inv[b]["vat"], inv[b]["total"]) == (450, 113, 563)
    assert inv[a]["state"] == inv[b]["state"] == "issued"
    assert inv[b]["language"] == "nb"
    assert report.totals == {"NOK": {"net": 16883, "vat": 4221, "total": 21104}}
    lines = await rows(engine, invoice_lines, invoice_lines.c.id)
    assert [(ln["kind"], ln["net"]) for ln in lines if ln["invoice_id"] == inv[b]["id"]] == [
        ("session", 500),
        ("discount", -50),
    ]


async def test_month_boundaries_in_oslo(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    inside_first = await w.session("A", local("2026-09-30 23:50"), 20, 1000)  # ends 1 Oct 00:10
    last_minute = await w.session("A", local("2026-10-31 23:00"), 59, 1000)  # ends 23:59
    over_midnight = await w.session("A", local("2026-10-31 23:30"), 60, 1000)  # ends 1 Nov
    dst_night = await w.session("A", local("2026-10-25 01:30"), 120, 1000)  # over the fall-back
    report = await run_billing(engine, OCT)
    billed = {r["session_id"] for r in await rows(engine, invoice_sessions)}
    assert billed == {inside_first, last_minute, dst_night}
    assert over_midnight not in billed
    assert report.sessions == 3
    nov = await run_billing(engine, RunOptions("2026-11", now=datetime(2026, 12, 1, 9, tzinfo=UTC)))
    assert nov.sessions == 1
    assert {r["session_id"] for r in await rows(engine, invoice_sessions)} == billed | {
        over_midnight
    }


async def test_a_late_session_goes_on_the_next_invoice(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    await w.session("A", local("2026-10-10 10:00"), 60, 5000)
    await run_billing(engine, OCT)
    # an offline charger reports a session of 28 October after October was billed
    late = await w.session("A", local("2026-10-28 10:00"), 30, 2000)
    again = await run_billing(engine, OCT)
    assert again.invoices == 0 and again.already_invoiced == 1  # October stays as it was
    nov = await run_billing(engine, RunOptions("2026-11", now=datetime(2026, 12, 1, tzinfo=UTC)))
    assert nov.invoices == 1
    lines = await rows(engine, invoice_lines, invoice_lines.c.id)
    late_line = [ln for ln in lines if ln["session_id"] == late]
    assert len(late_line) == 1 and late_line[0]["late"] is True
    numbers = [r["number_text"] for r in await rows(engine, invoices, invoices.c.id)]
    assert numbers == ["OSL-000001", "OSL-000002"]


async def test_a_rerun_changes_nothing(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    for key in "ABC":
        await w.subscriber(key)
        await w.session(key, local("2026-10-10 10:00"), 60, 5000)
    await run_billing(engine, RunOptions("2026-10", now=NOW, batch_size=2))
    before = await snapshot(engine)
    report = await run_billing(engine, RunOptions("2026-10", now=NOW, batch_size=2))
    assert report.invoices == 0 and report.already_invoiced == 0 and report.sessions == 0
    assert await snapshot(engine) == before


async def test_flagged_sessions_are_held_back_and_reported(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    good = await w.session("A", local("2026-10-10 10:00"), 60, 5000)
    bad = await w.session("A", local("2026-10-11 10:00"), 60, 0, flags=("negative_energy",))
    odd = await w.session("A", local("2026-10-12 10:00"), 60, 90_000, flags=("implausible_energy",))
    stranger = await w.session("Z", local("2026-10-12 10:00"), 60, 1000)  # nobody's token
    report = await run_billing(engine, OCT)
    assert {r["session_id"] for r in await rows(engine, invoice_sessions)} == {good}
    held = {h["session_id"]: h["reason"] for h in report.held_back}
    assert held == {
        bad: "negative_energy",
        odd: "implausible_energy",
        stranger: "no_subscriber",
    }


async def test_without_a_snapshot_the_tokens_current_subscriber_pays(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    a = await w.subscriber("A")
    old = await w.session("A", local("2026-10-10 10:00"), 60, 5000, snapshot=False)
    async with engine.begin() as conn:
        await conn.execute(
            insert(tokens).values(site_id="OSLO", id_tag="SPARE", subscriber_id=a, created_at=NOW)
        )
    await run_billing(engine, OCT)
    (inv,) = await rows(engine, invoices)
    assert inv["subscriber_id"] == a
    assert [r["session_id"] for r in await rows(engine, invoice_sessions)] == [old]


async def test_an_unfinished_month_is_refused_and_a_dry_run_writes_nothing(
    engine: AsyncEngine,
) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    await w.session("A", local("2026-11-10 10:00"), 60, 5000)
    with pytest.raises(BillingError, match="not over yet"):
        await run_billing(engine, RunOptions("2026-11", now=NOW))
    dry = await run_billing(engine, RunOptions("2026-11", now=NOW, dry_run=True))
    # 12.50 + 60.00 + 5.00 = 77.50, VAT 19.375 -> 19.38
    assert dry.invoices == 1 and dry.totals["NOK"] == {"net": 7750, "vat": 1938, "total": 9688}
    assert await rows(engine, invoices) == []


async def test_the_next_invoice_estimate(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    a = await w.subscriber("A")
    await w.session("A", local("2026-10-10 10:00"), 60, 5000)  # October: not this month's
    await w.session("A", local("2026-11-10 10:00"), 60, 5000)  # 12.50 + 60 + 5 = 77.50
    await w.session("A", local("2026-11-21 10:00"), 60, 5000)  # after NOW: not yet
    draft = await estimate(engine, a, NOW)
    assert draft is not None and draft.period == "2026-11"
    # the unbilled October session counts as late on November's invoice
    assert (draft.net, draft.vat, draft.total) == (15500, 3875, 19375)
    assert await rows(engine, invoices) == []


async def test_time_of_day_sessions_are_priced_from_their_samples(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    sid = await w.session("A", local("2026-10-07 16:00"), 120, 2_000, tariff="peak")
    start_wh = w.next_meter
    async with engine.begin() as conn:
        await conn.execute(
            insert(meter_samples),
            [
                {
                    "charger_id": "CP1",
                    "connector_id": 1,
                    "session_id": sid,
                    "ts": ts,
                    "energy_mwh": (start_wh + wh) * 1000,
                    "values": [],
                    "received_at": ts,
                }
                for ts, wh in (
                    (local("2026-10-07 16:30"), 250),
                    (local("2026-10-07 17:00"), 500),  # only 0.5 kWh before the peak
                    (local("2026-10-07 17:30"), 1250),
                )
            ],
        )
    await run_billing(engine, OCT)
    (inv,) = await rows(engine, invoices)
    # 0.5 kWh x 1.00 + 1.5 kWh x 4.00 = 6.50 (a linear trace would say 5.00)
    assert inv["net"] == 650


async def test_lines_keep_the_sessions_times(engine: AsyncEngine) -> None:
    """A run writes a line's times as it read them (not formatted again): the same instants,
    microseconds included, and read back as aware UTC like any other time."""
    w = await World(engine).setup()
    await w.subscriber("A")
    odd = local("2026-10-05 08:00") + timedelta(microseconds=123_456)
    ids = [
        await w.session("A", odd, 61, 1_000, parking_min=7),
        await w.session("A", local("2026-10-31 23:59"), 1, 10, tariff="peak"),  # ends in Nov.
        await w.session("A", local("2026-10-12 17:30"), 30, 900, tariff="peak"),
    ]
    await run_billing(engine, OCT)
    by_id = {r["id"]: r for r in await rows(engine, sessions)}
    lines = [ln for ln in await rows(engine, invoice_lines) if ln["session_id"] is not None]
    assert sorted(ln["session_id"] for ln in lines) == sorted(ids[::2])
    for ln in lines:
        session = by_id[ln["session_id"]]
        assert (ln["started_at"], ln["stopped_at"]) == (
            session["started_at"],
            session["stopped_at"],
        )
        assert ln["started_at"].tzinfo is UTC
    assert by_id[ids[0]]["started_at"] == odd


async def test_a_dry_run_reports_exactly_what_the_real_run_then_does(engine: AsyncEngine) -> None:
    w = await World(engine).setup()
    await w.subscriber("A")
    await w.subscriber("B")
    await w.session("A", local("2026-10-10 10:00"), 60, 5000)
    await w.session("B", local("2026-10-11 10:00"), 60, 5000)
    await run_billing(engine, OCT)
    # after the run: a late October session of A (invoiced already: skipped), a newcomer C
    await w.session("A", local("2026-10-28 10:00"), 30, 2000)
    await w.subscriber("C")
    await w.session("C", local("2026-10-12 10:00"), 60, 5000)
    dry = await run_billing(engine, RunOptions("2026-10", now=NOW, dry_run=True))
    real = await run_billing(engine, OCT)
    keys = ("invoices", "subscribers", "sessions", "energy_wh", "already_invoiced", "totals")
    assert {k: getattr(dry, k) for k in keys} == {k: getattr(real, k) for k in keys}
    assert (real.invoices, real.already_invoiced, real.sessions) == (1, 1, 1)


async def test_a_site_that_cannot_be_billed_fails_alone(engine: AsyncEngine) -> None:
    """An absurd price stored before prices were bounded: that site's failure is recorded,
    every other site is billed, and the run row says failed (so the scheduler tries again)."""
    from sqlalchemy import select

    from store.billing_schema import billing_runs
    from tests.unit.billing.billing_testkit import add_tariff

    good = await World(engine).setup()
    await good.subscriber("A")
    await good.session("A", local("2026-10-05 08:00"), 60, 10_000)
    bad = World(engine, site="BERGEN")
    await bad.setup(series="BGO", chargers_n=0)
    async with engine.begin() as conn:
        from store import admin

        await admin.add_chargers(conn, [admin.charger_row("BG1", "BERGEN", None)])
        absurd = {
            "currency": "NOK",
            "elements": [
                {"price_components": [{"type": "ENERGY", "price": "1e20", "step_size": 1}]}
            ],
        }
        bad.versions["absurd"] = await add_tariff(conn, "BERGEN", absurd)
    await bad.subscriber("B")
    await bad.session("B", local("2026-10-05 09:00"), 60, 10_000, charger="BG1", tariff="absurd")
    report = await run_billing(engine, OCT)
    assert report.invoices == 1 and list(report.failed_sites) == ["BERGEN"]
    assert "\n" not in report.failed_sites["BERGEN"] and report.failed_sites["BERGEN"]
    assert [r["site_id"] for r in await rows(engine, invoices)] == ["OSLO"]
    async with engine.connect() as conn:
        (state,) = (await conn.execute(select(billing_runs.c.state))).one()
    assert state == "failed"


async def test_a_killed_runs_row_is_marked_abandoned_by_the_next_run(engine: AsyncEngine) -> None:
    from sqlalchemy import select

    from store import billing_store as bs
    from store.billing_schema import billing_runs

    w = await World(engine).setup()
    await w.subscriber("A")
    await w.session("A", local("2026-10-05 08:00"), 60, 10_000)
    async with engine.begin() as conn:  # what a SIGKILLed run leaves behind
        dead = await bs.start_run(conn, "2026-10", None, NOW)
        other = await bs.start_run(conn, "2026-09", None, NOW)  # another month: not ours
    report = await run_billing(engine, OCT)
    async with engine.connect() as conn:
        states = dict((await conn.execute(select(billing_runs.c.id, billing_runs.c.state))).all())
    assert states == {dead: "abandoned", other: "running", report.run_id: "done"}
