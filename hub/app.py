"""The aiohttp application: one cleanup context owns every resource, in start order, and
releases them in reverse on shutdown (SIGTERM: stop accepting, finish in-flight requests, write
what intake holds, finish the rows in hand, close channels, dispose the engine)."""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from channels.email.smtp import SmtpSender
from channels.registry import enabled_channels
from hub.analysis import AnalysisPool, default_processes
from hub.classifier_sync import sync_model_file
from hub.context import Hub
from hub.inbound import conversation
from hub.keys import HUB_KEY, WORKERS_KEY
from hub.metrics import Metrics
from hub.settings import Settings
from hub.workers import Workers
from router import wiring
from store.db import make_engine, migrate, sessionmaker
from store.intake import Intake
from store.leases import HUB_LEADER, LeaderLease
from store.models import Agency
from store.retention import prune_inbox
from web import agency_api, register_routes
from web.console import setup_console
from web.console.keys import ConsoleConfig
from web.context import WEB_CONTEXT

log = logging.getLogger("hub.app")


class ClientErrorLog(logging.Filter):
    """aiohttp logs a request it cannot parse (a request line or header over 8 KB, a broken
    request line: the client's mistake, answered 400) at ERROR with a traceback quoting the
    line, so anyone could fill the log and put a URL in it (it may carry a phone or a name).
    Such a record becomes one WARNING line: the client's address and the error's class, no
    traceback, nothing of the request."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 0) < 500:
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else None
            record.msg = "refused a request that is not valid HTTP from %s: %s (%d)"
            record.args = (remote, type(exc).__name__, exc.code)
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
            record.exc_info = record.exc_text = record.stack_info = None
        return True


def quiet_client_errors() -> None:
    """Installs ``ClientErrorLog`` on aiohttp's server logger (once per process)."""
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ClientErrorLog) for f in server.filters):
        server.addFilter(ClientErrorLog())

async def sync_agencies(hub: Hub) -> None:
    """Agencies are configured in settings; the table mirrors them (for joins and history)."""
    async with hub.sessions() as session, session.begin():
        existing = {a.id: a for a in (await session.execute(select(Agency))).scalars()}
        configured = {a.id for a in hub.settings.agencies}
        for cfg in hub.settings.agencies:
            row = existing.get(cfg.id) or Agency(id=cfg.id)
            row.name, row.categories, row.areas = cfg.name, list(cfg.categories), list(cfg.areas)
            row.email, row.webhook_url, row.active = cfg.email or None, cfg.webhook_url or None, True
            session.add(row)
        for agency_id, row in existing.items():
            if agency_id not in configured:
                row.active = False


def build_hub(settings: Settings) -> Hub:
    """Everything that can exist before the loop runs: engine, intake, metrics, channel adapters
    (so their routes can be registered before the router freezes). Fails fast on bad channel
    settings."""
    engine = make_engine(settings.database_url, settings.database.echo,
                         settings.database.sqlite_synchronous)
    metrics = Metrics()
    wakeup = asyncio.Event()  # the inbox worker's, set when intake commits new events

    def committed(stored: int, elapsed: float) -> None:
        metrics.intake_commit_seconds.observe(elapsed)
        if stored:
            wakeup.set()

    counters: dict[tuple[str, bool], Any] = {}

    def observe(channel: str, stored: bool, _elapsed: float) -> None:
        # Labelled children cached: labels() per event was measurable on the hot path.
        child = counters.get((channel, stored))
        if child is None:
            child = counters[(channel, stored)] = metrics.intake_events.labels(
                channel, "stored" if stored else "duplicate")
        child.inc()

    # SQLite has one writer: intake and the inbox worker take turns in this process by a lock
    # (store.intake), so a webhook waits for the worker's current transaction only.
    write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
    intake = Intake(engine, settings.intake.batch_max, on_commit=committed, observe=observe,
                    write_lock=write_lock)
    hub = Hub(settings=settings, engine=engine, sessions=sessionmaker(engine), intake=intake,
              metrics=metrics, inbox_wakeup=wakeup, write_lock=write_lock)
    hub.channels = enabled_channels(hub, settings.channels)
    workers = settings.workers
    hub.analysis = AnalysisPool(
        default_processes() if workers.analysis_processes is None else workers.analysis_processes,
        workers.analysis_min_batch)
    email = settings.channels.email
    if email.smtp_host:
        # One SMTP sender class for every mail: the email channel's replies and agency mail.
        hub.mail = SmtpSender(email)
    for adapter in hub.channels.values():
        hub.senders.update(adapter.senders())
    hub.senders.update(wiring.install(hub))
    metrics.expect_routes(hub.senders)  # series the alert rules select exist from the start
    conversation.install(hub)  # the intake dialogue's window job
    if "web" in hub.channels:
        from channels.open311.form import link_form_photos

        async def link_photos() -> None:
            await link_form_photos(hub.sessions)
        hub.add_job("web-form-photos", 2.0, link_photos)
    return hub


async def start_hub(hub: Hub, *, channels: bool = True) -> None:
    """Migrate, sync agencies, open the HTTP client, start intake and channels. A batch command
    passes ``channels=False``: the adapters exist (a reply it queues waits in the outbox for
    ``serve``) but none starts, so it makes no outbound call (Telegram's getMe, IMAP, tokens)."""
    try:
        await migrate(hub.engine)
        await sync_agencies(hub)
        from normalizer import classify

        if await sync_model_file(hub.sessions, classify.MODEL_FILE):  # retrained on another host
            classify.reload_model()
        hub.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        await hub.intake.start()
        for adapter in hub.channels.values() if channels else ():
            await adapter.start()
    except BaseException:
        await close_hub(hub)
        raise


async def open_hub(settings: Settings, *, channels: bool = True) -> Hub:
    hub = build_hub(settings)
    await start_hub(hub, channels=channels)
    return hub


def settle_heap() -> None:
    """Once started (``serve``, and the benchmarks that measure what it does): load the
    classifier and gazetteer, then move everything alive to the garbage collector's permanent
    generation and collect less often. Full collections rescanning that large, long-lived heap
    were the webhook acknowledgements' latency tail (measured: Messenger p99 64 ms → 13 ms) and
    a fifth of the inbox worker's time (bench/pipeline.py)."""
    import gc

    from normalizer.analyze import analyze

    analyze("khởi động: rác thải phường Thuận Hóa")
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


async def close_hub(hub: Hub) -> None:
    await hub.intake.close()
    for adapter in hub.channels.values():
        try:
            await adapter.aclose()
        except Exception:
            log.exception("closing channel %s failed", adapter.name)
    if hub.mail is not None:
        await hub.mail.close()
    if hub.http is not None:
        await hub.http.close()
    await hub.engine.dispose()
    await asyncio.to_thread(hub.analysis.close)


def _scheduler(hub: Hub) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1,
                                               "misfire_grace_time": 30})

    def gated(func, leader_only: bool):  # noqa: ANN001, ANN202
        async def run() -> None:
            if leader_only and not hub.is_leader:
                return
            try:
                await func()
            except Exception:
                log.exception("periodic job failed")
        return run

    for job_id, every, func, leader_only in hub.jobs:
        scheduler.add_job(gated(func, leader_only), "interval", seconds=every, id=job_id)
    return scheduler


# Set on HTML answers that did not set their own (the console sets a CSP for its map tiles).
HTML_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _secure(exc)
        raise
    except HttpProcessingError as exc:  # a body aiohttp could not parse, read by any handler
        return _secure(web.json_response({"error": "the request body could not be read"},
                                         status=exc.code if 400 <= exc.code < 500 else 400))
    return _secure(response)


# Control characters no URL of ours holds. In the decoded path: any (a report code, a token, a
# file name never has one). In the query: any but tab, newline and carriage return, in every
# parameter but the free-text search ``q`` (portal, public JSON, console), whose handlers turn
# control characters into spaces and still search (tests/portal/test_list.py,
# tests/console/test_search_control_chars.py). NUL in particular reached PostgreSQL (a text
# parameter cannot hold it: asyncpg raised "invalid byte sequence for encoding UTF8: 0x00", a 500).
_PATH_CONTROL = re.compile("[\x00-\x1f\x7f]")
_QUERY_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_QUERY_FREE_TEXT = frozenset({"q"})
CONTROL_REFUSED = "the URL holds a control character (such as %00) in its path or query"


def _has_control(request: web.Request) -> bool:
    if _PATH_CONTROL.search(request.path):
        return True
    return any(_QUERY_CONTROL.search(key)
               or (key not in _QUERY_FREE_TEXT and _QUERY_CONTROL.search(value))
               for key, value in request.query.items())


def _control_refusal(request: web.Request) -> web.Response:
    """A 400 in the format of the surface asked: Open311's list of errors (JSON or XML by the
    path's extension), the portal's error page for pages people open, JSON elsewhere (the
    agency and public APIs, webhooks, health; the console too: it has no error page of its
    own outside its handlers)."""
    from web.portal.errors import is_page_path

    path = request.path
    if path.startswith("/open311"):
        from channels.open311.render import error, format_of

        return error(format_of(path), 400, CONTROL_REFUSED)
    if is_page_path(path):
        from web.portal.pages import error_page

        return error_page(request, 400, "Đường dẫn không hợp lệ",
                          "Đường dẫn có ký tự không hợp lệ (ký tự điều khiển). Vui lòng kiểm tra "
                          "lại đường dẫn hoặc mã phản ánh.")
    return web.json_response({"error": CONTROL_REFUSED}, status=400)


@web.middleware
async def refuse_control_characters(request: web.Request, handler: Any) -> web.StreamResponse:
    """One guard where requests enter: a control character in the decoded path or query is a
    400 before any handler (or the database) sees it."""
    if _has_control(request):
        return _control_refusal(request)
    return await handler(request)


def _secure(response: web.StreamResponse) -> web.StreamResponse:
    if response.prepared:  # streamed already (static files): too late, and they set their own
        return response
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.content_type == "text/html":
        for name, value in HTML_SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


async def _bounded(step: Any, seconds: float, what: str) -> None:
    try:
        await asyncio.wait_for(step, seconds)
    except TimeoutError:
        log.warning("stopping: %s took longer than %.0f s; going on", what, seconds)
    except Exception:
        log.exception("stopping: %s failed", what)


def _watch_classifier(hub: Hub) -> None:
    """A retrained model installed while serving (``hub retrain``, recorded in the database;
    tools/train_classifier.py --corrections on this host's file) is picked up by every replica
    within a minute, without a restart (hub/classifier_sync.py)."""
    from normalizer import classify

    async def check() -> None:
        await sync_model_file(hub.sessions, classify.MODEL_FILE)
        if classify.reload_if_changed():
            log.info("classifier model reloaded (%s)", classify.MODEL_FILE.name)

    hub.add_job("classifier-reload", 60, check, leader_only=False)


def _mount_console(app: web.Application, hub: Hub) -> None:
    """The operator console, and the leader's clean-up of its expired sessions and throttles."""
    from datetime import timedelta

    from store.accounts import purge_login_throttle
    from store.sessions import SessionPolicy, purge_sessions

    cfg = hub.settings.console
    policy = SessionPolicy(lifetime=timedelta(hours=cfg.session_hours),
                           idle=timedelta(hours=cfg.idle_hours))
    setup_console(app, sessions=hub.sessions, config=ConsoleConfig(
        public_base_url=hub.settings.server.public_base_url, session=policy,
        page_size=cfg.page_size, tile_url=cfg.tile_url, tile_attribution=cfg.tile_attribution,
        timezone=hub.settings.routing.timezone))

    async def purge() -> None:
        async with hub.sessions() as session, session.begin():
            await purge_sessions(session, policy=policy)
            await purge_login_throttle(session)
        if hub.engine.dialect.name == "sqlite":
            # Planner statistics: without them SQLite picks the category index over the ward's
            # for the queue's filters (sqlite.org/lang_analyze.html recommends this periodically).
            async with hub.engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA optimize")

    async def search_text() -> None:
        from store.report_list import refresh_search_text

        for _ in range(20):  # catches up after an upgrade without holding one transaction long
            async with hub.sessions() as session, session.begin():
                if await refresh_search_text(session) < 2000:
                    return

    hub.add_job("console-purge", 600, purge)
    hub.add_job("console-search", 3, search_text)


def create_app(settings: Settings) -> web.Application:
    quiet_client_errors()
    hub = build_hub(settings)
    app = web.Application(client_max_size=settings.server.max_body_bytes,
                          middlewares=[security_headers, refuse_control_characters,
                                       agency_api.json_errors])
    app[HUB_KEY] = hub
    app[WEB_CONTEXT] = hub
    workers = Workers(hub)
    app[WORKERS_KEY] = workers
    hub.gauge_refresh = workers.refresh_gauges
    for adapter in hub.channels.values():
        app.router.add_routes(adapter.routes())
    register_routes(app)
    _mount_console(app, hub)
    _watch_classifier(hub)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await start_hub(hub)
        hub.leader = LeaderLease(hub.engine, HUB_LEADER, hub.worker_id,
                                 settings.workers.leader_lease_seconds)
        await hub.leader.try_acquire()
        hub.add_job("leader-lease", max(1.0, settings.workers.leader_lease_seconds / 3),
                    hub.leader.try_acquire, leader_only=False)
        if settings.intake.retain_processed_days:
            async def prune() -> None:
                gone = await prune_inbox(hub.engine, settings.intake.retain_processed_days,
                                         dedupe_horizon_days=settings.intake.dedupe_horizon_days)
                if gone:
                    log.info("inbox retention: %d payloads older than %g days blanked, %d dedupe "
                             "keys past the horizon deleted", gone.blanked,
                             settings.intake.retain_processed_days, gone.deleted)
            hub.add_job("inbox-retention", 3600, prune)
        scheduler = _scheduler(hub)
        scheduler.start()
        if settings.workers.enabled:
            workers.start()
        log.info("hub started: channels=%s leader=%s", sorted(hub.channels), hub.is_leader)
        try:
            yield
        finally:
            hub.stopping = True
            log.info("hub stopping: draining intake and workers")
            grace = max(5.0, settings.server.shutdown_grace_seconds)
            # Every step is bounded: a stop must end (systemd, the fresh-clone test), and what
            # a step leaves unfinished is safe — claimed rows are taken again after a restart.
            await _bounded(hub.intake.close(), grace, "intake close")
            await _bounded(workers.stop(), grace, "workers drain")
            scheduler.shutdown(wait=False)
            await _bounded(hub.leader.release(), grace, "leader release")
            await _bounded(close_hub(hub), grace, "closing channels and the database")
            log.info("hub stopped")

    async def stopping(app: web.Application) -> None:
        hub.stopping = True  # /readyz fails from the first moment of shutdown

    app.on_shutdown.append(stopping)
    app.cleanup_ctx.append(lifecycle)
    return app
