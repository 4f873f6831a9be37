"""AvtaleGiro end to end, SQLite and PostgreSQL: a site's agreement, subscribers' mandates,
the claim file written with netsgiro and read back by netsgiro's own parser (right KIDs,
amounts, due dates, notification types), each invoice claimed once, the OCR Giro file that
comes back paying them by KID; the bank's mandate file (built with netsgiro) turning
mandates on and off, once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import netsgiro
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.avtalegiro import AvtaleGiroError
from billing.errors import BillingError
from config.api import create_app
from services import avtalegiro as ag
from services import payments as giro
from services.context import CLI
from store import api_tokens
from store.avtalegiro_schema import avtalegiro_claim_files, avtalegiro_claims, avtalegiro_mandates
from store.billing_schema import invoices
from store.schema import audit_log, subscribers
from tests.integration.test_ocr_giro import AFTER, four_invoices
from tests.support.avtalegiro_files import DELETED, NEW, mandate_file
from tests.support.ocr_files import ocr_file
from tests.unit.billing.billing_testkit import NOW, rows

ACCOUNT = "86011117947"
UNIT = "01234567"


async def with_agreement(engine: AsyncEngine) -> list[dict[str, Any]]:
    issued = await four_invoices(engine)
    async with engine.begin() as conn:
        await ag.set_agreement(
            conn, CLI, "OSLO", customer_unit=UNIT, account="8601.11.17947", agreement_id="000123456"
        )
    return issued


async def pays_by_avtalegiro(engine: AsyncEngine, invoice: dict[str, Any], notify: bool) -> None:
    async with engine.begin() as conn:
        await ag.set_payment_method(
            conn, CLI, invoice["subscriber_id"], "avtalegiro", kid=invoice["kid"], notify=notify
        )


async def claims(engine: AsyncEngine, **kw: Any) -> dict[str, Any]:
    async with engine.begin() as conn:
        return await ag.write_claims(conn, CLI, "OSLO", now=NOW, **kw)


def due_on(invoice: dict[str, Any]) -> Any:
    return invoice["due_at"].astimezone(ZoneInfo("Europe/Oslo")).date()


async def test_the_claim_file_round_trips_claims_once_and_the_ocr_file_pays_it(
    engine: AsyncEngine,
) -> None:
    a, b, c, d = await with_agreement(engine)
    await pays_by_avtalegiro(engine, a, notify=True)
    await pays_by_avtalegiro(engine, b, notify=False)
    done = await claims(engine)
    assert [x["invoice"] for x in done["claims"]] == [a["number_text"], b["number_text"]]
    assert done["total"] == a["total"] + b["total"]

    parsed = netsgiro.parse(done["text"])  # netsgiro's own reader
    assert (parsed.data_transmitter, parsed.data_recipient) == (UNIT, netsgiro.NETS_ID)
    assert parsed.number == done["transmission"]
    (assignment,) = parsed.assignments
    assert assignment.service_code == netsgiro.ServiceCode.AVTALEGIRO
    assert assignment.type == netsgiro.AssignmentType.TRANSACTIONS
    assert (assignment.account, assignment.agreement_id) == (ACCOUNT, "000123456")
    got = [(t.kid, t.amount, t.date, t.type, t.reference) for t in assignment.transactions]
    assert got == [
        (
            a["kid"],
            Decimal(a["total"]) / 100,
            due_on(a),
            netsgiro.TransactionType.AVTALEGIRO_WITH_BANK_NOTIFICATION,
            a["number_text"],
        ),
        (
            b["kid"],
            Decimal(b["total"]) / 100,
            due_on(b),
            netsgiro.TransactionType.AVTALEGIRO_WITH_PAYEE_NOTIFICATION,
            b["number_text"],
        ),
    ]
    assert a["number_text"] in assignment.transactions[0].text  # the bank's notice
    assert assignment.get_total_amount() == Decimal(a["total"] + b["total"]) / 100

    # again: nothing written twice, unless asked
    assert (await claims(engine))["text"] is None
    assert len(await rows(engine, avtalegiro_claims)) == 2
    assert len(await rows(engine, avtalegiro_claim_files)) == 1
    repeat = await claims(engine, again=True)
    assert [x["invoice"] for x in repeat["claims"]] == [a["number_text"], b["number_text"]]
    assert repeat["transmission"] != done["transmission"]
    assert len(await rows(engine, avtalegiro_claims)) == 2  # still one claim per invoice

    # Nets debits on the due date and reports it in the OCR Giro file, by the claim's KID
    debited = netsgiro.TransactionType.FROM_AVTALEGIRO
    data = ocr_file([(a["kid"], a["total"]), (b["kid"], b["total"])], types=(debited, debited))
    async with engine.begin() as conn:
        summary = await giro.import_ocr(conn, data, site_id="OSLO", actor="cli", now=AFTER)
    assert summary["matched"]["count"] == 2
    states = {r["number_text"]: r["state"] for r in await rows(engine, invoices)}
    assert states == {
        a["number_text"]: "paid",
        b["number_text"]: "paid",
        c["number_text"]: "issued",
        d["number_text"]: "issued",
    }
    # paid invoices are not claimed again, even when asked
    assert (await claims(engine, again=True))["text"] is None
    actions = [e["action"] for e in await rows(engine, audit_log)]
    assert actions.count("avtalegiro.claims") == 2 and "avtalegiro.agreement" in actions


async def test_claims_need_the_agreement_and_a_mandate(engine: AsyncEngine) -> None:
    a, *_ = await four_invoices(engine)
    with pytest.raises(BillingError, match="no AvtaleGiro agreement"):
        await claims(engine)
    async with engine.begin() as conn:
        with pytest.raises(AvtaleGiroError, match="account"):
            await ag.set_agreement(conn, CLI, "OSLO", customer_unit=UNIT, account="12345678901")
        await ag.set_agreement(conn, CLI, "OSLO", customer_unit=UNIT, account=ACCOUNT)
    assert (await claims(engine))["text"] is None  # nobody pays by AvtaleGiro yet
    async with engine.begin() as conn:
        with pytest.raises(BillingError, match="KID"):
            await ag.set_payment_method(conn, CLI, a["subscriber_id"], "avtalegiro")


async def test_the_mandate_file_turns_mandates_on_and_off_once(engine: AsyncEngine) -> None:
    a, b, c, _ = await with_agreement(engine)
    first = mandate_file([(a["kid"], NEW, True), (b["kid"], NEW, False), ("4242", NEW, True)])
    async with engine.begin() as conn:
        done = await ag.import_mandates(conn, CLI, first, site_id="OSLO", now=NOW)
    assert (done["mandates"], done["changed"], done["unchanged"]) == (3, 2, 0)
    assert done["unknown_kids"] == ["4242"]
    methods = {r["id"]: r["payment_method"] for r in await rows(engine, subscribers)}
    assert methods[a["subscriber_id"]] == methods[b["subscriber_id"]] == "avtalegiro"
    assert methods[c["subscriber_id"]] == "manual"
    mandates = {m["subscriber_id"]: m for m in await rows(engine, avtalegiro_mandates)}
    assert mandates[a["subscriber_id"]]["notify"] is True
    assert mandates[b["subscriber_id"]]["notify"] is False

    # the same file again changes nothing
    before = (await rows(engine, avtalegiro_mandates), await rows(engine, subscribers))
    async with engine.begin() as conn:
        again = await ag.import_mandates(conn, CLI, first, site_id="OSLO", now=NOW)
    assert again["already_imported"] is True and again["changed"] == 0
    assert (await rows(engine, avtalegiro_mandates), await rows(engine, subscribers)) == before

    # a later file: A's mandate as it is (unchanged), B deleted it
    later = mandate_file(
        [(a["kid"], NEW, True), (b["kid"], DELETED, False)], transmission="1801002"
    )
    async with engine.begin() as conn:
        done = await ag.import_mandates(conn, CLI, later, site_id="OSLO", now=NOW)
    assert (done["changed"], done["unchanged"]) == (1, 1)
    methods = {r["id"]: r["payment_method"] for r in await rows(engine, subscribers)}
    assert methods[b["subscriber_id"]] == "manual"
    mandates = {m["subscriber_id"]: m for m in await rows(engine, avtalegiro_mandates)}
    assert mandates[b["subscriber_id"]]["active"] is False
    # only A is claimed now
    assert [x["invoice"] for x in (await claims(engine))["claims"]] == [a["number_text"]]

    # an OCR payments file is not a mandate file
    async with engine.begin() as conn:
        with pytest.raises(AvtaleGiroError, match="not AvtaleGiro agreements"):
            await ag.import_mandates(conn, CLI, ocr_file([(a["kid"], 100)]), site_id="OSLO")


async def test_the_api_writes_the_claim_file_and_reads_mandates(engine: AsyncEngine) -> None:
    a, *_ = await four_invoices(engine)
    async with engine.begin() as conn:
        token = (await api_tokens.create_token(conn, "admin", "OSLO", "oslo"))[1]
    app = create_app(engine)
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate") as http:
        r = await http.put(
            "/api/v1/sites/OSLO/avtalegiro",
            json={"customer_unit": UNIT, "account": ACCOUNT},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        data = mandate_file([(a["kid"], NEW, False)])
        r = await http.post(
            "/api/v1/payments/avtalegiro/mandates?site=OSLO",
            files={"file": ("mandates.txt", data)},
            headers=headers,
        )
        assert r.status_code == 200 and r.json()["changed"] == 1, r.text
        r = await http.post("/api/v1/sites/OSLO/avtalegiro/claims", headers=headers)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/plain")
        (tx,) = netsgiro.parse(r.content.decode("iso-8859-1")).assignments[0].transactions
        assert (tx.kid, tx.amount) == (a["kid"], Decimal(a["total"]) / 100)
        r = await http.post("/api/v1/sites/OSLO/avtalegiro/claims", headers=headers)
        assert r.status_code == 204  # claimed already
        r = await http.put(
            f"/api/v1/subscribers/{a['subscriber_id']}/payment-method",
            json={"method": "vipps"},
            headers=headers,
        )
        assert r.status_code == 200 and r.json()["payment_method"] == "vipps", r.text
        r = await http.post(
            "/api/v1/payments/avtalegiro/mandates", files={"file": ("x", b"nope")}, headers=headers
        )
        assert r.status_code == 403  # every site: a super-admin's call
