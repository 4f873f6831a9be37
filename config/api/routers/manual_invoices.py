"""Manual invoices over HTTP: one issued by hand to a subscriber (services.manual_invoices)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from billing.manual import MAX_LINES, LineInput
from config.api.auth import Writer
from config.api.context import transaction
from config.api.types import IdPath, Text
from services import manual_invoices

router = APIRouter(prefix="/api/v1", tags=["billing"])

Number = Annotated[Text, Field(max_length=24)] | int | float


class ManualLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: Annotated[Text, Field(max_length=200, examples=["Key card"])]
    quantity: Number = Field(description="non-zero, at most 3 decimals ('1', '2.5', '-1')")
    unit_price: Number = Field(description="net, major units ('50.00'), 0 or more")
    vat_percent: Number = Field(description="the line's VAT rate, 0 to 100 ('25')")

    def line(self) -> LineInput:
        return LineInput(
            self.description, str(self.quantity), str(self.unit_price), str(self.vat_percent)
        )


class ManualInvoiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: Annotated[list[ManualLine], Field(min_length=1, max_length=MAX_LINES)]


@router.post(
    "/subscribers/{subscriber_id}/invoices",
    status_code=201,
    summary="issue a manual invoice (numbered in the site's series, with its KID, mailed)",
)
async def issue_manual_invoice(
    request: Request, subscriber_id: IdPath, body: ManualInvoiceIn, who: Writer
) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await manual_invoices.issue_manual_invoice(
            conn, who, subscriber_id, [line.line() for line in body.lines]
        )
