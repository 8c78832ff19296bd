"""``python main.py telegram-set-webhook``: register our webhook URL and secret token with Telegram.

Synchronous (requests): it runs once, by hand, when the bot is connected or the public URL
changes. The bot token is part of the request URL, so no error message here ever quotes a URL.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

WEBHOOK_PATH = "/webhooks/telegram"


def webhook_url(public_base_url: str) -> str:
    return public_base_url.rstrip("/") + WEBHOOK_PATH


def set_webhook(api_base: str, token: str, url: str, secret_token: str, *,
                drop_pending_updates: bool = False, timeout: float = 15.0) -> tuple[bool, str]:
    """Call setWebhook; returns (ok, Telegram's description or a sanitized error)."""
    import requests

    from channels.telegram.adapter import ALLOWED_UPDATES

    body: dict[str, Any] = {"url": url, "secret_token": secret_token,
                            "allowed_updates": list(ALLOWED_UPDATES),
                            "drop_pending_updates": drop_pending_updates}
    try:
        resp = requests.post(f"{api_base.rstrip('/')}/bot{token}/setWebhook", json=body,
                             timeout=timeout)
    except requests.RequestException as exc:
        return False, f"could not reach the Bot API ({type(exc).__name__})"
    try:
        answer = resp.json()
    except ValueError:
        return False, f"the Bot API answered HTTP {resp.status_code} without JSON"
    description = str(answer.get("description") or "") if isinstance(answer, dict) else ""
    ok = resp.status_code == 200 and isinstance(answer, dict) and answer.get("ok") is True
    return ok, description or f"HTTP {resp.status_code}"


def cmd_set_webhook(args: argparse.Namespace) -> int:
    settings = args.load_settings(args.config)
    cfg = settings.channels.telegram
    if not cfg.enabled:  # Telegram would deliver to a path the hub does not serve
        print("error: channels.telegram.enabled is false: serve would not answer "
              "/webhooks/telegram. Enable the channel first.", file=sys.stderr)
        return 2
    missing = [f"channels.telegram.{key}" for key in ("bot_token", "secret_token")
               if not getattr(cfg, key).get_secret_value()]
    if missing:
        print(f"error: missing settings: {', '.join(missing)}", file=sys.stderr)
        return 2
    url = args.url or webhook_url(settings.server.public_base_url)
    if not url.startswith("https://"):
        print(f"warning: Telegram only delivers to https:// URLs; {url} will be refused by the "
              "real Bot API", file=sys.stderr)
    ok, description = set_webhook(cfg.api_base, cfg.bot_token.get_secret_value(), url,
                                  cfg.secret_token.get_secret_value(),
                                  drop_pending_updates=args.drop_pending_updates)
    if not ok:
        hint = (" (check channels.telegram.bot_token)"
                if description in ("Unauthorized", "Not Found", "HTTP 401", "HTTP 404") else "")
        print(f"error: setWebhook failed: {description}{hint}", file=sys.stderr)
        return 1
    print(f"webhook set: {url} ({description})")
    return 0


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add("telegram-set-webhook", cmd_set_webhook,
            "register server.public_base_url + /webhooks/telegram and the secret token with Telegram")
    p.add_argument("--url", help="webhook URL (default: server.public_base_url + /webhooks/telegram)")
    p.add_argument("--drop-pending-updates", action="store_true",
                   help="discard updates Telegram queued while no webhook was set")
