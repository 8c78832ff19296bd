"""Classify, place and route a report (the decision itself is pure: router.rules)."""
from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from router import lifecycle
from router.delivery import agency_settings, enqueue_agency_delivery
from router.rules import AgencyRule, RouteDecision, agency_index, choose_agency
from router.sla import add_working_days, sla_days_for
from store.models import Report, utcnow

if TYPE_CHECKING:
    from normalizer.analyze import Analysis
    from router.context import RouterContext

log = logging.getLogger("hub.router")


class RouteRefused(Exception):
    def __init__(self, message: str, status: int = 422, allowed: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.allowed = status, allowed


def analyze_report(ctx: RouterContext, report: Report, category_hint: str | None = None,
                   precomputed: Analysis | None = None) -> None:
    """Store classification, place and contacts found in the text on the report.
    ``precomputed``: the analysis of exactly this report's text, coordinates and address, made
    ahead (hub.analysis)."""
    from normalizer.analyze import analyze

    result = precomputed or analyze(report.description or "", lat=report.lat, lon=report.lon,
                                    address=report.address, province=ctx.routing.province)
    if category_hint:
        report.category, report.category_confidence = category_hint, 1.0
    else:
        report.category, report.category_confidence = result.category, result.category_confidence
    report.classifier_version = result.classifier_version
    if report.ward is None and result.ward:
        report.ward, report.place_source = result.ward, result.place_source
        # Why this ward: the name seen (often a pre-2025 ward) and how sure the match is.
        report.extra = {**(report.extra or {}), "place": {
            "matched": result.place_matched, "confidence": result.place_confidence}}
    found = {"phones": list(result.phones), "emails": list(result.emails),
             "own_phones": list(result.own_phones), "own_emails": list(result.own_emails)}
    if any(found.values()):
        report.extra = {**(report.extra or {}), "found_contacts": found}


def agency_rules(ctx: RouterContext) -> list[AgencyRule]:
    return agency_index(ctx.agencies).rules


async def route_new_report(ctx: RouterContext, session: AsyncSession, report: Report,
                           from_triage: bool = False) -> str | None:
    """received/triage → forwarded (agency found) or triage. Returns the agency id or None.
    A report leaving triage this way (the citizen's added text made it routable) tells the
    citizen where it went; a new one says so in its acknowledgement."""
    decision = _not_back(report, choose_agency(report.category, report.category_confidence,
                                               report.ward, agency_rules(ctx),
                                               ctx.routing.triage_threshold))
    if decision.agency_id is None:
        if report.status == "received":
            lifecycle.set_status(session, report, "triage", actor="system", note=decision.reason)
        return None
    await forward(ctx, session, report, decision.agency_id, actor="system", note=decision.reason)
    if from_triage:
        await lifecycle.notify_citizen(session, ctx, report, "forwarded")
    return decision.agency_id


def _not_back(report: Report, decision: RouteDecision) -> RouteDecision:
    """The rules never send a report back to an agency that returned it as not theirs (the
    center may still name it): the center chooses."""
    if decision.agency_id in ((report.extra or {}).get("returned_by") or ()):
        return dataclasses.replace(decision, agency_id=None, reason=(
            f"{decision.agency_id} đã trả lại phản ánh này; Trung tâm chọn đơn vị xử lý"))
    return decision


async def forward(ctx: RouterContext, session: AsyncSession, report: Report, agency_id: str, *, actor: str,
                  note: str | None = None) -> None:
    report.agency_id = agency_id
    lifecycle.set_status(session, report, "forwarded", actor=actor, note=note)
    routing = ctx.routing
    agency = agency_settings(ctx, agency_id)
    days = sla_days_for(report.category, routing.sla_days, agency.sla_days if agency else None)
    report.due_at = add_working_days(utcnow(), days, routing.calendar, routing.timezone)
    report.reminded_at = report.escalated_at = None
    await enqueue_agency_delivery(ctx, session, report)


# classifier_version of a category the center set or confirmed (a label for retraining, kept by
# reclassify).
CENTER_LABEL = "center"


def _classify(session: AsyncSession, report: Report, category: str, actor: str) -> None:
    """The center changes the category: an event and a label the classifier's retraining keeps."""
    lifecycle.record(session, report, actor=actor, kind="classification", public=False,
                     note=f"{report.category or '—'} → {category}")
    report.category, report.category_confidence = category, 1.0
    report.classifier_version = CENTER_LABEL


async def reroute(ctx: RouterContext, session: AsyncSession, report: Report, *, agency_id: str | None,
                  category: str | None, actor: str = "center") -> str | None:
    """The center sends a report to an agency (or re-classifies it and lets the rules choose).
    Returns the agency id, or None when it stays in triage. A forwarded report sent to the agency
    it is already with is not forwarded again (same deadline, no message to anyone): only a
    changed category is recorded."""
    from normalizer.schema import CATEGORIES

    if category is not None and category not in CATEGORIES:
        raise RouteRefused(f"unknown category {category!r}; known: {sorted(CATEGORIES)}")
    if agency_id is not None and agency_id not in {a.id for a in ctx.agencies}:
        raise RouteRefused(f"unknown agency {agency_id!r}")
    if "forwarded" not in lifecycle.TRANSITIONS.get(report.status, ()):
        raise RouteRefused(f"a {report.status} report cannot be routed", 409,
                           lifecycle.allowed_for(report.status, center=True))
    changed = category if category is not None and category != report.category else None
    if report.status == "forwarded" and report.agency_id:
        # Already in an agency's queue: "routing" it to that same agency is no new forward (its
        # deadline runs on, the citizen is not told again); only a changed category is recorded.
        target = agency_id or choose_agency(category or report.category, 1.0, report.ward,
                                            agency_rules(ctx), 0.0).agency_id
        if target == report.agency_id:
            if changed is not None:
                _classify(session, report, changed, actor)
            return report.agency_id
    if changed is not None:
        _classify(session, report, changed, actor)
    elif category is not None and report.classifier_version != CENTER_LABEL:
        # Routed with the classifier's category kept: a confirmation, a label like a correction.
        lifecycle.record(session, report, actor=actor, kind="classification", public=False,
                         note=f"xác nhận lĩnh vực {category}")
        report.category_confidence, report.classifier_version = 1.0, CENTER_LABEL
    previous = report.agency_id
    if agency_id is None:
        decision = _not_back(report, choose_agency(report.category, 1.0, report.ward,
                                                   agency_rules(ctx), 0.0))
        if decision.agency_id is None:
            if report.status != "triage" and "triage" not in lifecycle.TRANSITIONS[report.status]:
                raise RouteRefused(f"{decision.reason}; name the agency")
            if report.status != "triage":
                lifecycle.set_status(session, report, "triage", actor=actor, note=decision.reason)
            return None
        agency_id = decision.agency_id
    if previous and previous != agency_id:
        await enqueue_agency_delivery(ctx, session, report, event="report.withdrawn",
                                      template="agency_rerouted_away")
    await forward(ctx, session, report, agency_id, actor=actor,
                  note=f"chuyển {previous} → {agency_id}" if previous else None)
    await lifecycle.notify_citizen(session, ctx, report, "rerouted" if previous else "forwarded")
    return agency_id
