"""The page every evgate document shares (pure): A4 portrait, the embedded font, the header
with the seller and the document's title and state mark, the key-value facts, page numbers.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from importlib.resources import files
from typing import Any

from fpdf import FPDF

from billing import parties

Row = Mapping[str, Any]

FONT = "SourceSans"
_FONT_DIR = files("font_source_sans_pro") / "files"  # the package font-source-sans-pro
# The state marks a reader must not miss, with their colour (RGB).
MARKS = {"paid": ("mark_paid", (0, 128, 64)), "overdue": ("mark_overdue", (200, 30, 30))}
MARKS["credited"] = ("mark_credited", (90, 90, 90))


class _Pages(FPDF):
    """A4 with "Page n / N" at the foot of every page (N filled in when the PDF is written)."""

    page_label = "Page"

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(0, 5, f"{self.page_label} {self.page_no()} / {{nb}}", align="C")


def document(t: Mapping[str, str]) -> FPDF:
    pdf = _Pages(orientation="P", unit="mm", format="A4")
    pdf.page_label = t["page"]
    pdf.add_font(FONT, "", str(_FONT_DIR / "SourceSansPro-Regular.ttf"))
    pdf.add_font(FONT, "B", str(_FONT_DIR / "SourceSansPro-Bold.ttf"))
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(15, 15, 15)
    pdf.add_page()
    return pdf


def header(
    pdf: FPDF,
    title: str,
    site: Row,
    mark: tuple[str, tuple[int, int, int]] | None,
    seller: Row | None = None,
    logo: bytes | None = None,
) -> None:
    """Seller on the left (its logo; its legal name; with ``seller``: its address, its
    registration lines in its country's words, its invoice e-mail), the document's title on
    the right, its state mark under it."""
    party = seller or {}
    name = party.get("legal_name") or site.get("name") or site.get("id") or ""
    top = pdf.get_y()
    if logo:  # left-aligned, at most 14 mm high and 60 mm wide, its proportions kept
        from PIL import Image

        with Image.open(io.BytesIO(logo)) as image:
            px_wide, px_high = image.size
        h = min(14.0, 60.0 * px_high / px_wide)
        pdf.image(io.BytesIO(logo), x=pdf.l_margin, y=top, w=h * px_wide / px_high, h=h)
        pdf.set_y(top + h + 2)
    pdf.set_font(FONT, "B", 12)
    pdf.cell(110, 7, str(name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=9)
    details = parties.address_lines(party) + parties.registration_lines(party)
    if party.get("invoice_email"):
        details.append(str(party["invoice_email"]))
    for line in details:
        pdf.cell(110, 4.5, line, new_x="LMARGIN", new_y="NEXT")
    below_seller = pdf.get_y()
    pdf.set_y(top)
    pdf.set_font(FONT, "B", 18)
    pdf.cell(0, 7, title, align="R", new_x="LMARGIN", new_y="NEXT")
    if mark is not None:
        text, colour = mark
        pdf.set_font(FONT, "B", 14)
        pdf.set_text_color(*colour)
        pdf.set_draw_color(*colour)
        pdf.set_line_width(0.6)
        width = pdf.get_string_width(text) + 8
        pdf.set_x(pdf.w - pdf.r_margin - width)
        pdf.cell(width, 9, text, border=1, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.2)
    pdf.set_y(max(pdf.get_y(), below_seller))
    pdf.ln(6)


def parties_and_facts(
    pdf: FPDF, label: str, buyer_lines: Sequence[str], rows: Sequence[tuple[str, str]]
) -> None:
    """The buyer's block on the left (where a window envelope shows it), the document's
    facts (dates, terms, KID) on the right."""
    top = pdf.get_y()
    pdf.set_font(FONT, "B", 10)
    pdf.cell(85, 5.5, label, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=10)
    for line in buyer_lines:
        pdf.cell(85, 5, line, new_x="LMARGIN", new_y="NEXT")
    below_buyer = pdf.get_y()
    pdf.set_y(top)
    for key, value in rows:
        pdf.set_x(100)
        pdf.set_font(FONT, "B", 10)
        pdf.cell(45, 5.5, key)
        pdf.set_font(FONT, size=10)
        pdf.cell(0, 5.5, value, new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), below_buyer))
    pdf.ln(5)


def payment_box(pdf: FPDF, title: str, rows: Sequence[tuple[str, str]]) -> None:
    """How to pay: account, KID, amount and due date, framed, kept on one page."""
    if not rows:
        return
    height = 7 + 5.5 * len(rows) + 3
    if pdf.get_y() + height + 6 > pdf.h - 18:
        pdf.add_page()
    pdf.ln(6)
    top = pdf.get_y()
    pdf.set_draw_color(120, 120, 120)
    pdf.rect(pdf.l_margin, top, pdf.w - pdf.l_margin - pdf.r_margin, height)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_xy(pdf.l_margin + 3, top + 1.5)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 6, title, new_x="LMARGIN", new_y="NEXT")
    for key, value in rows:
        pdf.set_x(pdf.l_margin + 3)
        pdf.set_font(FONT, size=10)
        pdf.cell(55, 5.5, key)
        pdf.set_font(FONT, "B", 10)
        pdf.cell(0, 5.5, value, new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(top + height)


def facts(pdf: FPDF, rows: Sequence[tuple[str, str]]) -> None:
    pdf.set_font(FONT, size=10)
    for key, value in rows:
        pdf.set_font(FONT, "B", 10)
        pdf.cell(50, 5.5, key)
        pdf.set_font(FONT, size=10)
        pdf.cell(0, 5.5, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def customer(subscriber: Row) -> str:
    name, email = subscriber.get("name") or "", subscriber.get("email") or ""
    return f"{name} <{email}>" if email else name
