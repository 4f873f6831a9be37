"""OCPI 2.2.1 Tariff JSON in and out, with errors that name the bad field's path.

Unknown fields inside elements, components and restrictions are refused (a misspelt
``max_kwhs`` silently ignored would misprice every session); unknown top-level fields are kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from tariffs.errors import TariffError
from tariffs.model import (
    DayOfWeek,
    Dimension,
    DisplayText,
    Price,
    PriceComponent,
    ReservationRestriction,
    Restrictions,
    Tariff,
    TariffElement,
    TariffType,
)
from tariffs.numbers import to_decimal, to_int

_TIME_RE = re.compile(r"([0-1][0-9]|2[0-3]):[0-5][0-9]")
_DATE_RE = re.compile(r"([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?")

_TOP_FIELDS = (
    "country_code", "party_id", "id", "currency", "type", "tariff_alt_text", "tariff_alt_url",
    "min_price", "max_price", "elements", "start_date_time", "end_date_time", "energy_mix",
    "last_updated",
)  # fmt: skip
_RESTRICTION_FIELDS = tuple(Restrictions.__dataclass_fields__)
_E = TypeVar("_E", bound=StrEnum)


def parse_tariff(obj: object) -> Tariff:
    """Validate an OCPI 2.2.1 Tariff object (a dict from JSON) and build the model."""
    top = _mapping(obj, "")
    if "currency" not in top:
        raise TariffError("currency", "is required")
    currency = _string(top["currency"], "currency")
    if not _CURRENCY_RE.fullmatch(currency):
        raise TariffError("currency", "must be an ISO 4217 code of 3 capital letters")
    if "elements" not in top:
        raise TariffError("elements", "is required")
    elements = _list(top["elements"], "elements", allow_empty=False)
    tariff = Tariff(
        currency=currency,
        elements=tuple(_element(e, f"elements[{i}]") for i, e in enumerate(elements)),
        id=_opt(top, "id", lambda v, p: _string(v, p, max_len=36)),
        country_code=_opt(top, "country_code", lambda v, p: _string(v, p, max_len=2)),
        party_id=_opt(top, "party_id", lambda v, p: _string(v, p, max_len=3)),
        type=_opt(top, "type", lambda v, p: _enum(TariffType, v, p)),
        tariff_alt_text=_opt(top, "tariff_alt_text", _display_texts),
        tariff_alt_url=_opt(top, "tariff_alt_url", _string),
        min_price=_opt(top, "min_price", _price),
        max_price=_opt(top, "max_price", _price),
        start_date_time=_opt(top, "start_date_time", _datetime),
        end_date_time=_opt(top, "end_date_time", _datetime),
        energy_mix=_opt(top, "energy_mix", _mapping),
        last_updated=_opt(top, "last_updated", _datetime),
        extra=tuple((k, v) for k, v in top.items() if k not in _TOP_FIELDS),
    )
    _check_price_bounds(tariff)
    return tariff


def tariff_to_json(tariff: Tariff) -> dict[str, Any]:
    """The OCPI JSON object of a tariff (numbers as Decimal; write it with numbers.dumps)."""
    out: dict[str, Any] = {}
    for name in ("country_code", "party_id", "id"):
        _put(out, name, getattr(tariff, name))
    out["currency"] = tariff.currency
    _put(out, "type", tariff.type.value if tariff.type else None)
    if tariff.tariff_alt_text is not None:
        out["tariff_alt_text"] = [
            {"language": t.language, "text": t.text} for t in tariff.tariff_alt_text
        ]
    _put(out, "tariff_alt_url", tariff.tariff_alt_url)
    _put(out, "min_price", _price_json(tariff.min_price))
    _put(out, "max_price", _price_json(tariff.max_price))
    out["elements"] = [_element_json(e) for e in tariff.elements]
    for name in ("start_date_time", "end_date_time", "energy_mix", "last_updated"):
        _put(out, name, getattr(tariff, name))
    out.update(tariff.extra)
    return out


def price_json(price: Price) -> dict[str, Any]:
    """An OCPI Price object."""
    out: dict[str, Any] = {"excl_vat": price.excl_vat}
    _put(out, "incl_vat", price.incl_vat)
    return out


# --- reading ---------------------------------------------------------------------------------


def _element(obj: object, path: str) -> TariffElement:
    raw = _mapping(obj, path)
    _no_unknown(raw, path, ("price_components", "restrictions"))
    if "price_components" not in raw:
        raise TariffError(f"{path}.price_components", "is required")
    comps = _list(raw["price_components"], f"{path}.price_components", allow_empty=False)
    components = tuple(_component(c, f"{path}.price_components[{i}]") for i, c in enumerate(comps))
    restrictions = _opt(raw, "restrictions", lambda v, p: _restrictions(v, p), path)
    if restrictions is not None and restrictions.reservation is not None:
        for i, c in enumerate(components):
            if c.type not in (Dimension.FLAT, Dimension.TIME):
                raise TariffError(
                    f"{path}.price_components[{i}].type",
                    "a reservation element can only have FLAT and TIME components",
                )
    return TariffElement(components, restrictions)


def _component(obj: object, path: str) -> PriceComponent:
    raw = _mapping(obj, path)
    _no_unknown(raw, path, ("type", "price", "vat", "step_size"))
    for name in ("type", "price", "step_size"):
        if name not in raw:
            raise TariffError(f"{path}.{name}", "is required")
    return PriceComponent(
        type=_enum(Dimension, raw["type"], f"{path}.type"),
        price=to_decimal(raw["price"], f"{path}.price"),
        # 0 is published by real CPOs (FLAT components often carry it): read as no rounding,
        # kept as given, and `check_tariff` warns
        step_size=to_int(
            raw["step_size"],
            f"{path}.step_size",
            minimum=0,
            what="must be a non-negative integer (0: no rounding)",
        ),
        vat=_opt(raw, "vat", lambda v, p: to_decimal(v, p), path),
    )


def _restrictions(obj: object, path: str) -> Restrictions:
    raw = _mapping(obj, path)
    _no_unknown(raw, path, _RESTRICTION_FIELDS)
    num = _opt_num(raw, path)
    r = Restrictions(
        start_time=_opt(raw, "start_time", _time_of_day, path),
        end_time=_opt(raw, "end_time", _time_of_day, path),
        start_date=_opt(raw, "start_date", _date, path),
        end_date=_opt(raw, "end_date", _date, path),
        min_kwh=num("min_kwh"),
        max_kwh=num("max_kwh"),
        min_current=num("min_current"),
        max_current=num("max_current"),
        min_power=num("min_power"),
        max_power=num("max_power"),
        min_duration=_opt(raw, "min_duration", lambda v, p: to_int(v, p), path),
        max_duration=_opt(raw, "max_duration", lambda v, p: to_int(v, p), path),
        day_of_week=_opt(raw, "day_of_week", _days, path),
        reservation=_opt(raw, "reservation", _reservation, path),
    )
    for low, high in (
        ("start_date", "end_date"), ("min_kwh", "max_kwh"), ("min_current", "max_current"),
        ("min_power", "max_power"), ("min_duration", "max_duration"),
    ):  # fmt: skip
        lo, hi = getattr(r, low), getattr(r, high)
        if lo is not None and hi is not None and lo >= hi:
            raise TariffError(f"{path}.{high}", f"must be greater than {low}")
    return r


def _check_price_bounds(t: Tariff) -> None:
    if t.min_price is None or t.max_price is None:
        return
    if t.min_price.excl_vat > t.max_price.excl_vat:
        raise TariffError("max_price.excl_vat", "must not be lower than min_price.excl_vat")
    lo, hi = t.min_price.incl_vat, t.max_price.incl_vat
    if lo is not None and hi is not None and lo > hi:
        raise TariffError("max_price.incl_vat", "must not be lower than min_price.incl_vat")


def _price(obj: object, path: str) -> Price:
    raw = _mapping(obj, path)
    _no_unknown(raw, path, ("excl_vat", "incl_vat"))
    if "excl_vat" not in raw:
        raise TariffError(f"{path}.excl_vat", "is required")
    excl = to_decimal(raw["excl_vat"], f"{path}.excl_vat")
    incl = _opt(raw, "incl_vat", lambda v, p: to_decimal(v, p), path)
    if incl is not None and incl < excl:
        raise TariffError(f"{path}.incl_vat", "must not be lower than excl_vat")
    return Price(excl, incl)


def _display_texts(obj: object, path: str) -> tuple[DisplayText, ...]:
    out = []
    for i, item in enumerate(_list(obj, path)):
        p = f"{path}[{i}]"
        raw = _mapping(item, p)
        _no_unknown(raw, p, ("language", "text"))
        for name in ("language", "text"):
            if name not in raw:
                raise TariffError(f"{p}.{name}", "is required")
        out.append(
            DisplayText(
                _string(raw["language"], f"{p}.language", max_len=2),
                _string(raw["text"], f"{p}.text", max_len=512),
            )
        )
    return tuple(out)


def _reservation(obj: object, path: str) -> ReservationRestriction:
    return _enum(ReservationRestriction, obj, path)


def _days(obj: object, path: str) -> tuple[DayOfWeek, ...]:
    days = tuple(_enum(DayOfWeek, d, f"{path}[{i}]") for i, d in enumerate(_list(obj, path)))
    if len(set(days)) != len(days):
        raise TariffError(path, "lists a day twice")
    return days


def _time_of_day(obj: object, path: str) -> time:
    text = _string(obj, path)
    if not _TIME_RE.fullmatch(text):
        raise TariffError(path, f"must be a time of day HH:MM (00:00 to 23:59), not {text!r}")
    return time(int(text[:2]), int(text[3:]))


def _date(obj: object, path: str) -> date:
    text = _string(obj, path)
    try:
        if not _DATE_RE.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise TariffError(path, f"must be a date YYYY-MM-DD, not {text!r}") from None


def _datetime(obj: object, path: str) -> str:
    text = _string(obj, path)
    try:
        if not _DATETIME_RE.fullmatch(text):
            raise ValueError
        datetime.fromisoformat(text.removesuffix("Z"))
    except ValueError:
        problem = f"must be an OCPI DateTime like 2015-06-29T20:39:09Z, not {text!r}"
        raise TariffError(path, problem) from None
    return text


def _enum(kind: type[_E], obj: object, path: str) -> _E:
    if isinstance(obj, str):
        try:
            return kind(obj)
        except ValueError:
            pass
    allowed = ", ".join(m.value for m in kind)
    raise TariffError(path, f"must be one of {allowed}, not {obj!r}")


def _string(obj: object, path: str, max_len: int | None = None) -> str:
    if not isinstance(obj, str):
        raise TariffError(path, "must be a string")
    if max_len is not None and len(obj) > max_len:
        raise TariffError(path, f"must be at most {max_len} characters")
    return obj


def _mapping(obj: object, path: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise TariffError(path or "tariff", "must be a JSON object")
    return obj


def _list(obj: object, path: str, allow_empty: bool = True) -> list[Any]:
    if not isinstance(obj, list | tuple):
        raise TariffError(path, "must be a list")
    if not allow_empty and not obj:
        raise TariffError(path, "must not be empty")
    return list(obj)


def _no_unknown(raw: Mapping[str, Any], path: str, known: tuple[str, ...]) -> None:
    for key in raw:
        if key not in known:
            raise TariffError(f"{path}.{key}", "unknown field")


_T = TypeVar("_T")


def _opt(
    raw: Mapping[str, Any], name: str, read: Callable[[Any, str], _T], parent: str = ""
) -> _T | None:
    """Read an optional field; an explicit JSON null counts as absent."""
    value = raw.get(name)
    if value is None:
        return None
    return read(value, f"{parent}.{name}" if parent else name)


def _opt_num(raw: Mapping[str, Any], parent: str) -> Callable[[str], Decimal | None]:
    return lambda name: _opt(raw, name, lambda v, p: to_decimal(v, p), parent)


# --- writing ---------------------------------------------------------------------------------


def _put(out: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        out[name] = value


def _price_json(price: Price | None) -> dict[str, Any] | None:
    return None if price is None else price_json(price)


def _element_json(e: TariffElement) -> dict[str, Any]:
    out: dict[str, Any] = {"price_components": [_component_json(c) for c in e.price_components]}
    if e.restrictions is not None:
        out["restrictions"] = _restrictions_json(e.restrictions)
    return out


def _component_json(c: PriceComponent) -> dict[str, Any]:
    out: dict[str, Any] = {"type": c.type.value, "price": c.price}
    _put(out, "vat", c.vat)
    out["step_size"] = c.step_size
    return out


def _restrictions_json(r: Restrictions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _RESTRICTION_FIELDS:
        value = getattr(r, name)
        if value is None:
            continue
        if isinstance(value, time):
            value = value.strftime("%H:%M")
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, StrEnum):
            value = value.value
        elif isinstance(value, tuple):
            value = [d.value for d in value]
        out[name] = value
    return out
