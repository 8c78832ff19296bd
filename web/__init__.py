"""HTTP surface beyond the channels' own routes: health and metrics, the agency API, the public
pages."""
from __future__ import annotations

from aiohttp import web


def register_routes(app: web.Application) -> None:
    from web import agency_api, health, public

    app.router.add_routes(health.routes())
    app.router.add_routes(public.routes())
    app.router.add_routes(agency_api.routes())
    from web import openapi

    app.router.add_routes(openapi.routes())
    from web.portal import setup_portal

    setup_portal(app)
