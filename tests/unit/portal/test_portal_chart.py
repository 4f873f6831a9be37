"""The activity chart: one bar per month per panel, heights in proportion by integer
arithmetic, the estimated month marked, text escaped."""

from __future__ import annotations

import re

from portal.chart import BAR_AREA, activity_svg


def series(values: list[tuple[int, int]], estimated_last: bool = True) -> list[dict[str, object]]:
    return [
        {
            "period": f"2026-{i + 1:02d}",
            "energy_wh": wh,
            "amount": amount,
            "currency": "NOK",
            "estimated": estimated_last and i == len(values) - 1,
        }
        for i, (wh, amount) in enumerate(values)
    ]


def heights(svg: str, css: str) -> list[int]:
    return [int(h) for h in re.findall(rf'<rect class="{css}[^"]*" [^>]*height="(\d+)"', svg)]


def test_bars_are_in_proportion_and_the_estimate_is_marked() -> None:
    svg = str(activity_svg(series([(1000, 100), (2000, 0), (4000, 400), (1, 1)]), "en", "E", "A"))
    assert svg.startswith('<svg class="chart" viewBox="0 0 600 ')
    assert heights(svg, "chart-energy") == [BAR_AREA // 4, BAR_AREA // 2, BAR_AREA, 1]
    assert heights(svg, "chart-amount") == [BAR_AREA // 4, 0, BAR_AREA, 1]
    assert svg.count("chart-estimated") == 1
    assert "<title>Apr: NOK0.01</title>" in svg and "<title>Mar: 4.000</title>" in svg


def test_nothing_yet_draws_flat_bars_and_titles_are_escaped() -> None:
    svg = str(activity_svg(series([(0, 0)] * 12, False), "fr", "<b>É</b>", "Montant"))
    assert heights(svg, "chart-energy") == [0] * 12
    assert "<b>" not in svg and "&lt;b&gt;É&lt;/b&gt;" in svg
    assert ">janv.<" in svg  # the language's own month names
