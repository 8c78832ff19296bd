"""Classify, place and route a report (the decision itself is pure: router.rules)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from router import lifecycle
from router.rules import AgencyRule, choose_agency
from router.sla import add_working_days
from store.models import Report, utcnow

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.router")


def analyze_report(hub: Hub, report: Report, category_hint: str | None = None) -> None:
    """Store classification, place and contacts found in the text on the report."""
    from normalizer.analyze import analyze

    result = analyze(report.description or "", lat=report.lat, lon=report.lon,
                     address=report.address, province=hub.settings.routing.province)
    if category_hint:
        report.category, report.category_confidence = category_hint, 1.0
    else:
        report.category, report.category_confidence = result.category, result.category_confidence
    report.classifier_version = result.classifier_version
    if report.ward is None and result.ward:
        report.ward, report.place_source = result.ward, result.place_source
    found = {"phones": list(result.phones), "emails": list(result.emails)}
    if any(found.values()):
        report.extra = {**(report.extra or {}), "found_contacts": found}


def agency_rules(hub: Hub) -> list[AgencyRule]:
    return [AgencyRule(a.id, tuple(a.categories), tuple(a.areas)) for a in hub.settings.agencies]


async def route_new_report(hub: Hub, session: AsyncSession, report: Report,
                           from_triage: bool = False) -> str | None:
    """received/triage → forwarded (agency found) or triage. Returns the agency id or None."""
    decision = choose_agency(report.category, report.category_confidence, report.ward,
                             agency_rules(hub), hub.settings.routing.triage_threshold)
    if decision.agency_id is None:
        if report.status == "received":
            lifecycle.set_status(session, report, "triage", actor="system", note=decision.reason)
        return None
    await forward(hub, session, report, decision.agency_id, actor="system", note=decision.reason)
    return decision.agency_id


async def forward(hub: Hub, session: AsyncSession, report: Report, agency_id: str, *, actor: str,
                  note: str | None = None) -> None:
    report.agency_id = agency_id
    lifecycle.set_status(session, report, "forwarded", actor=actor, note=note)
    days = hub.settings.routing.sla_days.get(report.category or "other", 7)
    report.due_at = add_working_days(utcnow(), days, hub.settings.routing.holidays)
    report.reminded_at = report.escalated_at = None
    try:
        from router.delivery import enqueue_agency_delivery
    except ImportError:  # delivery to agencies lands with the router issue
        return
    await enqueue_agency_delivery(hub, session, report)
