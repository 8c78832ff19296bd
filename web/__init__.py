"""HTTP surface beyond the channels' own webhook routes."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from hub.context import Hub


def register_routes(app: web.Application, hub: Hub) -> None:
    from web import public

    app.router.add_routes(public.routes())
