"""Fixed fees over HTTP: plans, bundles and one-off charges of a subscriber (services.plans)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from config.api.auth import Reader, Writer
from config.api.context import reading, transaction
from config.api.types import IdPath, Text
from services import plans

router = APIRouter(prefix="/api/v1", tags=["plans"])

Month = Annotated[Text, Field(pattern=r"^\d{4}-\d{2}$", examples=["2027-01"])]


class PlanLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: Annotated[Text, Field(min_length=1, max_length=200, examples=["Parking"])]
    amount: Text | int = Field(
        description="net per fee period: major-unit text ('300.00') or minor units (30000)"
    )
    vat_percent: Annotated[int, Field(ge=0, le=100)] | None = Field(
        None, description="the line's VAT rate; omit for the site's"
    )

    def line(self) -> dict[str, Any]:
        vat = None if self.vat_percent is None else self.vat_percent * 100
        return {"description": self.description, "amount": self.amount, "vat_bp": vat}


class PlanIn(BaseModel):
    """One line, or a bundle of several lines under one name."""

    model_config = ConfigDict(extra="forbid")
    lines: Annotated[list[PlanLine], Field(min_length=1, max_length=20)]
    period_months: Literal[1, 3, 12] = Field(description="monthly, or quarterly/yearly in advance")
    first_period: Month
    times: Annotated[int, Field(ge=1, le=1200)] | None = Field(
        None, description="a recurring fee of N periods; omit to run until ended"
    )
    last_period: Month | None = None
    bundle: Annotated[Text, Field(max_length=100)] | None = None


class ChargeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: Annotated[Text, Field(min_length=1, max_length=200, examples=["Key card"])]
    amount: Text | int
    vat_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    period: Month = Field(description="the usage month whose invoice carries it")


class PlanEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    last_period: Month = Field(description="the last month the plan covers")


@router.get("/subscribers/{subscriber_id}/plans", summary="a subscriber's plans and charges")
async def list_plans(request: Request, subscriber_id: IdPath, who: Reader) -> list[dict[str, Any]]:
    async with reading(request) as conn:
        return await plans.list_plans(conn, who, subscriber_id)


@router.post(
    "/subscribers/{subscriber_id}/plans",
    status_code=201,
    summary="add a plan (one line) or a bundle (several lines) of fixed fees",
)
async def add_plan(
    request: Request, subscriber_id: IdPath, body: PlanIn, who: Writer
) -> list[dict[str, Any]]:
    async with transaction(request) as conn:
        return await plans.add_plan(
            conn,
            who,
            subscriber_id,
            [line.line() for line in body.lines],
            period_months=body.period_months,
            first_period=body.first_period,
            times=body.times,
            last_period=body.last_period,
            bundle=body.bundle,
        )


@router.post(
    "/subscribers/{subscriber_id}/charges",
    status_code=201,
    summary="add a one-off charge to the invoice of a month",
)
async def add_charge(
    request: Request, subscriber_id: IdPath, body: ChargeIn, who: Writer
) -> dict[str, Any]:
    line = PlanLine(
        description=body.description, amount=body.amount, vat_percent=body.vat_percent
    ).line()
    async with transaction(request) as conn:
        return await plans.add_charge(conn, who, subscriber_id, line, period=body.period)


@router.patch("/plans/{plan_id}", summary="end a plan after a month")
async def end_plan(request: Request, plan_id: IdPath, body: PlanEnd, who: Writer) -> dict[str, Any]:
    async with transaction(request) as conn:
        return await plans.end_plan(conn, who, plan_id, body.last_period)
