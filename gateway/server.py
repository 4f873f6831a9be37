"""The OCPP WebSocket server: accept, authenticate, negotiate, then hand over to a connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket as socket_module
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from gateway import versions
from gateway.auth import FailureThrottle, PasswordCache, parse_basic_auth
from gateway.connection import CLOSE_POLICY, ChargerConnection, ConnectionRegistry
from gateway.csr_signing import CsrSigner
from gateway.ocpp16 import Ocpp16Adapter
from gateway.ocpp201 import Ocpp201Adapter
from gateway.security_profiles import DEFAULT_PROFILE, decide, peer_of, server_context
from gateway.service import ChargerContext, ChargingService
from gateway.ws_server import Socket, WsServer
from store import charging as db
from store import presence
from store.batcher import GroupCommitter

log = logging.getLogger("evgate.gateway")

MAX_WS_MESSAGE = 256 * 1024  # read up to this so an oversized frame still gets a CallError


@dataclass(frozen=True)
class GatewayOptions:
    host: str = "127.0.0.1"
    port: int = 9000
    unknown_chargers: str = "reject"  # reject | pending
    heartbeat_interval: int = 300
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None  # ask for client certificates it signed (profile 3)
    ping_interval: float | None = 60  # ping a socket idle this long; drop it after two
    open_timeout: float = 10  # seconds for the opening handshake
    max_connections: int | None = None  # default: the open-file limit less a reserve


class Gateway:
    def __init__(
        self, engine: AsyncEngine, options: GatewayOptions, signer: CsrSigner | None = None
    ) -> None:
        if options.unknown_chargers not in ("reject", "pending"):
            raise ValueError("unknown_chargers must be 'reject' or 'pending'")
        self.engine = engine
        self.options = options
        self.committer = GroupCommitter(engine)
        self.service = ChargingService(engine, self.committer)
        self.adapter = Ocpp16Adapter(self.service, options.heartbeat_interval)
        self.adapter201 = Ocpp201Adapter(self.service, options.heartbeat_interval, signer)
        self.registry = ConnectionRegistry()
        self.passwords = PasswordCache()
        self.host = socket_module.gethostname()
        self._beating: asyncio.Task[None] | None = None
        # wrong passwords: per charger id after 5, per address (chargers behind one NAT) after 50
        self.throttles = (FailureThrottle(free=5), FailureThrottle(free=50))
        self._server: WsServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.port

    def url(self, host: str) -> str:
        """Where chargers connect: wss:// when this gateway serves TLS."""
        scheme = "wss" if self.options.tls_cert else "ws"
        return f"{scheme}://{host}:{self.port}/ocpp/{{charger_id}}"

    async def start(self) -> None:
        self.committer.start()
        await self.service.beat(self.host)  # this instance is alive before its first socket
        self._beating = asyncio.create_task(self._beat(), name="evgate-presence-beat")
        o, ssl_context = self.options, None
        if o.tls_cert:
            ssl_context = server_context(o.tls_cert, o.tls_key, o.tls_client_ca)
        self._server = WsServer(
            self._admit,
            self._open,
            subprotocols=list(versions.SPOKEN),
            max_size=MAX_WS_MESSAGE,
            ping_interval=self.options.ping_interval,
            open_timeout=self.options.open_timeout,
            max_sockets=self.options.max_connections,
        )
        await self._server.start(self.options.host, self.options.port, ssl_context)
        log.info(
            "ocpp listening",
            extra={"host": self.options.host, "port": self.port, "tls": bool(ssl_context)},
        )

    async def close(self) -> None:
        if self._beating is not None:
            self._beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beating
            self._beating = None
        if self._server is not None:
            await self._server.close()  # records every disconnect before the store stops
            self._server = None
        await self.committer.close()
        with contextlib.suppress(Exception):  # the store may be going down with us
            await self.service.leave()

    async def _beat(self) -> None:
        """The heartbeat of store.presence: others count our chargers online while it beats."""
        while True:
            await asyncio.sleep(presence.BEAT.total_seconds())
            try:
                await self.service.beat(self.host)
            except Exception:  # the next beat tries again; STALE allows for a few missed
                log.warning("presence heartbeat failed", exc_info=True)
            try:
                await self.recheck()
            except Exception:  # the database away: the next beat checks again
                log.warning("security profile recheck failed", exc_info=True)

    async def recheck(self) -> int:
        """Close the sockets their site's security profile no longer admits (a profile
        raised since they connected: a ws:// socket once the site needs TLS, a password-only
        one once it needs a client certificate); how many were closed. Runs at every
        presence beat, so a change made on any instance applies within one beat here."""
        if not len(self.registry):
            return 0
        async with self.engine.connect() as db_conn:
            profiles = await db.security_profiles(db_conn)
        closed = 0
        for charger_id in self.registry.ids():
            conn = self.registry.get(charger_id)
            site_id = conn.ctx.site_id if conn is not None else None
            if conn is None or site_id is None:
                continue
            ctx = conn.ctx
            profile = profiles.get(site_id, DEFAULT_PROFILE)
            admission = decide(ctx.peer_cert, charger_id, profile, ctx.tls)
            if not admission.allowed:
                log.info(
                    "security profile closed a socket",
                    extra={"charger": charger_id, "reason": admission.reason},
                )
                reason = admission.reason.encode()[:123].decode(errors="ignore")  # RFC 6455
                conn.socket.close(CLOSE_POLICY, reason)
                closed += 1
        return closed

    # -- handshake ------------------------------------------------------------------------
    @staticmethod
    def _refuse(status: HTTPStatus, text: str, headers: dict[str, str] | None = None) -> Response:
        body = (text + "\n").encode()
        hdrs = Headers(
            {
                "Content-Type": "text/plain; charset=utf-8",
                "Content-Length": str(len(body)),
                "Connection": "close",
            }
        )
        for key, value in (headers or {}).items():
            hdrs[key] = value
        return Response(status.value, status.phrase, hdrs, body)

    async def _admit(self, socket: Socket, request: Request) -> Response | ChargerContext:
        """Who is knocking: a refusal, or the charger's context to open the socket with."""
        parts = [p for p in urlsplit(request.path).path.split("/") if p]
        if len(parts) == 2 and parts[0] == "ocpp" or len(parts) == 1:
            charger_id = unquote(parts[-1])
        else:
            return self._refuse(HTTPStatus.NOT_FOUND, "connect to ws://HOST:PORT/ocpp/{charger_id}")
        offers = versions.offered(request.headers.get_all("Sec-WebSocket-Protocol"))
        if versions.choose(offers, None) is None:
            offered = ",".join(offers)
            log.info(
                "subprotocol refused",
                extra={"charger": charger_id, "offered": offered or None, "speaks": "both"},
            )
            return self._refuse(
                HTTPStatus.BAD_REQUEST,
                f"evgate speaks OCPP 1.6J and 2.0.1: offer the WebSocket subprotocol "
                f"'{versions.OCPP16}' or '{versions.OCPP201}' (offered: {offered or 'none'})",
            )
        # the charger and what its connection needs to know (open sessions, recent stops),
        # read before the upgrade so that the first message finds it ready; lookups of
        # chargers connecting at the same time share one round trip
        charger, ctx = await self.service.lookup(charger_id)
        if charger is None:
            if self.options.unknown_chargers != "pending":
                log.info("unknown charger refused", extra={"charger": charger_id})
                return self._refuse(
                    HTTPStatus.FORBIDDEN, f"unknown charger {charger_id!r}: register it first"
                )
            await self._register_pending(charger_id)
            charger, ctx = await self.service.lookup(charger_id)
            assert charger is not None and ctx is not None
        profile = charger.get("security_profile") or DEFAULT_PROFILE
        is_tls, peer_cert = peer_of(socket.transport)
        admission = decide(peer_cert, charger_id, profile, is_tls)
        if not admission.allowed:
            log.info(
                "security profile refused",
                extra={"charger": charger_id, "reason": admission.reason},
            )
            return self._refuse(HTTPStatus.FORBIDDEN, admission.reason)
        credentials = parse_basic_auth(request.headers.get("Authorization"))
        if not admission.password_needed:
            pass  # its client certificate names it
        elif charger["password_hash"]:
            refused = await self._check_password(socket, charger_id, charger, credentials)
            if refused is not None:
                return refused
        elif not charger["allow_passwordless"] and charger["state"] != "pending":
            return self._refuse(
                HTTPStatus.UNAUTHORIZED,
                f"charger {charger_id!r} has no password and its site does not allow "
                "password-less chargers",
                {"WWW-Authenticate": 'Basic realm="evgate", charset="UTF-8"'},
            )
        assert ctx is not None
        ctx.tls, ctx.peer_cert = is_tls, peer_cert
        # both offered: the version this charger spoke last (recorded on connect), else 2.0.1
        chosen = versions.choose(offers, charger.get("ocpp_version"))
        assert chosen is not None
        socket.ws.available_subprotocols = [chosen]  # type: ignore[list-item]
        ctx.ocpp_version = chosen
        return ctx

    async def _check_password(
        self,
        socket: Socket,
        charger_id: str,
        charger: dict[str, Any],
        credentials: tuple[str, str] | None,
    ) -> Response | None:
        """None when the charger proved its password; else 401, or 429 while its id or its
        address is locked out after repeated failures. A password that matched before is
        checked by its cached digest, so a charger is admitted even while someone else is
        guessing at its id; a new one costs a scrypt run, in a thread, off the event loop."""
        stored = charger["password_hash"]
        named = credentials is not None and credentials[0] == charger_id
        if named and credentials is not None and self.passwords.known(credentials[1], stored):
            return None
        peer = socket.transport.get_extra_info("peername") if socket.transport else None
        keys = (f"id:{charger_id}", f"ip:{peer[0] if peer else '?'}")
        wait = max(t.retry_after(k) for t, k in zip(self.throttles, keys, strict=True))
        if wait > 0:
            log.info("charger auth throttled", extra={"charger": charger_id, "wait_s": wait})
            return self._refuse(
                HTTPStatus.TOO_MANY_REQUESTS,
                "too many wrong passwords for this charger or address: try again later",
                {"Retry-After": str(math.ceil(wait))},
            )
        ok = named
        if ok and credentials is not None:
            loop = asyncio.get_running_loop()
            ok = await loop.run_in_executor(None, self.passwords.verify, credentials[1], stored)
        if ok:
            self.throttles[0].succeeded(keys[0])
            return None
        for throttle, key in zip(self.throttles, keys, strict=True):
            throttle.failed(key)
        log.info("charger auth failed", extra={"charger": charger_id})
        return self._refuse(
            HTTPStatus.UNAUTHORIZED,
            "wrong or missing password (HTTP Basic auth, user = charger id)",
            {"WWW-Authenticate": 'Basic realm="evgate", charset="UTF-8"'},
        )

    async def _register_pending(self, charger_id: str) -> None:
        try:
            async with self.engine.begin() as conn:
                await db.register_pending(conn, charger_id, datetime.now(UTC))
        except IntegrityError:
            pass  # registered by a parallel connection
        log.info("charger registered as pending", extra={"charger": charger_id})

    # -- connection -----------------------------------------------------------------------
    def _open(self, socket: Socket, ctx: ChargerContext) -> ChargerConnection:
        ctx.connection_id = uuid.uuid4().hex
        adapter = self.adapter201 if ctx.ocpp_version == versions.OCPP201 else self.adapter
        conn = ChargerConnection(socket, ctx, adapter, self._gone)
        old = self.registry.attach(conn)
        if old is not None:
            old.replaced()
        log.info("charger connected", extra={"charger": ctx.id})
        conn.start(self.service.connected(ctx))
        return conn

    async def _gone(self, conn: ChargerConnection) -> None:
        """After the socket closed and the call in hand was finished: record the disconnect."""
        ctx = conn.ctx
        self.registry.detach(conn)
        log.info("charger disconnected", extra={"charger": ctx.id, "messages": conn.messages})
        try:
            await self.service.disconnected(ctx)
        except Exception:  # the store may be going down with us
            log.warning("could not record disconnect", extra={"charger": ctx.id})
