"""`evgate serve`: the gateway on the main event loop; the config API, the billing scheduler,
the local-list push and their engine on a loop of their own, in a thread; billing runs in
processes of their own.

The loop that acknowledges charger messages does only OCPP. A request to the API, however
large or slow, and a month of billing, however big, cannot delay an acknowledgement: the API
runs on another loop (bodies are bounded and tokens checked before they are read, see
config/api/guard.py), and a billing run's CPU is another process's (config/billing_jobs.py).
The API reaches the chargers through the gateway's registry: a remote command is handed to the
gateway's loop and awaited from the API's.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import threading
from collections.abc import Callable
from contextlib import nullcontext, suppress
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

import config.api  # noqa: F401 - loaded before the OCPP port opens: the API is up right after it
from billing.scheduler import BillingScheduler
from config import compose
from config.billing_jobs import BillingJobs
from config.settings import Settings
from gateway.command_bus import CommandBus
from gateway.outbox import OutboxPublisher
from gateway.server import Gateway, GatewayOptions
from services.commands import CommandSender
from services.local_list_job import LocalListJob
from services.site_power import SiteSharer
from store import migrate

log = logging.getLogger("evgate")

# A young-generation collection once 100,000 more container objects are alive instead of
# 700. Under load ~100,000 objects are in flight at any moment (messages waiting for their
# group commit); a collection that finds them all alive promotes them, and the older
# generations are then walked again and again. A/B on the closed loop at N = 1,000, quiet
# machine: 700 -> 20,000 took 220 -> 160 µs per message, 20,000 -> 100,000 160 -> 135 µs.
GC_THRESHOLDS = (100_000, 20, 20)


def tune_gc() -> None:
    """Freeze what start-up built (modules, schema, the app) so collections skip it."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class LoopBridge:
    """A command sender living on another loop: each call runs where the sockets are."""

    def __init__(self, sender: CommandSender, loop: asyncio.AbstractEventLoop) -> None:
        self.sender, self.loop = sender, loop

    async def call(
        self, charger_id: str, action: str, payload: dict[str, Any], timeout: float = 30
    ) -> dict[str, Any]:
        future = asyncio.run_coroutine_threadsafe(
            self.sender.call(charger_id, action, payload, timeout), self.loop
        )
        return await asyncio.wrap_future(future)


class ApiThread:
    """The config API, the billing scheduler and the local-list push on their own loop, with
    their own engine."""

    def __init__(self, settings: Settings, app_of: Callable[[AsyncEngine], FastAPI]) -> None:
        self.settings, self.app_of = settings, app_of
        self.server: uvicorn.Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.failed: BaseException | None = None
        self._up = threading.Event()
        self._thread = threading.Thread(target=self._main, name="evgate-api", daemon=True)

    def start(self) -> None:
        """Start, and return once the API listens (OSError when it cannot)."""
        self._thread.start()
        self._up.wait()
        if self.failed is not None or self.server is None or not self.server.started:
            raise OSError(
                f"config API could not listen on {self.settings.host}:{self.settings.api_port}"
                + (f": {self.failed}" if self.failed else "")
            )

    def stop(self) -> None:
        if self.server is not None and self.loop is not None:
            server = self.server
            self.loop.call_soon_threadsafe(setattr, server, "should_exit", True)
        self._thread.join(30)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported to start() / the log
            self.failed = exc
            log.exception("config API stopped")
        finally:
            self._up.set()

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        engine = compose.engine(self.settings)
        app = self.app_of(engine)
        jobs: BillingJobs = app.state.billing_jobs
        # invoices on the 1st in each site's time zone, daily dunning (one instance at a time
        # works a tick: advisory lock); the runs themselves in processes of their own
        cards = compose.stripe_payments(self.settings)
        scheduler = BillingScheduler(
            engine,
            payer=cards.charge_period if cards is not None else None,
            runner=jobs.run,
            cards=cards.daily if cards is not None else None,
        )
        # local authorization lists pushed to the chargers of sites whose tokens changed (one
        # instance at a time: advisory lock); its commands cross to the gateway's loop
        lists = LocalListJob(engine, app.state.evgate.sender)
        # queued mails out over SMTP (one instance at a time: advisory lock); no host: they wait
        mailer = compose.mail_sender(self.settings, engine)
        if mailer is None:
            log.warning("no EVGATE_SMTP_HOST set: e-mails are queued in mail_outbox, not sent")
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=self.settings.host,
                port=self.settings.api_port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        # uvicorn (>= 0.29) would take SIGTERM/SIGINT; the main thread stops every part
        self.server.capture_signals = nullcontext  # type: ignore[method-assign,assignment]
        serving = asyncio.create_task(self.server.serve())
        while not self.server.started and not serving.done():
            await asyncio.sleep(0.01)
        if self.server.started:
            scheduler.start()
            lists.start()
            if mailer is not None:
                mailer.start()
        self._up.set()
        try:
            await serving
        finally:
            await scheduler.close()
            await lists.close()
            if mailer is not None:
                await mailer.close()
            await jobs.close()
            await engine.dispose()


async def run(settings: Settings, ready: asyncio.Event | None = None) -> None:
    engine = compose.engine(settings)
    await migrate.upgrade(engine)
    gateway = Gateway(
        engine,
        GatewayOptions(
            host=settings.host,
            port=settings.ocpp_port,
            unknown_chargers=settings.unknown_chargers,
            heartbeat_interval=settings.heartbeat_interval,
            max_connections=settings.max_connections or None,
            tls_cert=settings.tls_cert,
            tls_key=settings.tls_key,
            tls_client_ca=settings.tls_client_ca,
        ),
        signer=compose.csr_signer(settings),
    )
    bus = publisher = None
    if settings.mqtt_url:  # events out, and commands to chargers held by other instances
        publisher = OutboxPublisher(engine, settings.mqtt_url, prefix=settings.mqtt_prefix)
        gateway.committer.after_commit.append(publisher.wake)
        bus = CommandBus(gateway.registry, settings.mqtt_url, prefix=settings.mqtt_prefix)
    sender: CommandSender = bus if bus is not None else gateway.registry
    bridge = LoopBridge(sender, asyncio.get_running_loop())
    # a site's power limit is re-shared after a session starts or stops, on this loop, in a
    # task of its own (the acknowledgement goes first)
    sharer = SiteSharer(engine, sender)
    gateway.service.session_hooks.append(sharer.changed)
    api = ApiThread(
        settings,
        lambda api_engine: compose.api_app(
            settings, api_engine, gateway.registry, command_sender=bridge
        ),
    )
    try:  # the API first: whoever sees the OCPP port open finds the API up too
        await asyncio.to_thread(api.start)
    except OSError:
        api.stop()
        await engine.dispose()
        raise
    await gateway.start()
    for part in (publisher, bus):
        if part is not None:
            part.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    tune_gc()
    log.info(
        "evgate ready",
        extra={
            "ocpp": gateway.url(settings.host),
            "api": f"http://{settings.host}:{settings.api_port}",
        },
    )
    print(
        f"evgate: OCPP on {gateway.url(settings.host)}, "
        f"API on http://{settings.host}:{settings.api_port}",
        flush=True,
    )
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        log.info("evgate stopping")
        await asyncio.to_thread(api.stop)
        await sharer.close()
        for part in (bus, publisher):
            if part is not None:
                await part.close()
        await gateway.close()
        await engine.dispose()
