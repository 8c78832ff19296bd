"""Mounting the console: a sub-application under ``/console`` with its own middlewares (session,
CSRF, security headers), so nothing of it touches the API, the webhooks or the public pages."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from web.console import accounts, auth, callbacks, calls, queue, report_page, returned
from web.console.keys import CONFIG_KEY, SESSIONS_KEY, ConsoleConfig
from web.console.render import STATIC_DIR, see_other, setup_templates

CONSOLE_APP_KEY: web.AppKey[web.Application] = web.AppKey("console_app")


async def _to_console(request: web.Request) -> web.Response:
    return see_other("/console/")


def setup_console(app: web.Application, *, sessions: async_sessionmaker[AsyncSession],
                  config: ConsoleConfig) -> web.Application:
    """Mount the console on ``app`` (before it starts). ``sessions`` is the hub's session
    factory (the engine stays owned by its creator); ``config`` carries the settings values.
    Returns the console sub-application (also stored under ``CONSOLE_APP_KEY``)."""
    console = web.Application(middlewares=[auth.security_headers, auth.session_and_csrf])
    console[SESSIONS_KEY] = sessions
    console[CONFIG_KEY] = config
    setup_templates(console, config.timezone)
    console.router.add_routes(auth.routes())
    console.router.add_routes(queue.routes())
    console.router.add_routes(report_page.routes())
    console.router.add_routes(returned.routes())
    console.router.add_routes(callbacks.routes())
    console.router.add_routes(calls.routes())
    console.router.add_routes(accounts.routes())
    console.router.add_static("/static/", STATIC_DIR, append_version=False)
    app.router.add_get("/console", _to_console)
    app.add_subapp("/console", console)
    app[CONSOLE_APP_KEY] = console
    return console
