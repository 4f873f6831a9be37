"""The HTML part of a mail, made from the same words as its text part (pure: no I/O).

``mail.texts.render`` hands this module the greeting, the body template with its values
and the signature; nothing here adds a word of its own. Every value is escaped; a value
named ``link`` (an http(s) URL) becomes a button labelled by the line before it (e.g.
"Sign in with this link") with the URL itself under it, so it can be copied; a paragraph of
``Label: {value}`` lines ("Amount: ...", "Due date: ...") becomes a two-column table
(the label keeps its colon: the words are the text part's).
Styles are inline (mail clients drop <style> blocks and external sheets), the layout is a
single 600 px table that narrows on a phone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape

INK, MUTED, LINE, ACCENT, WASH = "#1b1f24", "#57606a", "#d0d7de", "#0a5fb4", "#f6f8fa"
FONT = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
_FIELD = re.compile(r"^\{(\w+)\}$")
_FACT = re.compile(r"^([^{}:]+:)\s*\{(\w+)\}$")
LINK_FIELDS = ("link",)


def _fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` replaced by its escaped value."""
    return re.sub(r"\{(\w+)\}", lambda m: escape(values[m.group(1)]), escape(template, False))


def _url(value: str) -> str | None:
    return value if value.startswith(("https://", "http://")) else None


def _button(label: str, url: str) -> str:
    href = escape(url, quote=True)
    return (
        f'<p style="margin:20px 0 8px;"><a href="{href}" style="display:inline-block;'
        f"background:{ACCENT};color:#ffffff;text-decoration:none;font-weight:600;"
        f'padding:12px 20px;border-radius:6px;{FONT}">{escape(label)}</a></p>'
        f'<p style="margin:0 0 16px;font-size:13px;color:{MUTED};word-break:break-all;">'
        f'<a href="{href}" style="color:{ACCENT};">{escape(url)}</a></p>'
    )


def _facts(rows: list[tuple[str, str]]) -> str:
    cells = "".join(
        f'<tr><td style="padding:6px 12px 6px 0;color:{MUTED};border-bottom:1px solid {LINE};">'
        f"{escape(label)}</td>"
        f'<td style="padding:6px 0;font-weight:600;border-bottom:1px solid {LINE};">'
        f"{escape(value)}</td></tr>"
        for label, value in rows
    )
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" '
        f'style="border-collapse:collapse;margin:0 0 16px;">{cells}</table>'
    )


def _paragraph(block: str, values: Mapping[str, str]) -> str:
    lines = block.split("\n")
    facts = [_FACT.match(line.strip()) for line in lines]
    if all(facts):
        return _facts([(m[1].strip(), values[m[2]]) for m in facts if m])
    out: list[str] = []
    text: list[str] = []
    for i, line in enumerate(lines):
        field = _FIELD.match(line.strip())
        url = _url(values[field[1]]) if field and field[1] in LINK_FIELDS else None
        if url is None:
            text.append(_fill(line, values))
            continue
        label = lines[i - 1].strip().rstrip(":") if i > 0 else url
        if text and i > 0:
            text.pop()  # the label line is the button's
        if text:
            out.append(f'<p style="margin:0 0 16px;">{"<br>".join(text)}</p>')
            text = []
        out.append(_button(re.sub(r"\{(\w+)\}", lambda m: values[m[1]], label), url))
    if text:
        out.append(f'<p style="margin:0 0 16px;">{"<br>".join(text)}</p>')
    return "".join(out)


def render_html(
    language: str,
    subject: str,
    greeting: str,
    body: str,
    signature: str,
    values: Mapping[str, str],
) -> str:
    """The HTML document: ``body`` and ``signature`` are templates over ``values``;
    ``subject`` and ``greeting`` are already filled (plain text)."""
    paragraphs = "".join(_paragraph(b, values) for b in body.split("\n\n"))
    sign = "<br>".join(_fill(line, values) for line in signature.split("\n"))
    site = escape(values.get("site_name", ""))
    return (
        "<!doctype html>\n"
        f'<html lang="{escape(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(subject)}</title></head>"
        f'<body style="margin:0;padding:0;background:{WASH};">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        f'style="background:{WASH};"><tr><td align="center" style="padding:24px 12px;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        f'style="max-width:600px;background:#ffffff;border:1px solid {LINE};border-radius:8px;">'
        f'<tr><td style="padding:16px 24px;border-bottom:1px solid {LINE};{FONT}'
        f'font-size:18px;font-weight:700;color:{INK};">{site}</td></tr>'
        f'<tr><td style="padding:24px;{FONT}font-size:16px;line-height:1.5;color:{INK};">'
        f'<h1 style="font-size:20px;line-height:1.3;margin:0 0 16px;">{escape(subject)}</h1>'
        f'<p style="margin:0 0 16px;">{escape(greeting)}</p>'
        f"{paragraphs}"
        f'<p style="margin:24px 0 0;">{sign}</p>'
        "</td></tr></table></td></tr></table></body></html>\n"
    )
