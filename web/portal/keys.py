"""App keys of the portal (its own Jinja2 environment beside the console's)."""
from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from web.portal.settings import PortalSettings

PORTAL_JINJA: web.AppKey[jinja2.Environment] = web.AppKey("portal_jinja")
PORTAL_SETTINGS: web.AppKey[PortalSettings] = web.AppKey("portal_settings")
# Small per-app caches (statistics, counts) and the form's per-client rate limiter.
PORTAL_CACHE: web.AppKey[dict[str, Any]] = web.AppKey("portal_cache")
PORTAL_LIMITER: web.AppKey[Any] = web.AppKey("portal_limiter")
# Refused submissions (unreadable, invalid, honeypot) per client: REFUSED_FACTOR x form_per_hour,
# so correcting mistakes never meets it but a flood of bad posts is stopped before reading them.
PORTAL_REFUSED_LIMITER: web.AppKey[Any] = web.AppKey("portal_refused_limiter")
REFUSED_FACTOR = 10
