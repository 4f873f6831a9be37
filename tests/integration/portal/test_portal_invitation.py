"""The page an invitation's mail links to: whom it is for in the invitee's language, a form
that accepts it (audited as the API's accept is) and opens the new subscriber's page; a used
invitation, an unknown one and a form left half empty each get a page that says so."""

from __future__ import annotations

import re

from sqlalchemy import select

from services import subscribers as subscriber_service
from services.context import CLI
from store.schema import audit_log, subscribers
from tests.integration.portal.conftest import Portal


async def invite(portal: Portal) -> str:
    async with portal.env.engine.begin() as conn:
        created = await subscriber_service.invite(
            conn,
            CLI,
            "S1",
            "kari@example.no",
            name="Kari Nordmann",
            language="nb",
            link_base="http://evgate.test",
        )
    link = str(created["link"])
    assert link == f"http://evgate.test/invite/{created['token']}"  # the portal, not JSON
    return link.removeprefix("http://evgate.test")


async def test_an_invitee_accepts_on_the_page_and_lands_on_their_page(portal: Portal) -> None:
    path = await invite(portal)
    page = await portal.client.get(path)
    assert page.status_code == 200 and 'lang="nb"' in page.text  # the invitee's language
    assert "Invitasjonen din" in page.text and "Månedlig betaling" in page.text
    assert 'value="kari@example.no"' in page.text and 'value="Kari Nordmann"' in page.text
    r = await portal.post(
        path,
        {"name": "Kari Nordmann", "email": "kari@example.no", "language": "da"},
        from_page=path,
    )
    assert r.status_code == 303 and r.headers["location"] == "/my", r.text
    assert "HttpOnly" in r.headers["set-cookie"]
    mine = await portal.client.get("/my")
    assert mine.status_code == 200 and 'lang="da"' in mine.text  # the language chosen
    assert "Min side" in mine.text and "Kari Nordmann" in mine.text
    async with portal.env.engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    select(subscribers).where(subscribers.c.email == "kari@example.no")
                )
            )
            .mappings()
            .one()
        )
        actions = [
            r[0]
            for r in await conn.execute(
                select(audit_log.c.actor).where(audit_log.c.action == "subscriber.accept")
            )
        ]
    assert (row["state"], row["payment_method"], row["language"]) == ("active", "manual", "da")
    assert actions == ["invitee"]
    # the link again: it says it was used (in the language chosen since), and where to get a
    # sign-in link instead
    again = await portal.client.get(path)
    assert again.status_code == 409 and "allerede accepteret" in again.text
    assert 'href="/my/sign-in"' in again.text and "kari@example.no" not in again.text


async def test_a_used_unknown_or_half_filled_invitation_says_so(portal: Portal) -> None:
    path = await invite(portal)
    empty = await portal.post(path, {"name": "", "email": "kari@example.no"}, from_page=path)
    assert empty.status_code == 422 and "name must not be empty" in empty.text
    assert 'value="kari@example.no"' in empty.text  # what was typed stays
    csrf = re.search(r'name="csrf" value="([^"]+)"', empty.text)
    assert csrf is not None
    ok = await portal.client.post(
        path, data={"csrf": csrf.group(1), "name": "Kari", "email": "kari@example.no"}
    )
    assert ok.status_code == 303
    twice = await portal.client.post(
        path, data={"csrf": csrf.group(1), "name": "Kari", "email": "kari@example.no"}
    )
    assert twice.status_code == 409 and "allerede godtatt" in twice.text
    unknown = await portal.client.get("/invite/inv_nothing")
    assert unknown.status_code == 404 and "no such invitation" in unknown.text
    forged = await portal.client.post(path, data={"name": "X", "email": "x@example.no"})
    assert forged.status_code == 403  # no CSRF token: refused before anything is read
