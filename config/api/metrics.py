"""`/metrics` in the Prometheus text format, read from live figures at scrape time.

Each app has its own CollectorRegistry (several apps may live in one test process); the
gateway's per-call counters (gateway.connection.STATS) cost the hot path nothing extra here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from config.api.context import ApiContext, api_context, reading
from gateway.connection import STATS, CallStats
from store import presence, session_views

router = APIRouter(tags=["health"])


class GatewayCollector(Collector):
    def __init__(self, ctx: ApiContext, stats: CallStats = STATS) -> None:
        self.ctx = ctx
        self.stats = stats
        self.sessions_open = 0  # refreshed from the database before each scrape

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "evgate_chargers_connected",
            "chargers holding a WebSocket to this process",
            value=len(self.ctx.registry),
        )
        yield GaugeMetricFamily(
            "evgate_sessions_open", "sessions started and not stopped", value=self.sessions_open
        )
        messages = CounterMetricFamily(
            "evgate_ocpp_messages", "OCPP calls received from chargers", labels=["action"]
        )
        for action, count in sorted(self.stats.by_action.items()):
            messages.add_metric([action], count)
        yield messages
        cumulative, buckets = 0, []
        for bound, count in zip(
            (*(str(b) for b in CallStats.BOUNDS), "+Inf"), self.stats.buckets, strict=True
        ):
            cumulative += count
            buckets.append((bound, cumulative))
        yield HistogramMetricFamily(
            "evgate_ocpp_ack_latency_seconds",
            "from a charger's call received to its answer sent (after the commit)",
            buckets=buckets,
            sum_value=self.stats.latency_sum,
        )


def install(app_state: object, ctx: ApiContext) -> GatewayCollector:
    registry = CollectorRegistry(auto_describe=False)
    collector = GatewayCollector(ctx)
    registry.register(collector)
    app_state.metrics_registry = registry  # type: ignore[attr-defined]
    app_state.metrics_collector = collector  # type: ignore[attr-defined]
    return collector


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    collector: GatewayCollector = request.app.state.metrics_collector
    async with reading(request) as conn:
        collector.sessions_open = await session_views.open_session_count(conn)
    body = generate_latest(request.app.state.metrics_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", summary="liveness and the number of connected chargers")
async def healthz(request: Request) -> dict[str, object]:
    """``chargers_connected``: sockets this instance holds; ``chargers_online``: chargers with
    a socket open on any live instance (store.presence)."""
    async with reading(request) as conn:
        anywhere = await presence.online_count(conn, datetime.now(UTC))
    return {
        "status": "ok",
        "chargers_connected": len(api_context(request).registry),
        "chargers_online": anywhere,
    }
