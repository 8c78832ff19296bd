"""Shared steps of the router tests: reports through the real Open311 intake, agency tokens."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import OutboxMessage, Report, ReportEvent
from store.tokens import issue_token
from tests.conftest import wait_for

ENV_FORM = {"service_code": "environment", "lat": "16.4637", "long": "107.5909",
            "description": "Rác thải ùn ứ nhiều ngày ở kiệt 12 Nguyễn Trãi",
            "email": "lan@example.vn", "phone": "0905123456", "first_name": "Lan"}
ROAD_FORM = {"service_code": "traffic_infrastructure", "address_string": "Lê Lợi, Huế",
             "description": "Ổ gà lớn giữa đường Lê Lợi gần cầu Trường Tiền"}


async def post_report(client: Any, form: dict[str, str] | None = None, **extra: str) -> str:
    """POST requests.json and wait for the worker to make the report; returns its code."""
    resp = await client.post("/open311/v2/requests.json", data={**(form or ENV_FORM), **extra})
    assert resp.status in (200, 201), await resp.text()
    token = (await resp.json())[0]["token"]

    async def code() -> str | None:
        answer = await (await client.get(f"/open311/v2/tokens/{token}.json")).json()
        return answer[0]["service_request_id"]
    return await wait_for(code)


async def token(client: Any, agency_id: str) -> dict[str, str]:
    hub = client.app[HUB_KEY]
    async with hub.sessions() as session, session.begin():
        value = await issue_token(session, agency_id)
    return {"Authorization": f"Bearer {value}"}


async def report(client: Any, code: str) -> Report:
    async with client.app[HUB_KEY].sessions() as session:
        return (await session.execute(select(Report).where(Report.code == code))).scalar_one()


async def outbox(client: Any, code: str, **where: Any) -> list[OutboxMessage]:
    async with client.app[HUB_KEY].sessions() as session:
        rep = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
        query = select(OutboxMessage).where(OutboxMessage.report_id == rep.id)
        for key, value in where.items():
            query = query.where(getattr(OutboxMessage, key) == value)
        return list((await session.execute(query.order_by(OutboxMessage.id))).scalars())


async def events(client: Any, code: str, kind: str | None = None) -> list[ReportEvent]:
    async with client.app[HUB_KEY].sessions() as session:
        rep = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
        query = select(ReportEvent).where(ReportEvent.report_id == rep.id)
        if kind:
            query = query.where(ReportEvent.kind == kind)
        return list((await session.execute(query.order_by(ReportEvent.id))).scalars())
