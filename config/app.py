"""`evgate serve`: the gateway and the config API in one event loop, stopped together.

The API (config.api) gets the gateway's registry, so remote commands go straight to the
sockets this process holds and /healthz and /metrics count them.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from contextlib import nullcontext, suppress

import uvicorn

import config.api  # noqa: F401 - loaded before the OCPP port opens: the API is up right after it
from billing.scheduler import BillingScheduler
from config import compose
from config.settings import Settings
from gateway.command_bus import CommandBus
from gateway.outbox import OutboxPublisher
from gateway.server import Gateway, GatewayOptions
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
        ),
    )
    await gateway.start()
    bus = publisher = None
    if settings.mqtt_url:  # events out, and commands to chargers held by other instances
        publisher = OutboxPublisher(engine, settings.mqtt_url, prefix=settings.mqtt_prefix)
        gateway.committer.after_commit.append(publisher.wake)
        publisher.start()
        bus = CommandBus(gateway.registry, settings.mqtt_url, prefix=settings.mqtt_prefix)
        bus.start()
    # invoices on the 1st in each site's time zone, daily dunning; autopay through Stripe when
    # a Stripe key is set (one instance at a time works a tick: advisory lock)
    scheduler = BillingScheduler(engine, payer=compose.payer(settings))
    scheduler.start()
    api_server = uvicorn.Server(
        uvicorn.Config(
            compose.api_app(settings, engine, gateway.registry, command_sender=bus),
            host=settings.host,
            port=settings.api_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
    )
    # uvicorn (>= 0.29) would take SIGTERM/SIGINT inside serve(); ours stop every part in order
    api_server.capture_signals = nullcontext  # type: ignore[method-assign,assignment]
    api_task = asyncio.create_task(api_server.serve())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    while not api_server.started and not api_task.done():
        await asyncio.sleep(0.01)
    if api_task.done():
        await scheduler.close()
        await gateway.close()
        await engine.dispose()
        api_task.result()
        raise OSError(f"config API could not listen on {settings.host}:{settings.api_port}")
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
        api_server.should_exit = True
        await scheduler.close()
        for part in (bus, publisher):
            if part is not None:
                await part.close()
        await gateway.close()
        with suppress(Exception):
            await api_task
        await engine.dispose()
