"""HTTP surface beyond the channels' own webhook routes."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from hub.context import Hub


def register_routes(app: web.Application, hub: Hub) -> None:
    from web import agency_api, public

    app.router.add_routes(public.routes())
    app.router.add_routes(agency_api.routes())
