"""Bank giro payments end to end: a billing run issues invoices with KIDs, the test builds the
OCR Giro file Nets would send with netsgiro's own object model, and the import pays exactly
those invoices (once, however often the file comes), keeps what it cannot match, and the
reports add up to the stored payments. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.errors import BillingError
from billing.ocr_giro import OcrFileError
from billing.run import RunOptions, run_billing
from config.api import create_app
from services import payments as giro
from services.billing import credit_invoice, record_offline_payment
from store import admin, api_tokens
from store.billing_schema import invoices, payments
from store.errors import Conflict
from store.payments_schema import ocr_files, ocr_transactions, refunds, unmatched_payments
from store.schema import audit_log, outbox
from tests.support.ocr_files import ocr_file
from tests.unit.billing.billing_testkit import NOW, World, local, rows

OCT = RunOptions("2026-10", now=NOW)
AFTER = NOW + timedelta(days=6)  # 26 November: the payments arrive


async def four_invoices(engine: AsyncEngine) -> list[dict[str, Any]]:
    """Four issued invoices of OSLO (one per subscriber), by number."""
    w = await World(engine).setup()
    for i, key in enumerate("ABCD"):
        await w.subscriber(key)
        await w.session(key, local(f"2026-10-0{i + 1} 08:00"), 60 + 10 * i, 10_000 + 1000 * i)
    await run_billing(engine, OCT)
    issued = await rows(engine, invoices, invoices.c.number)
    assert [r["state"] for r in issued] == ["issued"] * 4 and all(r["kid"] for r in issued)
    return issued


async def import_file(engine: AsyncEngine, data: bytes, **kw: Any) -> dict[str, Any]:
    async with engine.begin() as conn:
        return await giro.import_ocr(conn, data, actor="cli", now=AFTER, **kw)


async def count(engine: AsyncEngine, table: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_the_file_pays_exactly_its_invoices_once(engine: AsyncEngine) -> None:
    a, b, c, d = await four_invoices(engine)
    part = c["total"] // 3
    data = ocr_file([(a["kid"], a["total"]), (b["kid"], b["total"]), (c["kid"], part)])
    summary = await import_file(engine, data)

    assert summary["already_imported"] is False
    assert summary["matched"]["count"] == 3
    assert summary["matched"]["amount"] == a["total"] + b["total"] + part
    assert summary["matched"]["formatted"].endswith(" NOK")
    assert (summary["unmatched"]["count"], summary["duplicates_skipped"]) == (0, 0)
    after = {r["number_text"]: r for r in await rows(engine, invoices)}
    assert after[a["number_text"]]["state"] == after[b["number_text"]]["state"] == "paid"
    # a partial payment leaves the invoice open with the rest due
    assert after[c["number_text"]]["state"] == "issued"
    assert after[c["number_text"]]["paid_amount"] == part
    assert after[d["number_text"]] == d  # not in the file: untouched
    paid = await rows(engine, payments, payments.c.id)
    assert [(p["invoice_id"], p["amount"], p["method"]) for p in paid] == [
        (a["id"], a["total"], "ocr_giro"),
        (b["id"], b["total"], "ocr_giro"),
        (c["id"], part, "ocr_giro"),
    ]
    assert all(p["paid_on"] == "2026-11-25" and p["idempotency_key"] for p in paid)
    stored = await rows(engine, ocr_transactions, ocr_transactions.c.id)
    assert [t["payment_id"] for t in stored] == [p["id"] for p in paid]
    events = [e["kind"] for e in await rows(engine, outbox, outbox.c.id)]
    assert events.count("invoice_paid") == 2

    # the same file again: nothing new, every transaction a duplicate
    before = (
        await rows(engine, invoices),
        await rows(engine, payments),
        await count(engine, outbox),
    )
    again = await import_file(engine, data)
    assert again["already_imported"] is True and again["file_id"] == summary["file_id"]
    assert again["duplicates_skipped"] == 3
    assert again["matched"]["count"] == again["unmatched"]["count"] == 0
    assert (await rows(engine, invoices), await rows(engine, payments)) == before[:2]
    assert await count(engine, outbox) == before[2]
    assert await count(engine, ocr_files) == 1 and await count(engine, ocr_transactions) == 3

    # the rest of C in a later file pays it
    rest = c["total"] - part
    await import_file(engine, ocr_file([(c["kid"], rest)], transmission="1701002"))
    (c_after,) = [r for r in await rows(engine, invoices) if r["id"] == c["id"]]
    assert (c_after["state"], c_after["paid_amount"]) == ("paid", c["total"])


async def test_unknown_kid_and_paid_invoice_go_unmatched_then_assigned_or_refunded(
    engine: AsyncEngine,
) -> None:
    a, b, *_ = await four_invoices(engine)
    await import_file(engine, ocr_file([(a["kid"], a["total"])]))
    data = ocr_file(
        [("12345678903", 5000), (a["kid"], 700), (b["kid"], 100)], transmission="1701002"
    )
    summary = await import_file(engine, data)
    assert summary["matched"] == {"count": 1, "amount": 100, "formatted": "1.00 NOK"}
    assert summary["unmatched"] == {"count": 2, "amount": 5700, "formatted": "57.00 NOK"}
    unknown, on_paid = summary["unmatched_payments"]
    assert (unknown["reason"], unknown["invoice_number"]) == ("unknown_kid", None)
    assert (on_paid["reason"], on_paid["invoice_number"]) == ("invoice_paid", a["number_text"])
    stored = await rows(engine, unmatched_payments, unmatched_payments.c.id)
    assert [(u["state"], u["amount"], u["site_id"]) for u in stored] == [
        ("open", 5000, None),
        ("open", 700, "OSLO"),
    ]
    # A stays as it was paid: the 7.00 did not make a credit balance behind anyone's back
    (a_now,) = [r for r in await rows(engine, invoices) if r["id"] == a["id"]]
    assert a_now["paid_amount"] == a["total"]

    async with engine.begin() as conn:
        done = await giro.assign_unmatched(conn, unknown["id"], b["number_text"], actor="cli")
    assert (done["invoice_number"], done["invoice_state"]) == (b["number_text"], "issued")
    assert done["amount_due"] == b["total"] - 100 - 5000
    async with engine.begin() as conn:  # the same call again: the same answer, nothing new
        repeat = await giro.assign_unmatched(conn, unknown["id"], b["number_text"], actor="cli")
        assert repeat["payment_id"] == done["payment_id"]
        with pytest.raises(Conflict, match="assigned"):
            await giro.assign_unmatched(conn, unknown["id"], a["number_text"], actor="cli")
    b_payments = [p for p in await rows(engine, payments) if p["invoice_id"] == b["id"]]
    assert sorted(p["amount"] for p in b_payments) == [100, 5000]

    async with engine.begin() as conn:
        refund = await giro.refund_unmatched(conn, on_paid["id"], "paid twice", actor="cli")
        again = await giro.refund_unmatched(conn, on_paid["id"], actor="cli")
    assert refund == again and refund["payer_account"] == "99990000002"
    async with engine.begin() as conn:
        with pytest.raises(Conflict, match="refunded"):
            await giro.assign_unmatched(conn, on_paid["id"], b["number_text"], actor="cli")
    (due,) = await rows(engine, refunds)
    assert (due["amount"], due["state"], due["unmatched_id"]) == (700, "due", on_paid["id"])
    states = [u["state"] for u in await rows(engine, unmatched_payments, unmatched_payments.c.id)]
    assert states == ["assigned", "refund_due"]
    actions = [e["action"] for e in await rows(engine, audit_log, audit_log.c.id)]
    assert {"payments.import_ocr", "payment.unmatched", "payment.assign", "payment.refund"} <= set(
        actions
    )


async def test_a_credited_invoice_and_a_reversal_are_kept_not_applied(engine: AsyncEngine) -> None:
    import netsgiro

    a, b, *_ = await four_invoices(engine)
    async with engine.begin() as conn:
        await credit_invoice(conn, a["number_text"], None, "void", actor="cli")
    kinds = [
        netsgiro.TransactionType.FROM_GIRO_DEBITED_ACCOUNT,
        netsgiro.TransactionType.REVERSING_WITH_KID,
    ]
    summary = await import_file(
        engine, ocr_file([(a["kid"], a["total"]), (b["kid"], 300)], types=kinds)
    )
    assert [u["reason"] for u in summary["unmatched_payments"]] == ["invoice_credited", "reversal"]
    assert summary["matched"]["count"] == 0 and await count(engine, payments) == 0
    async with engine.begin() as conn:
        with pytest.raises(BillingError, match="reversal"):
            await giro.assign_unmatched(
                conn, summary["unmatched_payments"][1]["id"], b["number_text"], actor="cli"
            )


async def test_a_bad_file_records_nothing(engine: AsyncEngine) -> None:
    a, b, *_ = await four_invoices(engine)
    good = ocr_file([(a["kid"], a["total"]), (b["kid"], b["total"])])
    altered = good.replace(f"{a['total']:017d}".encode(), f"{a['total'] + 1:017d}".encode(), 1)
    with pytest.raises(OcrFileError, match="altered"):
        await import_file(engine, altered)
    truncated = b"\n".join(good.split(b"\n")[:-1])
    with pytest.raises(OcrFileError):
        await import_file(engine, truncated)
    await import_file(engine, ocr_file([(a["kid"], 100)]))
    # another file with a transmission number already imported: refused whole
    with pytest.raises(OcrFileError, match="imported already"):
        await import_file(engine, ocr_file([(b["kid"], b["total"])]))
    # ... unless it is the same transmission in other bytes (Windows line ends): a duplicate
    same = await import_file(engine, ocr_file([(a["kid"], 100)]).replace(b"\n", b"\r\n"))
    assert same["already_imported"] is True and same["duplicates_skipped"] == 1
    assert await count(engine, ocr_files) == 1 and await count(engine, payments) == 1
    assert await count(engine, unmatched_payments) == 0


async def test_a_kid_on_two_sites_is_not_guessed_and_the_site_scopes_it(
    engine: AsyncEngine,
) -> None:
    a, b, *_ = await four_invoices(engine)
    async with engine.begin() as conn:
        await admin.add_site(
            conn, admin.SiteInput("BERGEN", "Europe/Oslo", "NOK", 2500, "business")
        )
        # B's invoice moves to Bergen and carries A's KID (KIDs are unique per site only)
        await conn.execute(
            update(invoices).where(invoices.c.id == b["id"]).values(site_id="BERGEN", kid=a["kid"])
        )
    summary = await import_file(engine, ocr_file([(a["kid"], 100)]))
    assert [u["reason"] for u in summary["unmatched_payments"]] == ["ambiguous_kid"]
    scoped = await import_file(
        engine, ocr_file([(a["kid"], 100)], transmission="1701002"), site_id="BERGEN"
    )
    assert scoped["matched"]["count"] == 1
    assert [p["invoice"] for p in scoped["payments"]] == [b["number_text"]]


async def test_the_reports_add_up_to_the_stored_payments(engine: AsyncEngine) -> None:
    a, b, c, d = await four_invoices(engine)
    await import_file(engine, ocr_file([(a["kid"], a["total"]), (b["kid"], 2000), ("55555", 4200)]))
    async with engine.begin() as conn:
        await record_offline_payment(
            conn, c["number_text"], 1500, date(2026, 12, 3), "cash", actor="cli"
        )
        # A was paid in full by the file: this overpays it, a credit balance
        await record_offline_payment(
            conn, a["number_text"], 777, date(2026, 12, 4), "twice", actor="cli"
        )
    stored = [p for p in await rows(engine, payments) if p["status"] == "succeeded"]
    async with engine.connect() as conn:
        report = await giro.payments_report(conn, None, None, None)
        november = await giro.payments_report(conn, "OSLO", date(2026, 11, 1), date(2026, 11, 30))
        aging = await giro.aging_report(conn, None, (d["due_at"] + timedelta(days=45)).date())
        unmatched = await giro.unmatched_report(conn, None)
    assert report["totals"] == [
        {"currency": "NOK", "count": len(stored), "amount": sum(p["amount"] for p in stored)}
    ]
    by_method = {m["method"]: m["amount"] for m in report["methods"]}
    for method in ("ocr_giro", "offline"):
        assert by_method[method] == sum(p["amount"] for p in stored if p["method"] == method)
    assert {(p["period"], p["method"]) for p in report["periods"]} == {
        ("2026-11", "ocr_giro"),
        ("2026-12", "offline"),
    }
    assert november["totals"][0]["amount"] == a["total"] + 2000
    # aging: what is owed on the open invoices, as the rows say
    open_rows = [r for r in await rows(engine, invoices) if r["state"] in ("issued", "overdue")]
    owed = sum(r["total"] - r["paid_amount"] - r["credited_amount"] for r in open_rows)
    assert aging["totals"] == [{"currency": "NOK", "count": 3, "amount": owed}]
    buckets = {x["bucket"]: x for x in aging["buckets"]}
    assert buckets["31-60"]["count"] == 3 and buckets["31-60"]["amount"] == owed
    assert buckets["0-30"]["count"] == buckets["90+"]["count"] == 0
    assert {i["days_past_due"] for i in aging["invoices"]} == {45}
    assert unmatched["totals"] == [{"state": "open", "currency": "NOK", "count": 1, "amount": 4200}]
    assert [(x["number"], x["amount"]) for x in unmatched["credit_balances"]] == [
        (a["number_text"], 777)
    ]
    assert unmatched["credit_balances_total"] == [{"currency": "NOK", "count": 1, "amount": 777}]


async def test_the_api_imports_an_upload_and_reports(engine: AsyncEngine) -> None:
    a, b, *_ = await four_invoices(engine)
    async with engine.begin() as conn:
        root = (await api_tokens.create_token(conn, "super-admin", None, "root"))[1]
        oslo = (await api_tokens.create_token(conn, "admin", "OSLO", "oslo"))[1]
        viewer = (await api_tokens.create_token(conn, "viewer", "OSLO", "ro"))[1]
    data = ocr_file([(a["kid"], a["total"]), ("777", 900)])
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://evgate") as http:

        def auth(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        def upload(body: bytes) -> dict[str, Any]:
            return {"file": ("ocr.txt", body, "text/plain")}

        r = await http.post("/api/v1/payments/ocr", files=upload(data), headers=auth(viewer))
        assert r.status_code == 403
        r = await http.post("/api/v1/payments/ocr", files=upload(data), headers=auth(oslo))
        assert r.status_code == 403 and "super-admin" in r.json()["detail"]
        bad = await http.post(
            "/api/v1/payments/ocr?site=OSLO", files=upload(b"NY00 not a file"), headers=auth(oslo)
        )
        assert bad.status_code == 422 and "OCR Giro" in bad.json()["detail"]
        r = await http.post(
            "/api/v1/payments/ocr?site=OSLO", files=upload(data), headers=auth(oslo)
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["matched"]["count"], body["unmatched"]["count"]) == (1, 1)
        again = await http.post(
            "/api/v1/payments/ocr?site=OSLO", files=upload(data), headers=auth(oslo)
        )
        assert again.json()["already_imported"] is True
        assert again.json()["duplicates_skipped"] == 2

        report = (await http.get("/api/v1/reports/payments", headers=auth(viewer))).json()
        assert report["totals"] == [{"currency": "NOK", "count": 1, "amount": a["total"]}]
        r = await http.get("/api/v1/reports/payments?from=2026-12-01", headers=auth(viewer))
        assert r.json()["totals"] == []
        aging = (
            await http.get("/api/v1/reports/aging?as_of=2026-11-26", headers=auth(viewer))
        ).json()
        assert aging["totals"][0]["count"] == 3 and isinstance(aging["totals"][0]["amount"], int)
        un = (await http.get("/api/v1/reports/unmatched", headers=auth(viewer))).json()
        (item,) = un["items"]
        assert (item["kid"], item["amount"], item["site_id"]) == ("777", 900, "OSLO")

        url = f"/api/v1/payments/unmatched/{item['id']}/assign"
        r = await http.post(url, json={"invoice_number": b["number_text"]}, headers=auth(oslo))
        assert r.status_code == 403
        r = await http.post(url, json={"invoice_number": "NOPE-1"}, headers=auth(root))
        assert r.status_code == 404
        r = await http.post(url, json={"invoice_number": b["number_text"]}, headers=auth(root))
        assert r.status_code == 200, r.text
        assert r.json()["invoice_state"] == "issued"
        r = await http.post(f"/api/v1/payments/unmatched/{item['id']}/refund", headers=auth(root))
        assert r.status_code == 409
        r = await http.post("/api/v1/payments/unmatched/999/refund", headers=auth(root))
        assert r.status_code == 404
    assert await count(engine, payments) == 2


async def test_two_imports_of_one_file_at_once_record_it_once(engine: AsyncEngine) -> None:
    a, b, *_ = await four_invoices(engine)
    data = ocr_file([(a["kid"], a["total"]), (b["kid"], 500), ("31337", 200)])

    async def attempt() -> dict[str, Any] | Exception:
        try:
            return await import_file(engine, data)
        except DBAPIError as exc:  # the loser of the unique sha256 (PostgreSQL) or the lock
            return exc

    results = await asyncio.gather(attempt(), attempt())
    done = [r for r in results if isinstance(r, dict) and not r["already_imported"]]
    assert len(done) == 1 and done[0]["matched"]["count"] == 2
    for other in results:
        if other is not done[0]:
            assert isinstance(other, DBAPIError) or other["already_imported"] is True
    assert await count(engine, ocr_files) == 1
    assert await count(engine, payments) == 2 and await count(engine, unmatched_payments) == 1
    # the loser, sent again, gets the duplicate summary
    assert (await import_file(engine, data))["duplicates_skipped"] == 3
