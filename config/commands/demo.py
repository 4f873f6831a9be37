"""`evgate demo`: the whole job on the embedded default, start to finish, in about a minute.

A super-admin sets up a business site over the config API (10 Wallbox chargers in
monthly-payment mode, an energy and a time tariff, 25 subscribers with RFID cards), the
simulator plays last month's sessions at high speed against a real `evgate serve`, and the
billing run turns the month into invoices. Server and simulator run as their own processes,
exactly as they would on a site.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from config.cli import CliError
from config.commands.demo_portal import open_portal

SITE = "demo-condo"
TZ = "Europe/Oslo"
DEMO_STRIPE_KEY = "sk_test_evgate_demo"  # localstripe takes any test key


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="set up a site, play a month of sessions, bill it")
    p.add_argument("--dir", help="keep everything here (default: a new temporary directory)")
    p.add_argument("--chargers", type=int, default=10)
    p.add_argument("--subscribers", type=int, default=25)
    p.add_argument(
        "--seconds",
        type=float,
        default=45,
        help="wall-clock seconds the month takes to play (default 45)",
    )
    p.add_argument(
        "--portal",
        action="store_true",
        help="afterwards keep the web portal up with a super-admin's and a subscriber's "
        "sign-in printed, until Ctrl-C",
    )
    p.set_defaults(func=_demo)


def step(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def evgate(
    *args: str, env: dict[str, str], check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "config.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        input=input,
    )
    if check and result.returncode != 0:
        raise CliError(
            f"evgate {args[0]} {args[1] if len(args) > 1 else ''} failed: "
            f"{(result.stderr.strip().splitlines() or ['?'])[-1]}"
        )
    return result


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def last_month(today: date) -> tuple[date, date]:
    first_this = today.replace(day=1)
    last = first_this - timedelta(days=1)
    return last.replace(day=1), last


OCPP_OF = ("1.6", "2.0.1")


def scenario(
    chargers: list[str], subscribers: int, first: date, last: date, seconds: float
) -> dict[str, Any]:
    """A month at a condo: weekday commuters in the evening, some weekend visits."""
    days = (last - first).days + 1
    drivers = [
        {
            "name": f"Resident {i:02d}",
            "tokens": [f"RFID-{i:04d}"],
            "ev": {
                "capacity_kwh": [40, 58, 64, 77, 82][i % 5],
                "max_power_kw": [7.4, 11][i % 2],
                "phases": [1, 3][i % 2],
            },
        }
        for i in range(1, subscribers + 1)
    ]
    start = datetime.combine(first, datetime.min.time(), ZoneInfo(TZ))
    return {
        "start": start.isoformat(),
        "timezone": TZ,
        "speed": round(days * 86400 / seconds),
        "sample_interval": "15m",
        # every second charger speaks OCPP 2.0.1, on the same port as the 1.6 ones
        "chargers": [
            {"id": c, "max_current": 16 if i % 3 else 32, "phases": 3, "ocpp": OCPP_OF[i % 2]}
            for i, c in enumerate(chargers)
        ],
        "drivers": drivers,
        "generators": [
            {
                "days": "weekdays",
                "from": first.isoformat(),
                "to": last.isoformat(),
                "arrival": "16:30-19:30",
                "soc": "15-45",
                "target_soc": "70-95",
                "parking": "1h-10h",
                "probability": 0.35,
                "seed": 11,
            },
            {
                "days": "weekends",
                "from": first.isoformat(),
                "to": last.isoformat(),
                "arrival": "10:00-14:00",
                "soc": "30-60",
                "target_soc": "80-100",
                "parking": "30m-3h",
                "probability": 0.2,
                "seed": 12,
            },
        ],
    }


def _demo(args: argparse.Namespace) -> int:
    work = Path(args.dir or tempfile.mkdtemp(prefix="evgate-demo-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    url = f"sqlite+aiosqlite:///{work}/evgate.db"
    env = {**os.environ, "EVGATE_DATABASE_URL": url}
    started = time.monotonic()
    step(f"working in {work} (SQLite: {work}/evgate.db)")

    stripe = start_localstripe(work)
    if stripe is not None:
        env |= {"EVGATE_STRIPE_API_KEY": DEMO_STRIPE_KEY, "EVGATE_STRIPE_API_BASE": stripe[0]}
        step(f"Stripe: localstripe on {stripe[0]} (a third of the subscribers pay by card)")
    else:
        step("Stripe: localstripe is not installed, every subscriber pays by bank transfer")
    token = evgate(
        "admin", "create-token", "--role", "super-admin", "--name", "demo", env=env
    ).stdout.strip()
    ocpp_port, api_port = free_port(), free_port()
    log = open(work / "serve.log", "wb")  # noqa: SIM115 - the server writes it until the end
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "config.cli",
            "serve",
            "--ocpp-port",
            str(ocpp_port),
            "--api-port",
            str(api_port),
            "--log-level",
            "WARNING",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if "OCPP on" not in line:
            raise CliError(f"evgate serve did not start; see {work}/serve.log")
        step(line.strip().removeprefix("evgate: ").replace("OCPP on", "evgate serving OCPP on"))
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{api_port}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        chargers, card_payers, company = setup_site(
            api, args.chargers, args.subscribers, stripe is not None
        )
        if card_payers:
            asyncio.run(attach_cards(url, env["EVGATE_STRIPE_API_BASE"], card_payers))

        first, last = last_month(datetime.now(ZoneInfo(TZ)).date())
        month = first.strftime("%Y-%m")
        plan = scenario(chargers, args.subscribers, first, last, args.seconds)
        (work / "scenario.json").write_text(json.dumps(plan, indent=2))
        v201 = sum(1 for c in plan["chargers"] if c["ocpp"] == "2.0.1")
        step(
            f"playing {month} with the charger simulator ({args.chargers} Wallbox chargers: "
            f"{args.chargers - v201} in OCPP 1.6, {v201} in 2.0.1; {args.subscribers} drivers, "
            f"{plan['speed']:,}x speed)"
        )
        records = play(work, ocpp_port, api)
        items = all_sessions(api)
        kwh = Decimal(sum(s["energy_wh"] or 0 for s in items)).scaleb(-3)
        step(f"{len(records)} sessions played, {len(items)} stored, {kwh:,.1f} kWh metered")

        step(f"billing {month}")
        bill = evgate("bill", "--month", month, "--site", SITE, env=env, check=False)
        print(bill.stdout.rstrip() or bill.stderr.rstrip(), flush=True)
        summarize(work, env, month)
        documents(work, url, company)
        if args.portal:
            open_portal(evgate, env, f"http://127.0.0.1:{api_port}", server)
    finally:
        if stripe is not None:
            stripe[1].terminate()
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    step(f"done in {time.monotonic() - started:.0f} s; everything is in {work}")
    return 0


SELLER = {
    "legal_name": "Demo Condo Lading AS",
    "street": "Strandveien 1",
    "postcode": "0150",
    "city": "Oslo",
    "orgnr": "923609016",
    "vat_number": "NO923609016MVA",
    "foretaksregisteret": True,
    "account": "86011117947",
    "invoice_email": "faktura@democondo.example",
}
COMPANY = {  # the first subscriber is a company: its invoices go out as EHF
    "street": "Kundegata 9",
    "postcode": "5003",
    "city": "Bergen",
    "orgnr": "974760673",
    "buyer_reference": "Garage 7",
}


def setup_site(
    api: httpx.Client, n_chargers: int, n_subscribers: int, cards: bool
) -> tuple[list[str], list[int], int]:
    """The site over the API; returns the chargers, the subscribers who pay by card and the
    company subscriber (whose documents are EHF)."""

    def call(method: str, path: str, **kw: Any) -> Any:
        response = api.request(method, path, **kw)
        if response.status_code >= 400:
            raise CliError(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return response.json() if response.content else None

    step(
        f"config API: business site {SITE!r}, {n_chargers} chargers, 2 tariffs, "
        f"{n_subscribers} subscribers"
    )
    call(
        "POST",
        "/sites",
        json={
            "id": SITE,
            "name": "Demo Condo",
            "tz": TZ,
            "currency": "NOK",
            "vat_percent": "25",
            "plan": "business",
            "allow_passwordless": True,
        },
    )
    energy = call(
        "POST",
        "/tariffs/simple",
        json={"text": "3.50 per kWh", "site_id": SITE, "name": "Energy", "vat_percent": "25"},
    )
    timed = call(
        "POST",
        "/tariffs/simple",
        json={
            "text": "24.00 per hour charging + 6.00 per hour parking",
            "site_id": SITE,
            "name": "Time",
            "vat_percent": "25",
        },
    )
    chargers = [f"WB-{i:03d}" for i in range(1, n_chargers + 1)]
    for i, cid in enumerate(chargers):
        call("POST", f"/sites/{SITE}/chargers", json={"id": cid})
        tariff = energy if i < (n_chargers * 6) // 10 else timed
        call("PUT", f"/chargers/{cid}/tariff", json={"tariff_id": tariff["id"]})
        call("PUT", f"/chargers/{cid}/monthly-payment", json={"enabled": True})
    call("PATCH", f"/sites/{SITE}/seller", json=SELLER)
    card_payers = []
    company = 0
    for i in range(1, n_subscribers + 1):
        email = f"resident{i:02d}@example.com"
        method = "stripe" if cards and i % 3 == 0 else "manual"
        invitation = call("POST", f"/sites/{SITE}/invitations", json={"email": email})
        accepted = call(
            "POST",
            f"/invitations/{invitation['token']}/accept",
            json={
                "name": f"Resident {i:02d}",
                "email": email,
                "language": ["en", "nb", "sv", "da", "fr"][i % 5],
                "payment_method": method,
            },
        )
        call(
            "POST",
            f"/subscribers/{accepted['subscriber_id']}/tokens",
            json={"id_tag": f"RFID-{i:04d}"},
        )
        if method == "stripe":
            card_payers.append(int(accepted["subscriber_id"]))
        if i == 1:
            company = int(accepted["subscriber_id"])
            call("PATCH", f"/subscribers/{company}/buyer", json=COMPANY)
    return chargers, card_payers, company


def start_localstripe(work: Path) -> tuple[str, subprocess.Popen[bytes]] | None:
    """localstripe (the tests' Stripe) on 127.0.0.1, when it is installed."""
    if importlib.util.find_spec("localstripe") is None:
        return None
    port = free_port()
    code = (
        "import aiohttp.web\n"
        "from localstripe.server import app\n"
        f"aiohttp.web.run_app(app, host='127.0.0.1', port={port}, print=None)\n"
    )
    Path("/tmp/localstripe.pickle").unlink(missing_ok=True)  # start from scratch
    with open(work / "localstripe.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=log)
    for _ in range(200):
        try:
            httpx.get(
                f"http://127.0.0.1:{port}/v1/customers",
                headers={"Authorization": "Bearer sk_test_evgate_demo"},
                timeout=1,
            )
            return f"http://127.0.0.1:{port}", proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.terminate()
    return None


async def attach_cards(database_url: str, stripe_base: str, subscribers: list[int]) -> None:
    """What the sign-up page would do: each card payer's card becomes their default.

    The last one gets a card that attaches but is always declined, to show a failed charge.
    """
    from config import compose
    from config.settings import Settings

    settings = Settings(database_url, stripe_api_key=DEMO_STRIPE_KEY, stripe_api_base=stripe_base)
    engine = compose.engine(settings)
    payments = compose.stripe_payments(settings)
    assert payments is not None
    try:
        for n, subscriber_id in enumerate(subscribers, start=1):
            number = "4000000000000341" if n == len(subscribers) else "4242424242424242"
            method = await payments.client.v1.payment_methods.create_async(
                params={
                    "type": "card",
                    "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
                }
            )
            await payments.set_payment_method(engine, subscriber_id, str(method.id))
    finally:
        await engine.dispose()


def play(work: Path, ocpp_port: int, api: httpx.Client) -> list[dict[str, Any]]:
    played = work / "played.json"  # a file, not a pipe: the JSON is larger than a pipe holds
    with open(played, "wb") as out, open(work / "simulate.log", "wb") as err:
        sim = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "config.cli",
                "simulate",
                "--url",
                f"ws://127.0.0.1:{ocpp_port}/ocpp",
                "--scenario",
                str(work / "scenario.json"),
                "--json",
            ],
            stdout=out,
            stderr=err,
        )
        t0 = time.monotonic()
        while sim.poll() is None:
            time.sleep(3)
            try:
                count = len(all_sessions(api))
            except (httpx.HTTPError, ValueError):
                continue
            print(f"  {time.monotonic() - t0:5.0f} s: {count} sessions so far", flush=True)
    if sim.returncode != 0:
        raise CliError(f"the simulator failed; see {work}/simulate.log")
    return json.loads(played.read_text())  # type: ignore[no-any-return]


def all_sessions(api: httpx.Client) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = api.get("/sessions", params={"limit": 1000, "offset": len(items)})
        page.raise_for_status()
        items += page.json()
        if len(page.json()) < 1000:
            return items


def documents(work: Path, url: str, company: int) -> None:
    """Sample documents per language in documents/, then the payment report."""
    from config.commands.demo_documents import pay_some_and_report, write_documents

    folder = work / "documents"
    written = asyncio.run(write_documents(url, folder, SITE, company))
    pdfs = sum(1 for p in written if p.suffix == ".pdf")
    xmls = sum(1 for p in written if p.suffix == ".xml")
    step(
        f"documents in {folder}: {pdfs} PDFs (an invoice, a credit note and a reminder in "
        f"en, sv, nb, da, fr, and a manual invoice) and {xmls} EHF XML files of the company"
    )
    step("payment report")
    for line in asyncio.run(pay_some_and_report(url, SITE, date.today())):
        print(f"  {line}", flush=True)


def summarize(work: Path, env: dict[str, str], month: str) -> None:
    listed = evgate("invoices", "list", "--json", env=env, check=False)
    if listed.returncode != 0:
        return
    invoices = json.loads(listed.stdout or "[]")
    pdfs = work / "invoices"
    pdfs.mkdir(exist_ok=True)
    totals: dict[str, int] = {}
    for inv in invoices:
        if inv.get("number"):
            evgate(
                "invoices",
                "pdf",
                inv["number"],
                "--out",
                str(pdfs / f"{inv['number']}.pdf"),
                env=env,
                check=False,
            )
        totals[inv["currency"]] = totals.get(inv["currency"], 0) + int(inv["total"])
    states: dict[str, int] = {}
    for inv in invoices:
        states[inv["state"]] = states.get(inv["state"], 0) + 1
    shown = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    step(f"{len(invoices)} invoices for {month} ({shown}); PDFs in {pdfs}")
    for currency, total in totals.items():
        print(f"  total invoiced: {Decimal(total).scaleb(-2):,.2f} {currency}", flush=True)
