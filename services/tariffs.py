"""Versioned tariffs: create one (for a site or every site), edit it (a new version).

The tariff arrives parsed (tariffs.parse_tariff or parse_simple_tariff: the engine's
TariffError names the field); what is stored is the engine's own JSON of it, so a stored
version always parses again and its numbers stay exact.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.context import Actor
from store import admin, audit, tariff_store
from tariffs import Tariff, TariffError, check_tariff, dumps, parse_simple_tariff
from tariffs import tariff_to_json as to_json

FormError = TariffError  # what a tariff the engine refuses raises (it names the field)


def simple_form(
    energy: Decimal | None, per_hour: Decimal | None, vat: Decimal | None, currency: str
) -> Tariff:
    """The portal's simple tariff: a price per kWh, per hour charging, or both (excl. VAT)."""
    terms = [f"{energy} per kWh"] if energy is not None else []
    terms += [f"{per_hour} per hour"] if per_hour is not None else []
    if not terms:
        raise TariffError("energy", "give a price per kWh, a price per hour, or both")
    return parse_simple_tariff(" + ".join(terms), currency, vat)


def stored_text(tariff: Tariff) -> str:
    """The OCPI JSON text a version stores."""
    return dumps(to_json(tariff), indent=None)


def require_currency(tariff: Tariff, currency: str, whose: str) -> None:
    if tariff.currency != currency:
        raise TariffError("currency", f"must be {whose} currency {currency}, not {tariff.currency}")


def owner_site(actor: Actor, site_id: str | None) -> str | None:
    """The site a new tariff belongs to: admins create for their site; None means global."""
    if site_id is None:
        if actor.is_super:
            return None
        site_id = actor.site_id
        if site_id is None:
            actor.check_super("only a super-admin may create a tariff for every site")
    actor.check_write(site_id)
    return site_id


async def create(
    conn: AsyncConnection, actor: Actor, tariff: Tariff, *, site_id: str | None, name: str = ""
) -> dict[str, Any]:
    """A new tariff with its first version: ids, version number and the engine's warnings.

    ``site_id`` is the owner as ``owner_site`` decided it (None: every site).
    """
    if site_id is None:
        actor.check_super("only a super-admin may create a tariff for every site")
    else:
        actor.check_write(site_id)
        site = await admin.get_site(conn, site_id)
        require_currency(tariff, site["currency"], f"site {site_id}'s")
    text = stored_text(tariff)
    ids = await tariff_store.create_tariff(
        conn,
        site_id=site_id,
        name=name,
        currency=tariff.currency,
        ocpi_text=text,
        created_by=actor.label,
    )
    await audit.record(
        conn,
        actor.label,
        "tariff.create",
        "tariff",
        ids["id"],
        site_id=site_id,
        after={**ids, "ocpi": text, "name": name},
    )
    return {**ids, "warnings": check_tariff(tariff)}


async def readable(conn: AsyncConnection, actor: Actor, tariff_id: int) -> dict[str, Any]:
    """The tariff with every version, if the actor may see it (a global one: everyone)."""
    row = await tariff_store.get_tariff(conn, tariff_id)
    if row["site_id"] is not None:
        actor.check_read(row["site_id"])
    return row


def check_edit(actor: Actor, row: dict[str, Any]) -> None:
    if row["site_id"] is None:
        actor.check_super("only a super-admin may edit a tariff of every site")
    else:
        actor.check_write(row["site_id"])


async def add_version(
    conn: AsyncConnection, actor: Actor, tariff_id: int, tariff: Tariff
) -> dict[str, Any]:
    """Edit a tariff: ``tariff`` becomes its current version (running sessions keep theirs)."""
    row = await readable(conn, actor, tariff_id)
    check_edit(actor, row)
    require_currency(tariff, row["currency"], "the tariff's")
    text = stored_text(tariff)
    ids = await tariff_store.add_version(conn, tariff_id, text, actor.label)
    await audit.record(
        conn,
        actor.label,
        "tariff.update",
        "tariff",
        tariff_id,
        site_id=row["site_id"],
        before={"version_id": row["current_version_id"]},
        after={**ids, "ocpi": text},
    )
    return {**ids, "warnings": check_tariff(tariff)}
