"""Full sessions over a real WebSocket, stored exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from tests.integration.conftest import Env
from tests.support.ocpp_client import Charger, at, sample


async def test_full_session_is_stored_exactly(env: Env) -> None:
    cp = await Charger.connect(env.url("CP1"))
    boot = await cp.boot()
    assert boot["status"] == "Accepted" and boot["interval"] == 300
    await cp.status("Preparing", ts=at(0))
    started = await cp.start("TAG1", 532363, at(0))
    assert started["idTagInfo"] == {"status": "Accepted"}
    tx = started["transactionId"]
    await cp.status("Charging", ts=at(0))
    for minute, energy in ((15, "534213.9"), (30, "536063.4"), (45, "537913.0")):
        await cp.meter(tx, at(minute), energy)
    await cp.status("SuspendedEV", ts=at(50))
    await cp.status("Finishing", ts=at(70))
    stopped = await cp.stop(tx, 538580, at(75), id_tag="TAG1")
    assert stopped == {"idTagInfo": {"status": "Accepted"}}
    await cp.close()

    (session,) = await env.sessions()
    assert session["id"] == tx
    assert session["energy_wh"] == 538580 - 532363
    assert session["charging_s"] == 50 * 60
    assert session["parking_s"] == 25 * 60
    assert session["flags"] == []
    assert session["started_at"] == at(0) and session["stopped_at"] == at(75)
    samples = await env.samples()
    assert [s["energy_mwh"] for s in samples] == [534213900, 536063400, 537913000]
    assert all(s["session_id"] == tx and len(s["values"]) == 9 for s in samples)
    assert [s["status"] for s in await env.statuses()] == [
        "Preparing",
        "Charging",
        "SuspendedEV",
        "Finishing",
    ]


async def test_replayed_start_gets_the_same_transaction_id(env: Env) -> None:
    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    first = await cp.start("TAG1", 1000, at(0))
    again = await cp.start("TAG1", 1000, at(0))
    other = await cp.start("TAG1", 1000, at(1), connector=2)
    assert again == first
    assert other["transactionId"] != first["transactionId"]
    assert len(await env.sessions()) == 2
    await cp.close()


async def test_repeated_stop_changes_nothing(env: Env) -> None:
    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    tx = (await cp.start("TAG1", 1000, at(0)))["transactionId"]
    await cp.stop(tx, 3000, at(30))
    before = await env.sessions()
    await cp.stop(tx, 9999, at(90), reason="Other")
    assert await env.sessions() == before
    assert before[0]["energy_wh"] == 2000
    await cp.close()


async def test_transaction_ids_are_unique_across_chargers(env: Env) -> None:
    chargers = [await Charger.connect(env.url(cid)) for cid in ("CP1", "CP2")]
    results = await asyncio.gather(
        *(c.start("TAG1", 10 * i, at(i)) for i in range(20) for c in chargers)
    )
    ids = [r["transactionId"] for r in results]
    assert len(set(ids)) == 40
    for c in chargers:
        await c.close()


async def test_sample_after_stop_belongs_to_the_session_that_ended(env: Env) -> None:
    """Wallbox Copper SB: a MeterValues without transactionId right after the stop."""
    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    tx = (await cp.start("TAG1", 1000, at(0)))["transactionId"]
    await cp.meter(tx, at(10), "2000.0")
    await cp.stop(tx, 3000, at(20))
    await cp.meter(None, at(20.1), "3004.2")  # a few Wh above meterStop
    tx2 = (await cp.start("TAG2", 3005, at(40)))["transactionId"]
    await cp.meter(None, at(50), "4000.0")
    await cp.close()
    samples = await env.samples()
    assert [(s["session_id"], s["energy_mwh"]) for s in samples] == [
        (tx, 2_000_000),
        (tx, 3_004_200),
        (tx2, 4_000_000),
    ]
    first = (await env.sessions())[0]
    assert first["energy_wh"] == 2000 and first["flags"] == []


async def test_stop_with_transaction_data_and_bad_meter_stop(env: Env) -> None:
    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    tx = (await cp.start("TAG1", 10_000, at(0)))["transactionId"]
    data = [sample(at(30), "12000.0"), sample(at(59), "14500.9")]
    await cp.stop(tx, 0, at(60), data=data)  # meterStop 0: implausible, use the last sample
    (session,) = await env.sessions()
    assert session["energy_wh"] == 4500
    assert "meter_stop_replaced" in session["flags"]
    assert len(await env.samples()) == 2
    await cp.close()


async def test_kwh_units_and_negative_delta_flagged(env: Env) -> None:
    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    tx = (await cp.start("TAG1", 5000, at(0)))["transactionId"]
    await cp.meter(tx, at(10), "5.25", unit="kWh")
    await cp.stop(tx, 6000, at(20))
    tx2 = (await cp.start("TAG1", 9000, at(30)))["transactionId"]
    await cp.stop(tx2, 8000, at(40))  # register went backwards and no sample to rescue it
    s1, s2 = await env.sessions()
    assert (s1["energy_wh"], s1["flags"]) == (1000, [])
    assert s2["energy_wh"] == 0 and "negative_energy" in s2["flags"]
    assert (await env.samples())[0]["energy_mwh"] == 5_250_000
    await cp.close()


async def test_implausible_energy_is_flagged(env: Env) -> None:
    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    tx = (await cp.start("TAG1", 0, at(0)))["transactionId"]
    await cp.stop(tx, 100_000, at(10))  # 100 kWh in 10 minutes on a 22 kW charger
    (session,) = await env.sessions()
    assert session["energy_wh"] == 100_000 and "implausible_energy" in session["flags"]
    await cp.close()


async def test_session_forgotten_by_a_reboot_is_closed_at_its_last_sample(env: Env) -> None:
    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    tx = (await cp.start("TAG1", 1000, at(0)))["transactionId"]
    await cp.status("Charging", ts=at(0))
    await cp.meter(tx, at(10), "2500.0")
    await cp.close()
    # the charger reboots and has forgotten its transaction
    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    await cp.status("Available", ts=at(30))
    (session,) = await env.sessions()
    assert session["stopped_at"] == at(10)
    assert session["energy_wh"] == 1500
    assert "closed_without_stop" in session["flags"]
    # if the real stop turns up after all, it wins
    await cp.stop(tx, 2600, at(12))
    (session,) = await env.sessions()
    assert session["energy_wh"] == 1600 and session["stopped_at"] == at(12)
    assert "late_stop" in session["flags"] and "closed_without_stop" not in session["flags"]
    await cp.close()


async def test_new_start_on_a_busy_connector_closes_the_forgotten_session(env: Env) -> None:
    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    tx = (await cp.start("TAG1", 1000, at(0)))["transactionId"]
    await cp.meter(tx, at(5), "1800.0")
    tx2 = (await cp.start("TAG2", 1800, at(20)))["transactionId"]
    first, second = await env.sessions()
    assert first["id"] == tx and first["energy_wh"] == 800
    assert "closed_without_stop" in first["flags"]
    assert second["id"] == tx2 and second["stopped_at"] is None
    await cp.close()


async def test_wrong_clock_is_corrected_and_flagged(env: Env) -> None:
    from datetime import UTC, datetime

    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    old = datetime(1970, 1, 1, 0, 5, tzinfo=UTC)
    first = await cp.start("TAG1", 1000, old)
    again = await cp.start("TAG1", 1000, old)  # the replay still finds it
    assert first == again
    (session,) = await env.sessions()
    assert session["started_at"].year >= 2026 and "clock_corrected" in session["flags"]
    await cp.close()


async def test_stop_for_an_unknown_transaction_is_kept_for_review(env: Env) -> None:
    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    await cp.stop(987654, 5000, at(5), id_tag="TAG1")
    await cp.stop(987654, 5000, at(5), id_tag="TAG1")
    (session,) = await env.sessions()
    assert "unknown_transaction" in session["flags"] and "review" in session["flags"]
    await cp.close()


async def test_data_transfer_is_stored(env: Env) -> None:
    from sqlalchemy import select

    from store.schema import data_transfers

    cp = await Charger.connect(env.url("CP1"))
    result = await cp.call(
        "DataTransfer", {"vendorId": "com.wallbox", "messageId": "x", "data": "42"}
    )
    assert result == {"status": "Accepted"}
    other = await cp.call("DataTransfer", {"vendorId": "org.example", "data": "7"})
    assert other == {"status": "UnknownVendorId"}  # not ours to understand, but kept
    async with env.engine.connect() as conn:
        rows = (await conn.execute(select(data_transfers))).mappings().all()
    assert [(r["vendor_id"], r["data"]) for r in rows] == [
        ("com.wallbox", "42"),
        ("org.example", "7"),
    ]
    await cp.close()


async def test_running_session_reports_its_energy_at_most_once_a_minute(env: Env) -> None:
    from sqlalchemy import select

    from store.schema import outbox

    cp = await Charger.connect(env.url("CP1"))
    await cp.boot()
    tx = (await cp.start("TAG1", 10_000, at(0)))["transactionId"]
    for seconds, energy in ((10, "10100.0"), (30, "10300.0"), (70, "10700.5"), (200, "12000.0")):
        await cp.meter(tx, at(seconds / 60), energy)
    await cp.meter(None, at(4.5), "12400.0")  # no transactionId: still this session
    await cp.stop(tx, 12500, at(5))
    await cp.meter(None, at(5.1), "12503.0")  # after the stop: no update any more
    async with env.engine.connect() as conn:
        rows = await conn.execute(
            select(outbox.c.payload).where(outbox.c.kind == "session_updated").order_by(outbox.c.id)
        )
        updates = [r[0] for r in rows]
    assert [(u["session_id"], u["energy_wh"]) for u in updates] == [
        (tx, 100),
        (tx, 700),
        (tx, 2000),
        (tx, 2400),
    ]
    await cp.close()
