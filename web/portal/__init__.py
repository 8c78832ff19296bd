"""The public transparency portal: every public report's progress and every agency's record.

Mounted on the main app by ``web.register_routes`` with its own Jinja2 environment (its own
app key, beside the console's), static files under ``/assets/`` (the shared vendored Leaflet
under ``/assets/vendor/``), and two periodic jobs: the folded search text and the working-day
calendar the statistics count with.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from aiohttp import web

from store.models import utcnow
from store.public_reports import refresh_search_index
from store.public_stats import ensure_calendar
from store.ratelimit import RateLimiter
from store.serialize import public_text_for
from web.context import WEB_CONTEXT, WebContext
from web.portal import opendata, pages, report_form
from web.portal.errors import vietnamese_errors
from web.portal.keys import (
    PORTAL_CACHE,
    PORTAL_LIMITER,
    PORTAL_REFUSED_LIMITER,
    PORTAL_SETTINGS,
    REFUSED_FACTOR,
)
from web.portal.render import STATIC_DIR, VENDOR_DIR, setup_templates
from web.portal.settings import PortalSettings

log = logging.getLogger("web.portal")
CALENDAR_FROM = date(2020, 1, 1)


async def sync_calendar(ctx: WebContext) -> int:
    last = utcnow().date() + timedelta(days=730)
    calendar = ctx.routing.calendar  # router.sla.WorkCalendar: the SLA's own working days
    async with ctx.sessions() as session, session.begin():
        return await ensure_calendar(session, calendar.is_working_day, CALENDAR_FROM, last)


class SearchIndexer:
    """The search-text job: a full pass first, then only reports updated since the previous
    pass began (with a margin for transactions that committed late)."""

    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.since: datetime | None = None

    async def run(self, rounds: int = 200) -> int:
        started = utcnow()
        written = 0
        for _ in range(rounds):
            async with self.ctx.sessions() as session, session.begin():
                n = await refresh_search_index(session, public_text_for, since=self.since)
            written += n
            if n < 500:
                self.since = started - timedelta(minutes=2)
                break
        return written


async def index_search(ctx: WebContext) -> int:
    """One full pass (tests and tools)."""
    return await SearchIndexer(ctx).run()


def setup_portal(app: web.Application) -> None:
    ctx = app[WEB_CONTEXT]
    settings = getattr(ctx, "portal_settings", None) or PortalSettings()
    app[PORTAL_SETTINGS] = settings
    app[PORTAL_CACHE] = {}
    app[PORTAL_LIMITER] = RateLimiter(settings.form_per_hour)
    app[PORTAL_REFUSED_LIMITER] = RateLimiter(settings.form_per_hour * REFUSED_FACTOR)
    setup_templates(app)
    # aiohttp's plain-English 404/405 on the public pages → the portal's Vietnamese page
    app.middlewares.append(vietnamese_errors)
    app.router.add_routes(report_form.routes())
    app.router.add_routes(opendata.routes())
    app.router.add_routes(pages.routes())
    app.router.add_static("/assets/vendor/", VENDOR_DIR, append_version=False)
    app.router.add_static("/assets/", STATIC_DIR, append_version=False)

    async def start(app: web.Application) -> None:
        written = await sync_calendar(ctx)
        if written:
            log.info("working-day calendar written: %d days", written)
        await pages.agency_stats_cached(app)  # warm: no reader waits for the first aggregation

    indexer = SearchIndexer(ctx)

    async def search_job() -> None:
        await indexer.run()

    async def calendar_job() -> None:
        await sync_calendar(ctx)

    app.on_startup.append(start)
    ctx.add_job("portal-search-index", 5.0, search_job)
    ctx.add_job("portal-calendar", 6 * 3600.0, calendar_job)
