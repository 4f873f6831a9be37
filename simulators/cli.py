"""`evgate simulate`: one charger, a scenario, or a fleet (the benchmark load generator)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from typing import Any

from simulators.quirks import QUIRK_HELP, Quirks


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "simulate",
        help="run a Wallbox-style OCPP 1.6J or 2.0.1 charger, a scenario, or a fleet",
        description="Simulate OCPP 1.6J or 2.0.1 chargers against a central system "
        "(see docs/simulator.md).",
    )
    p.add_argument("--url", default="ws://127.0.0.1:9000/ocpp", help="central system, without id")
    p.add_argument("--id", default="WB-001", help="charger id (single charger)")
    p.add_argument("--password", help="HTTP Basic Auth password (user = charger id)")
    p.add_argument("--scenario", help="YAML or JSON scenario file")
    p.add_argument("--fleet", type=int, metavar="N", help="run N chargers on the workload loop")
    p.add_argument("--id-pattern", default="CP-{:06d}", help="fleet ids (default CP-{:06d})")
    p.add_argument("--first", type=int, default=1, help="index of the first fleet charger")
    p.add_argument("--mode", choices=["closed", "paced"], default=None, help="fleet loop")
    p.add_argument("--interval", type=float, help="paced: seconds between calls per charger")
    p.add_argument("--duration", type=float, default=10.0, help="fleet run seconds (default 10)")
    p.add_argument("--concurrency", type=int, default=100, help="fleet connects at once")
    p.add_argument("--samples-per-session", type=int, default=0, help="fleet: restart sessions")
    p.add_argument("--speed", type=float, help="virtual clock speed (3600 = an hour a second)")
    p.add_argument(
        "--quirk",
        action="append",
        default=[],
        metavar="NAME",
        help="a Wallbox quirk switch (repeat or comma-separate); see --list-quirks",
    )
    p.add_argument("--list-quirks", action="store_true", help="print the quirk switches")
    p.add_argument(
        "--refuse",
        action="append",
        default=[],
        metavar="ACTION=STATUS",
        help="answer ACTION (e.g. TriggerMessage) with STATUS (e.g. Rejected, NotSupported)",
    )
    p.add_argument(
        "--call-error",
        action="append",
        default=[],
        metavar="ACTION=CODE",
        help="answer ACTION with a CallError of CODE (e.g. NotSupported)",
    )
    p.add_argument(
        "--drop-on",
        action="append",
        default=[],
        metavar="ACTION",
        help="close the socket instead of answering ACTION",
    )
    p.add_argument(
        "--firmware-fail",
        choices=["download", "install"],
        help="UpdateFirmware ends in DownloadFailed or InstallationFailed",
    )
    p.add_argument(
        "--firmware-version", help="the version UpdateFirmware installs (default: its file name)"
    )
    p.add_argument(
        "--upload-method",
        choices=["PUT", "POST"],
        default="PUT",
        help="how GetDiagnostics uploads: PUT the file, or POST a multipart form",
    )
    p.add_argument(
        "--ocpp",
        choices=["1.6", "2.0.1"],
        default=None,
        help="protocol version (default 1.6; a scenario's chargers may say their own)",
    )
    p.add_argument("--ca", metavar="FILE", help="wss://: CA certificate(s) to trust (PEM)")
    p.add_argument("--client-cert", metavar="FILE", help="wss://: client certificate (PEM)")
    p.add_argument("--client-key", metavar="FILE", help="wss://: the client certificate's key")
    p.add_argument("--id-tag", default="RFID-0001", help="single charger: the RFID to charge with")
    p.add_argument("--soc", type=int, default=30, help="single charger: EV start SoC %%")
    p.add_argument("--target", type=int, default=80, help="single charger: EV target SoC %%")
    p.add_argument("--parking", type=int, default=600, help="single charger: seconds parked")
    p.add_argument("--sample-interval", type=int, default=60, help="virtual s between samples")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=main)


def _fail(reason: str) -> int:
    print(f"evgate: {reason}", file=sys.stderr)
    return 2


def main(args: argparse.Namespace) -> int:
    if args.list_quirks:
        for name, text in QUIRK_HELP.items():
            print(f"{name:30} {text}")
        return 0
    try:
        quirks = Quirks.parse([q for item in args.quirk for q in item.split(",")])
    except ValueError as exc:
        return _fail(str(exc))
    if not args.url.startswith(("ws://", "wss://")):
        return _fail(f"--url must start with ws:// or wss:// (got {args.url!r})")
    if args.speed is not None and args.speed <= 0:
        return _fail("--speed must be positive")
    try:
        args.tls = _tls(args)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        if args.fleet is not None:
            return _fleet(args)
        if args.scenario:
            return _scenario(args, quirks)
        return _single(args, quirks)
    except KeyboardInterrupt:
        return 130


def _tls(args: argparse.Namespace) -> Any:
    """TlsFiles from --ca/--client-cert/--client-key, None without them; ValueError if wrong."""
    from pathlib import Path

    from simulators.rpc import TlsFiles

    if not (args.ca or args.client_cert or args.client_key):
        return None
    if bool(args.client_cert) != bool(args.client_key):
        raise ValueError("--client-cert and --client-key go together: give both")
    if not args.url.startswith("wss://"):
        raise ValueError("--ca and --client-cert need a wss:// --url")
    for flag, name in (("--ca", args.ca), ("--client-cert", args.client_cert)):
        if name and not Path(name).is_file():
            raise ValueError(f"{flag} {name}: no such file")
    if args.client_key and not Path(args.client_key).is_file():
        raise ValueError(f"--client-key {args.client_key}: no such file")
    tls = TlsFiles(args.ca, args.client_cert, args.client_key)
    try:
        tls.context()
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise ValueError(f"cannot use the TLS files: {exc}") from None
    return tls


def _fleet(args: argparse.Namespace) -> int:
    from simulators.fleet import FleetConfig, format_summary, run_fleet

    if args.fleet < 1:
        return _fail("--fleet needs at least 1 charger")
    try:
        args.id_pattern.format(1)
    except (IndexError, KeyError, ValueError):
        return _fail(f"--id-pattern {args.id_pattern!r} must hold one {{}} field, e.g. CP-{{:06d}}")
    mode = args.mode or ("paced" if args.interval else "closed")
    if mode == "paced" and not (args.interval and args.interval > 0):
        return _fail("--mode paced needs --interval SECONDS > 0")
    cfg = FleetConfig(
        url=args.url,
        chargers=args.fleet,
        id_pattern=args.id_pattern,
        first_index=args.first,
        password=args.password,
        duration_s=args.duration,
        mode=mode,
        interval_s=args.interval or 2.0,
        connect_concurrency=args.concurrency,
        samples_per_session=args.samples_per_session,
        ocpp=args.ocpp or "1.6",
        tls=args.tls,
    )
    summary = asyncio.run(run_fleet(cfg))
    print(json.dumps(summary.to_dict()) if args.json else format_summary(summary))
    return 0 if summary.connected else 1


def _scenario(args: argparse.Namespace, quirks: Quirks) -> int:
    from simulators import scenario

    try:
        plan = scenario.load(args.scenario)
    except FileNotFoundError:
        return _fail(f"scenario file {args.scenario} not found")
    except scenario.ScenarioError as exc:
        return _fail(f"{args.scenario}: {exc}")
    records = asyncio.run(
        scenario.run(
            plan,
            args.url,
            args.speed,
            quirks if quirks.enabled() else None,
            args.password,
            ocpp=args.ocpp,
            tls=args.tls,
        )
    )
    _print_records(records, args.json)
    return 0


def _single(args: argparse.Namespace, quirks: Quirks) -> int:
    from simulators.charger201 import charger_class
    from simulators.clock import VirtualClock
    from simulators.firmware import FirmwareSwitches
    from simulators.physics import EV

    async def session() -> list[Any] | None:
        sim = charger_class(args.ocpp or "1.6")(
            args.url,
            args.id,
            password=args.password,
            quirks=quirks,
            clock=VirtualClock(args.speed or 1.0),
            sample_interval_s=args.sample_interval,
            refuse=dict(item.split("=", 1) for item in args.refuse if "=" in item),
            drop_on=frozenset(args.drop_on),
            call_error=dict(item.split("=", 1) for item in args.call_error if "=" in item),
            firmware=FirmwareSwitches(
                fail_download=args.firmware_fail == "download",
                fail_install=args.firmware_fail == "install",
                version=args.firmware_version,
                upload_method=args.upload_method,
            ),
            tls=args.tls,
        )
        try:
            await sim.start(timeout=30)
        except TimeoutError:
            await sim.stop()
            return None
        with contextlib.suppress(asyncio.CancelledError):
            await sim.charge(
                1, args.id_tag, EV(soc_percent=args.soc), args.target, None, args.parking
            )
        await sim.stop()
        return list(sim.completed_sessions)

    records = asyncio.run(session())
    if records is None:
        return _fail(f"could not connect and boot at {args.url}/{args.id} within 30 s")
    _print_records(records, args.json)
    return 0


def _print_records(records: list[Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps([r.to_dict() for r in records], indent=2))
        return
    for r in records:
        print(
            f"{r.charger_id} #{r.connector_id} {r.id_tag} tx {r.transaction_id}: "
            f"{r.started_at:%Y-%m-%d %H:%M:%S} -> {r.stopped_at:%H:%M:%S} {r.energy_wh} Wh, "
            f"charging {r.charging_s} s, parking {r.parking_s} s"
        )
    print(f"{len(records)} sessions")
