"""The activity chart as inline SVG, drawn on the server (pure: integers in, text out).

Two bar charts over the same months, energy (kWh) above and amount below; heights are
integer arithmetic on the exact values, so nothing is rounded through a float. The month in
progress, whose amount is an estimate, is drawn hatched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from babel.dates import format_date
from markupsafe import Markup, escape

from billing.local_forms import kwh, locale_of, money

WIDTH, BAR_AREA, TOP, LABEL = 600, 120, 30, 26


def _month(period: str, language: str, width: str = "MMM") -> str:
    """The month's name, abbreviated ("MMM": "okt.") or as its initial ("MMMMM": "O")."""
    year, month = (int(x) for x in period.split("-"))
    return str(format_date(date(year, month, 1), width, locale=locale_of(language)))


def _panel(
    title: str,
    values: Sequence[int],
    shown: Callable[[int], str],
    months: Sequence[tuple[str, str]],
    estimated: Sequence[bool],
    y0: int,
    css: str,
) -> list[str]:
    n = max(len(values), 1)
    slot = WIDTH // n
    bar = max(slot * 3 // 5, 4)
    top = max(max(values, default=0), 1)
    out = [f'<text class="chart-title" x="0" y="{y0 + 20}">{escape(title)}</text>']
    base = y0 + TOP + BAR_AREA
    out.append(f'<line class="chart-axis" x1="0" y1="{base}" x2="{WIDTH}" y2="{base}"/>')
    for i, value in enumerate(values):
        height = value * BAR_AREA // top
        if value > 0 and height == 0:
            height = 1
        x = i * slot + (slot - bar) // 2
        fill = f"{css} chart-estimated" if estimated[i] else css
        name, initial = months[i]
        label = escape(f"{name}: {shown(value)}")
        out.append(
            f'<rect class="{fill}" x="{x}" y="{base - height}" width="{bar}" height="{height}">'
            f"<title>{label}</title></rect>"
        )
        for css_month, text in (("chart-month", name), ("chart-month-short", initial)):
            out.append(
                f'<text class="{css_month}" x="{i * slot + slot // 2}" y="{base + 20}" '
                f'text-anchor="middle">{escape(text)}</text>'
            )
    out.append(
        f'<text class="chart-max" x="{WIDTH}" y="{y0 + 20}" text-anchor="end">'
        f"{escape(shown(max(values, default=0)))}</text>"
    )
    return out


def activity_svg(
    series: Sequence[dict[str, Any]], language: str, energy_title: str, amount_title: str
) -> Markup:
    """The last months' energy and amount bars as one responsive <svg> element."""
    months = [
        (_month(p["period"], language), _month(p["period"], language, "MMMMM")) for p in series
    ]
    estimated = [bool(p["estimated"]) for p in series]
    currency = series[0]["currency"] if series else "EUR"
    panel = TOP + BAR_AREA + LABEL + 8
    parts = _panel(
        f"{energy_title} (kWh)",
        [int(p["energy_wh"]) for p in series],
        lambda wh: kwh(wh, language),
        months,
        [False] * len(series),
        0,
        "chart-energy",
    )
    parts += _panel(
        amount_title,
        [int(p["amount"] or 0) for p in series],
        lambda minor: money(minor, currency, language),
        months,
        estimated,
        panel,
        "chart-amount",
    )
    height = 2 * panel
    body = "".join(parts)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(energy_title)}, {escape(amount_title)}" '
        f'xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )
