"""The page an invitation's mail links to: whom it is for, and a form that accepts it (the
same services.subscribers.accept as the API's POST, so the audit and the local lists are the
same) and opens the new subscriber's page: the invitation's token proved the mailbox, as a
sign-in link does."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from portal import i18n
from portal.web import (
    ROUTER,
    engine,
    form,
    page,
    render,
    status_of,
    subscriber_signed_in,
)
from services import portal_auth, subscribers
from store.errors import Conflict, EvgateError


async def _form(
    request: Request,
    token: str,
    inv: dict[str, Any],
    status: int = 200,
    message: str = "",
    **typed: str,
) -> Response:
    return await render(
        request,
        "invite.html",
        status=status,
        in_language=typed.get("language") or inv["language"],
        inv=inv,
        token=token,
        message=message,
        typed=typed,
    )


@ROUTER.get("/invite/{token}")
@page
async def invitation_page(request: Request, token: str) -> Response:
    async with engine(request).connect() as conn:
        inv = await subscribers.invitation(conn, token)  # unknown: NotFound, a 404 page
    if inv["accepted"]:
        return await _form(request, token, inv, 409, i18n.text(inv["language"], "invite_used"))
    return await _form(request, token, inv)


@ROUTER.post("/invite/{token}")
@page
async def accept_invitation(request: Request, token: str) -> Response:
    fields = await form(request)
    typed = {k: fields.get(k, "").strip() for k in ("name", "email", "language")}
    async with engine(request).connect() as conn:
        inv = await subscribers.invitation(conn, token)
    language = i18n.language_of(typed["language"] or inv["language"])
    try:
        async with engine(request).begin() as conn:
            row = await subscribers.accept(
                conn,
                token,
                name=typed["name"],
                email=typed["email"],
                language=language,
                payment_method="manual",  # a card can be registered on the subscriber's page
            )
            cookie = await portal_auth.open_subscriber_session(conn, int(row["id"]))
    except Conflict as exc:
        used = inv["accepted"] or "accepted" in str(exc)
        message = i18n.text(language, "invite_used") if used else str(exc)
        return await _form(request, token, inv, 409, message, **typed)
    except EvgateError as exc:  # a name left out, an e-mail that is not one, expired
        return await _form(request, token, inv, status_of(exc), str(exc), **typed)
    return subscriber_signed_in(request, cookie)
