"""OCPP 2.0.1 over a real WebSocket into the real store (both engines): boot, heartbeat,
status, authorize, a whole transaction, replays by seqNo, a lost Started, the offline flag,
CallErrors for bad payloads and unknown actions, and which version a connection speaks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from store.schema import chargers, outbox, tokens
from tests.integration.conftest import Env, add_subscribers, update_charger
from tests.support.ocpp201_client import Charger201, energy, meter_value
from tests.support.ocpp_client import CallErrorReceived, Charger, at


async def _version(env: Env, charger: str) -> str | None:
    async with env.engine.connect() as conn:
        return (
            await conn.execute(select(chargers.c.ocpp_version).where(chargers.c.id == charger))
        ).scalar_one()


async def test_boot_heartbeat_status_authorize(env: Env) -> None:
    cp = await Charger201.connect201(env.url("CP1"))
    try:
        assert cp.subprotocol == "ocpp2.0.1"
        boot = await cp.boot()
        assert boot["status"] == "Accepted" and boot["interval"] == 300
        assert "currentTime" in await cp.call("Heartbeat", {})
        await cp.status("Occupied", ts=at(0))
        assert (await cp.authorize("TAG1"))["idTokenInfo"]["status"] == "Accepted"
        assert (await cp.authorize("BLOCKED"))["idTokenInfo"]["status"] == "Blocked"
    finally:
        await cp.close()
    [status] = await env.statuses()
    assert (status["connector_id"], status["status"]) == (1, "Occupied")
    assert await _version(env, "CP1") == "ocpp2.0.1"


async def test_a_transaction_in_kwh_and_decimal_wh_replayed_by_seq_no(env: Env) -> None:
    cp = await Charger201.connect201(env.url("CP1"))
    try:
        await cp.boot()
        started = await cp.event(
            "Started",
            "tx-1",
            at(0),
            trigger="Authorized",
            charging_state="Charging",
            id_tag="TAG1",
            meter=[meter_value(at(0), energy(1.5, "Transaction.Begin", "kWh"))],
        )
        assert started["idTokenInfo"]["status"] == "Accepted"
        updated = cp.event_payload(
            "Updated",
            "tx-1",
            at(30),
            meter=[meter_value(at(30), energy(4700.5, "Sample.Periodic"))],
        )
        await cp.call("TransactionEvent", updated)
        await cp.call("TransactionEvent", updated)  # the same seqNo again: nothing new
        await cp.event(
            "Updated", "tx-1", at(40), charging_state="SuspendedEV", trigger="ChargingStateChanged"
        )
        await cp.event(
            "Ended",
            "tx-1",
            at(60),
            trigger="EVCommunicationLost",
            charging_state="Idle",
            stopped_reason="EVDisconnected",
            meter=[meter_value(at(60), energy(8400.25, "Transaction.End"))],
        )
    finally:
        await cp.close()
    [session] = await env.sessions()
    assert session["transaction_ref"] == "tx-1"
    assert session["meter_start_wh"] == 1500 and session["meter_stop_wh"] == 8400
    assert session["energy_wh"] == 6900
    assert (session["charging_s"], session["parking_s"]) == (40 * 60, 20 * 60)
    assert session["stop_reason"] == "EVDisconnected" and session["flags"] == []
    samples = [s for s in await env.samples() if s["context"] == "Sample.Periodic"]
    assert [s["energy_mwh"] for s in samples] == [4_700_500]  # the replay added no row


async def test_lost_started_and_offline(env: Env) -> None:
    cp = await Charger201.connect201(env.url("CP1"))
    try:
        await cp.boot()
        await cp.event(
            "Updated",
            "lost",
            at(10),
            seq=3,
            charging_state="Charging",
            meter=[meter_value(at(10), energy(2000, "Sample.Periodic"))],
        )
        await cp.event(
            "Ended",
            "lost",
            at(20),
            seq=4,
            meter=[meter_value(at(20), energy(3000, "Transaction.End"))],
        )
        await cp.event(
            "Started",
            "off",
            at(30),
            offline=True,
            id_tag="TAG2",
            evse=2,
            meter=[meter_value(at(30), energy(100, "Transaction.Begin"))],
        )
    finally:
        await cp.close()
    lost, offline = await env.sessions()
    assert lost["transaction_ref"] == "lost" and lost["energy_wh"] == 1000
    assert "start_missing" in lost["flags"] and "review" in lost["flags"]
    assert offline["connector_id"] == 2 and "offline" in offline["flags"]
    assert offline["stopped_at"] is None


async def test_a_remote_start_finds_its_session_and_states_keep_their_trigger(env: Env) -> None:
    cp = await Charger201.connect201(env.url("CP1"))
    try:
        await cp.boot()
        await cp.event(
            "Started",
            "rs-1",
            at(0),
            trigger="RemoteStart",
            charging_state="EVConnected",
            id_tag="TAG1",
            remote_start_id=424242,
            meter=[meter_value(at(0), energy(0, "Transaction.Begin"))],
        )
        await cp.event(
            "Updated", "rs-1", at(5), charging_state="Charging", trigger="ChargingStateChanged"
        )
        await cp.event("Started", "local", at(9), evse=2, id_tag="TAG2", trigger="Authorized")
    finally:
        await cp.close()
    remote, local = await env.sessions()
    assert (remote["remote_start_id"], local["remote_start_id"]) == (424242, None)
    states = [(s["status"], s["info"]) for s in await env.statuses()]
    assert states == [("EVConnected", "RemoteStart"), ("Charging", "ChargingStateChanged")]
    async with env.engine.connect() as conn:
        events = [
            r[0]
            for r in await conn.execute(
                select(outbox.c.payload)
                .where(outbox.c.kind == "session_started")
                .order_by(outbox.c.id)
            )
        ]
    assert [e.get("remote_start_id") for e in events] == [424242, None]


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        ("Heartbeat", {"extra": 1}, "FormatViolation"),
        ("Authorize", {}, "ProtocolError"),
        ("Authorize", {"idToken": {"idToken": 5, "type": "ISO14443"}}, "TypeConstraintViolation"),
        (
            "NotifyReport",
            {"requestId": 1, "generatedAt": "2026-10-14T08:00:00Z", "seqNo": 0, "reportData": []},
            "OccurrenceConstraintViolation",
        ),
        ("Frobnicate", {}, "NotImplemented"),
        ("RequestStartTransaction", {}, "NotSupported"),
        ("NotifyEVChargingNeeds", {}, "NotSupported"),
    ],
)
async def test_bad_calls_get_their_call_errors(
    env: Env, action: str, payload: dict[str, object], code: str
) -> None:
    cp = await Charger201.connect201(env.url("CP1"))
    try:
        await cp.boot()
        with pytest.raises(CallErrorReceived) as caught:
            await cp.call(action, payload)
        assert caught.value.code == code
    finally:
        await cp.close()


async def test_version_chosen_by_subprotocol_and_recorded(env: Env) -> None:
    both = ["ocpp1.6", "ocpp2.0.1"]
    first = await Charger201.connect201(env.url("CP1"), subprotocols=both)
    assert first.subprotocol == "ocpp2.0.1"  # nothing recorded: 2.0.1
    await first.close()
    old = await Charger.connect(env.url("CP1"))  # after a firmware downgrade: 1.6 only
    assert old.ws.subprotocol == "ocpp1.6"
    assert (await old.boot())["status"] == "Accepted"
    await old.close()
    assert await _version(env, "CP1") == "ocpp1.6"
    again = await Charger201.connect201(env.url("CP1"), subprotocols=both)
    assert again.subprotocol == "ocpp1.6"  # both offered: the one recorded
    await again.close()
    moved = await Charger201.connect201(env.url("CP1"))  # firmware update: 2.0.1 only
    assert moved.subprotocol == "ocpp2.0.1"
    await moved.boot()
    await moved.close()
    assert await _version(env, "CP1") == "ocpp2.0.1"


async def test_commands_by_either_name_are_translated(env: Env) -> None:
    from services.command_catalog import send_by_name
    from services.context import Actor

    actor = Actor("test")
    cp = await Charger201.connect201(env.url("CP1"))
    old = await Charger.connect(env.url("CP2"))
    try:
        await cp.boot()
        await old.boot()
        start16 = {"idTag": "TAG1", "connectorId": 1}
        sent = env.gateway.registry
        await send_by_name(env.engine, sent, actor, "CP1", "remote-start-transaction", start16)
        await send_by_name(env.engine, sent, actor, "CP1", "reset", {"type": "Hard"})
        await send_by_name(env.engine, sent, actor, "CP1", "reset", {"type": "OnIdle"})
        await send_by_name(
            env.engine, sent, actor, "CP1", "trigger-message", {"requestedMessage": "Heartbeat"}
        )
        start201 = {"idToken": {"idToken": "TAG1", "type": "Central"}, "remoteStartId": 7}
        await send_by_name(env.engine, sent, actor, "CP2", "request-start-transaction", start201)
        await send_by_name(env.engine, sent, actor, "CP2", "reset", {"type": "Immediate"})
        await send_by_name(
            env.engine,
            sent,
            actor,
            "CP2",
            "change-availability",
            {"operationalStatus": "Inoperative"},
        )
    finally:
        await cp.close()
        await old.close()
    request_start = cp.received_calls[0]
    assert request_start[0] == "RequestStartTransaction"
    assert request_start[1]["idToken"] == {"idToken": "TAG1", "type": "Central"}
    assert request_start[1]["evseId"] == 1 and request_start[1]["remoteStartId"] > 0
    assert cp.received_calls[1:] == [
        ("Reset", {"type": "Immediate"}),
        ("Reset", {"type": "OnIdle"}),
        ("TriggerMessage", {"requestedMessage": "Heartbeat"}),
    ]
    assert old.received_calls == [
        ("RemoteStartTransaction", {"idTag": "TAG1"}),
        ("Reset", {"type": "Hard"}),
        ("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}),
    ]


def handled_in_full(env: Env, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The actions the 2.0.1 adapter's handle() takes (a quick call never reaches it)."""
    handled: list[str] = []
    real = env.gateway.adapter201.handle

    async def counting(ctx, action, payload):  # type: ignore[no-untyped-def]
        handled.append(action)
        return await real(ctx, action, payload)

    monkeypatch.setattr(env.gateway.adapter201, "handle", counting)
    return handled


async def test_updated_with_samples_takes_the_quick_path(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled = handled_in_full(env, monkeypatch)
    cp = await Charger201.connect201(env.url("CP1"))
    try:
        await cp.boot()
        begin = [meter_value(at(0), energy(1000, "Transaction.Begin"))]
        await cp.event("Started", "q", at(0), id_tag="TAG1", charging_state="Charging", meter=begin)
        for minute in (1, 2, 3):
            meter = [meter_value(at(minute), energy(1000 + minute * 100, "Sample.Periodic"))]
            await cp.event("Updated", "q", at(minute), charging_state="Charging", meter=meter)
    finally:
        await cp.close()
    assert handled == ["BootNotification", "TransactionEvent"]  # the Updated ones: quick
    assert len([s for s in await env.samples() if s["context"] == "Sample.Periodic"]) == 3


async def test_an_updated_of_another_shape_is_checked_in_full_and_still_quick(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """customData or a multiplier of 1.0 are outside the one-pass shape (gateway.ocpp201_hot):
    the full schema check takes them, still without a task; what the schema refuses gets its
    CallError; a multiplier past Decimal's exponent is a sample without a register, acked."""
    handled = handled_in_full(env, monkeypatch)

    def periodic(value: int, unit: dict[str, object], **extra: object) -> list[dict[str, object]]:
        sv = {**energy(value, "Sample.Periodic"), "unitOfMeasure": unit, **extra}
        return [meter_value(at(len(handled) + 1), sv)]

    cp = await Charger201.connect201(env.url("CP1"))
    try:
        await cp.boot()
        begin = [meter_value(at(0), energy(1000, "Transaction.Begin"))]
        await cp.event("Started", "s", at(0), id_tag="TAG1", charging_state="Charging", meter=begin)
        await cp.event("Updated", "s", at(1), meter=periodic(1100, {"unit": "Wh"}))
        vendor = {"customData": {"vendorId": "com.wallbox"}}
        tens = {"unit": "Wh", "multiplier": 1.0}  # an integer to the draft-06 schema
        await cp.event("Updated", "s", at(2), meter=periodic(120, tens, **vendor))
        with pytest.raises(CallErrorReceived) as caught:
            await cp.event("Updated", "s", at(3), meter=periodic(1300, {"unit": "x" * 21}))
        assert caught.value.code == "TypeConstraintViolation"
        huge = {"unit": "Wh", "multiplier": 999_999}
        await cp.event("Updated", "s", at(4), meter=periodic(1400, huge))
    finally:
        await cp.close()
    assert handled == ["BootNotification", "TransactionEvent", "TransactionEvent"]
    periodic_rows = [s for s in await env.samples() if s["context"] == "Sample.Periodic"]
    assert [s["energy_mwh"] for s in periodic_rows] == [1_100_000, 1_200_000, None]


async def test_a_transaction_started_on_plug_in_takes_its_later_token_once(env: Env) -> None:
    """Started without an idToken (the cable went in first), the card shown in an Updated:
    the session gets that token and its subscriber, once; a second card changes nothing."""
    await add_subscribers(env.engine)
    async with env.engine.begin() as conn:
        await update_charger(conn, "CP1", monthly_payment=True)
    cp = await Charger201.connect201(env.url("CP1"))
    try:
        await cp.boot()
        started = await cp.event(
            "Started",
            "tx-plug",
            at(0),
            trigger="CablePluggedIn",
            charging_state="EVConnected",
            meter=[meter_value(at(0), energy(1000, "Transaction.Begin"))],
        )
        assert "idTokenInfo" not in started
        shown = await cp.event(
            "Updated",
            "tx-plug",
            at(1),
            trigger="Authorized",
            charging_state="Charging",
            id_tag="TAG1",
        )
        assert shown["idTokenInfo"]["status"] == "Accepted"
        other = await cp.event("Updated", "tx-plug", at(2), trigger="Authorized", id_tag="TAG2")
        assert other["idTokenInfo"]["status"] == "Invalid"  # not a subscriber's card
        await cp.event(
            "Ended",
            "tx-plug",
            at(30),
            trigger="EVCommunicationLost",
            stopped_reason="EVDisconnected",
            meter=[meter_value(at(30), energy(4000, "Transaction.End"))],
        )
    finally:
        await cp.close()
    [session] = await env.sessions()
    async with env.engine.connect() as conn:
        owner = (
            await conn.execute(select(tokens.c.subscriber_id).where(tokens.c.id_tag == "TAG1"))
        ).scalar_one()
        identified = (
            await conn.execute(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.kind == "session_identified")
            )
        ).scalar_one()
    assert (session["id_tag"], session["auth_status"]) == ("TAG1", "Accepted")
    assert session["subscriber_id"] == owner is not None
    assert session["energy_wh"] == 3000
    assert identified == 1
