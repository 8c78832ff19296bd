"""Registered channel adapters. The contract test runs over every entry."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from channels.base import ChannelAdapter

if TYPE_CHECKING:
    from hub.context import Hub

# name → "module:Class". Adding a channel is one line here plus its module.
ADAPTERS: dict[str, str] = {
    "web": "channels.open311.adapter:WebChannel",
    "email": "channels.email.adapter:EmailChannel",
    "hotline": "channels.hotline.adapter:HotlineChannel",
    "zalo": "channels.zalo.adapter:ZaloChannel",
    "messenger": "channels.messenger.adapter:MessengerChannel",
    "telegram": "channels.telegram.adapter:TelegramChannel",
}


def adapter_class(name: str) -> type[ChannelAdapter]:
    module, _, cls = ADAPTERS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def enabled_channels(hub: Hub) -> dict[str, ChannelAdapter]:
    """Build every enabled channel's adapter; fails fast on missing settings."""
    adapters: dict[str, ChannelAdapter] = {}
    for name in ADAPTERS:
        section = getattr(hub.settings.channels, name, None)
        if section is None or not section.enabled:
            continue
        adapters[name] = adapter_class(name).from_settings(hub)
    return adapters
