"""Warnings for a valid tariff that probably does not say what its author meant."""

from __future__ import annotations

from tariffs.model import Dimension, Tariff


def check_tariff(tariff: Tariff) -> list[str]:
    """Human-readable warnings, each starting with the path it is about."""
    warnings: list[str] = []
    for name in ("id", "country_code", "party_id", "last_updated"):
        if getattr(tariff, name) is None:
            warnings.append(f"{name}: required by OCPI 2.2.1 (needed when the tariff is sent)")
    warnings += _zero_steps(tariff)
    fallback: dict[Dimension, int] = {}  # dimension -> first unrestricted element
    restricted: dict[Dimension, list[int]] = {}
    for i, element in enumerate(tariff.elements):
        r = element.restrictions
        if r is not None and r.reservation is not None:
            continue  # reservation elements price reservations, not sessions
        seen: set[Dimension] = set()
        shadowed = []
        for j, comp in enumerate(element.price_components):
            if comp.type in seen:
                warnings.append(
                    f"elements[{i}].price_components[{j}]: a second {comp.type.value} component "
                    "in one element is never used"
                )
            seen.add(comp.type)
            if comp.type in fallback:
                shadowed.append(comp.type)
        live = seen - set(shadowed)
        if shadowed and not live:
            first = min(fallback[d] for d in shadowed)
            warnings.append(
                f"elements[{i}]: unreachable, elements[{first}] has no restrictions and comes "
                "first for " + ", ".join(sorted(d.value for d in seen))
            )
        if r is not None and r.start_time is not None and r.start_time == r.end_time:
            warnings.append(
                f"elements[{i}].restrictions.end_time: equal to start_time, read as all day"
            )
        for d in seen:
            if element.unrestricted:
                fallback.setdefault(d, i)
            elif d not in fallback:
                restricted.setdefault(d, []).append(i)
    for d, indexes in restricted.items():
        if d not in fallback:
            where = ", ".join(f"elements[{i}]" for i in indexes)
            warnings.append(
                f"{d.value}: no element without restrictions; outside the restrictions of "
                f"{where} this dimension is free"
            )
    return warnings


def _zero_steps(tariff: Tariff) -> list[str]:
    """step_size 0: not OCPI (a positive integer) but published by real CPOs; read as no
    rounding."""
    out = []
    for i, element in enumerate(tariff.elements):
        for j, comp in enumerate(element.price_components):
            if comp.step_size != 0:
                continue
            if comp.type is Dimension.FLAT:
                why = "FLAT is never rounded, 1 says the same"
            else:
                why = "read as no rounding; 1 would round up to whole Wh or seconds"
            out.append(
                f"elements[{i}].price_components[{j}].step_size: 0 is not OCPI 2.2.1 "
                f"(a positive integer); {why}"
            )
    return out
