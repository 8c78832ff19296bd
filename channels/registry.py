"""Registered channel adapters. Adding a channel is one line here plus its package; everything
else (its settings section, senders, assembly style, routes, the contract test) comes from the
adapter class."""
from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from channels.base import MISSING_PREFIX, ChannelAdapter, ChannelConfigError, ChannelContext

# name → "module:Class".
ADAPTERS: dict[str, str | type[ChannelAdapter]] = {
    "web": "channels.open311.adapter:WebChannel",
    "email": "channels.email.adapter:EmailChannel",
    "hotline": "channels.hotline.adapter:HotlineChannel",
    "zalo": "channels.zalo.adapter:ZaloChannel",
    "messenger": "channels.messenger.adapter:MessengerChannel",
    "telegram": "channels.telegram.adapter:TelegramChannel",
}


def register(name: str, adapter: str | type[ChannelAdapter]) -> None:
    """Add (or replace) a channel at run time, e.g. a plug-in or a test's own channel."""
    ADAPTERS[name] = adapter
    _forget()


def unregister(name: str) -> None:
    ADAPTERS.pop(name, None)
    _forget()


def _forget() -> None:
    """What is derived from the registry (read on every inbound message) is computed once per
    change of the registry."""
    for derived in (_channels_model, chat_channels, dialogue_channels):
        derived.cache_clear()


def adapter_class(name: str) -> type[ChannelAdapter]:
    spec = ADAPTERS[name]
    if isinstance(spec, type):
        return spec
    module, _, cls = spec.partition(":")
    return getattr(importlib.import_module(module), cls)


def adapter_classes() -> dict[str, type[ChannelAdapter]]:
    return {name: adapter_class(name) for name in ADAPTERS}


@lru_cache(maxsize=1)
def _channels_model() -> type[BaseModel]:
    return create_model(
        "ChannelsSettings", __config__=ConfigDict(extra="forbid", validate_default=True),
        **{name: (cls.settings_model, cls.settings_model())
           for name, cls in adapter_classes().items()})


def channels_settings(value: Any) -> BaseModel:
    """The ``[channels]`` table validated section by section with each adapter's own model."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    return _channels_model().model_validate(value or {})


@lru_cache(maxsize=1)
def chat_channels() -> frozenset[str]:
    """Channels whose consecutive messages of one citizen make one report."""
    return frozenset(name for name, cls in adapter_classes().items() if cls.chat_style)


@lru_cache(maxsize=1)
def dialogue_channels() -> frozenset[str]:
    """Channels where the citizen can answer us: the intake dialogue asks there, ratings come
    back there (``ChannelAdapter.dialogue``)."""
    return frozenset(name for name, cls in adapter_classes().items() if cls.dialogue)


def enabled_channels(ctx: ChannelContext, channels: Any) -> dict[str, ChannelAdapter]:
    """Build every enabled channel's adapter from its section; fails fast on missing settings."""
    adapters: dict[str, ChannelAdapter] = {}
    missing: list[str] = []  # every enabled channel's missing keys in one error, not one per start
    for name in ADAPTERS:
        section = getattr(channels, name, None)
        if section is None or not section.enabled:
            continue
        try:
            adapters[name] = adapter_class(name).from_settings(ctx, section)
        except ChannelConfigError as exc:
            missing.append(str(exc).removeprefix(MISSING_PREFIX))
    if missing:
        raise ChannelConfigError(MISSING_PREFIX + ", ".join(missing))
    return adapters
