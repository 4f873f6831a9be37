"""A 2.0.1 session and a 1.6 session with the same energy and times give the same invoice
line: the same charging and parking seconds, energy and net, on SQLite and PostgreSQL.
Both are stored the real way (a WebSocket each) and billed by the real billing run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from billing.run import RunOptions, run_billing
from store import tariff_store
from store.billing_schema import invoice_lines
from tests.integration.conftest import Env, add_subscribers, update_charger
from tests.integration.test_trace_consistency import TOD
from tests.support.ocpp201_client import Charger201, energy, meter_value
from tests.support.ocpp_client import Charger


def _at(day: int, minutes: int) -> datetime:
    return datetime(2026, 10, day, 15, 30, tzinfo=UTC) + timedelta(minutes=minutes)


async def _session16(cp: Charger, day: int) -> None:
    """Charging at 0, 7.4 kW samples, SuspendedEV at 70 (parking), stop at 100."""
    tx = (await cp.start("TAG1", 10_000, _at(day, 0)))["transactionId"]
    await cp.status("Charging", ts=_at(day, 0))
    await cp.meter(tx, _at(day, 30), "13700", "7400")
    await cp.meter(tx, _at(day, 60), "17400.5", "7400")
    await cp.status("SuspendedEV", ts=_at(day, 70))
    await cp.stop(tx, 18_600, _at(day, 100))


async def _session201(cp: Charger201, day: int) -> None:
    """The same session in 2.0.1: registers in kWh and decimal Wh, chargingState for status."""
    tx = f"tx-{day}"
    power = {"value": 7400, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}}
    await cp.event(
        "Started",
        tx,
        _at(day, 0),
        trigger="Authorized",
        id_tag="TAG1",
        charging_state="Charging",
        meter=[meter_value(_at(day, 0), energy(10, "Transaction.Begin", "kWh"))],
    )
    for minute, wh in ((30, 13_700), (60, 17_400.5)):
        await cp.event(
            "Updated",
            tx,
            _at(day, minute),
            meter=[
                meter_value(
                    _at(day, minute),
                    energy(wh, "Sample.Periodic"),
                    {**power, "context": "Sample.Periodic"},
                )
            ],
        )
    await cp.event(
        "Updated", tx, _at(day, 70), trigger="ChargingStateChanged", charging_state="SuspendedEV"
    )
    await cp.event(
        "Ended",
        tx,
        _at(day, 100),
        trigger="EVCommunicationLost",
        stopped_reason="Local",
        meter=[meter_value(_at(day, 100), energy(18.6, "Transaction.End", "kWh"))],
    )


async def test_a_201_session_bills_like_the_same_16_session(env: Env) -> None:
    await add_subscribers(env.engine)
    async with env.engine.begin() as conn:
        created = await tariff_store.create_tariff(
            conn,
            site_id="S1",
            name="tod",
            currency="NOK",
            ocpi_text=json.dumps(TOD),
            created_by="t",
        )
        for charger in ("CP1", "CP2"):
            await update_charger(conn, charger, tariff_id=created["id"], monthly_payment=True)
    cp16 = await Charger.connect(env.url("CP1"))
    cp201 = await Charger201.connect201(env.url("CP2"))
    try:
        await cp16.boot()
        await cp201.boot()
        await _session16(cp16, 5)
        await _session201(cp201, 6)
    finally:
        await cp16.close()
        await cp201.close()
    s16, s201 = await env.sessions()
    assert s201["transaction_ref"] == "tx-6" and s16["transaction_ref"] is None
    for key in ("energy_wh", "charging_s", "parking_s", "flags", "monthly_payment", "tariff_id"):
        assert s16[key] == s201[key], key
    assert s201["subscriber_id"] is not None and s201["subscriber_id"] == s16["subscriber_id"]
    assert (s201["energy_wh"], s201["charging_s"], s201["parking_s"]) == (8600, 4200, 1800)
    report = await run_billing(env.engine, RunOptions("2026-10"))
    assert report.sessions == 2 and not report.held_back
    async with env.engine.connect() as conn:
        lines = {
            r["session_id"]: r
            for r in (await conn.execute(select(invoice_lines))).mappings()
            if r["kind"] == "session"
        }
    line16, line201 = lines[s16["id"]], lines[s201["id"]]
    for key in ("net", "charging_s", "parking_s", "energy_wh", "vat", "gross"):
        if key in line16:
            assert line16[key] == line201[key], key
    assert line16["net"] > 0
