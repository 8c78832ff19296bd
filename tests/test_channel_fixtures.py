"""One harness over every channel's recorded fixtures (Zulip-style: one test per fixture).

For each registered channel (``channels.registry.ADAPTERS``) every fixture
``tests/fixtures/<channel>/<event>__<variant>.<ext>`` is turned into the payloads the inbox
stores (a webhook body through the adapter's own ``decode`` and ``split``; an .eml or a
call-center export through the readers below), each payload goes through the adapter's pure
``parse``, and the InboundMessages, serialized as tests/fixtures/README.md describes, must equal
``<event>__<variant>.expected.json`` beside the fixture. A fixture without one fails.

When a parser changes on purpose: ``HUB_UPDATE_FIXTURES=1 pytest tests/test_channel_fixtures.py``
rewrites the expectation files from the current output; read the diff before committing it.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from channels.base import ChannelAdapter
from channels.registry import ADAPTERS, adapter_class, channels_settings
from channels.webhook import WebhookChannel
from normalizer.schema import InboundMessage

FIXTURES = Path(__file__).resolve().parent / "fixtures"
UPDATE = os.environ.get("HUB_UPDATE_FIXTURES") == "1"
EXPECTED_SUFFIX = ".expected.json"
FIXTURE_NAME = re.compile(r"^[a-z0-9_]+__[A-Za-z0-9_\-]+\.[a-z0-9]+$")
# Files a channel's fixture folder may hold besides fixtures and their expectations.
SUPPORT_FILES = ("contract.toml", "*.md", "*.py")

# Settings a channel's parser depends on (merged over the section's defaults). Only needed
# where the defaults will not do: the email parser recognizes the center's own address and
# Message-IDs; the Telegram adapter cannot be built without a bot token.
PARSE_SETTINGS: dict[str, dict[str, Any]] = {
    "email": {"username": "phananh@hue.gov.vn", "from_address": "phananh@hue.gov.vn"},
    "telegram": {"bot_token": "123456:fixture-token", "secret_token": "fixture"},
}


# --- fixture → stored payloads ---------------------------------------------------------------
class Read:
    """What the intake would store for one fixture: payloads, and rows refused on the way."""

    def __init__(self, payloads: list[dict[str, Any]], rejects: list[list[Any]] | None = None):
        self.payloads, self.rejects = payloads, rejects


def read_webhook_body(adapter: ChannelAdapter, path: Path, options: dict[str, Any]) -> Read:
    """A recorded POST body, decoded and split exactly as the channel's webhook does."""
    if not isinstance(adapter, WebhookChannel):
        pytest.fail(f"the {adapter.name} channel takes no webhook bodies: give its fixtures a "
                    "reader in READERS")
    return Read([event.payload for event in adapter.split(adapter.decode(path.read_bytes()))])


def read_mail(adapter: ChannelAdapter, path: Path, options: dict[str, Any]) -> Read:
    """A raw mail as the IMAP poller stores it (UID 42 of INBOX, UIDVALIDITY 7); ``options``
    are further stored fields (e.g. ``truncated``)."""
    return Read([{"raw": base64.b64encode(path.read_bytes()).decode(), "uid": 42,
                  "uidvalidity": 7, "mailbox": "INBOX", **options}])


HOTLINE_NOW = datetime(2026, 11, 6, 0, 0, tzinfo=UTC)  # calls older than 24 h are "silent"


def read_call_export(adapter: ChannelAdapter, path: Path, options: dict[str, Any]) -> Read:
    """A call-center export through the importer's reader (``options``: ReaderOptions fields,
    e.g. ``column_map`` or ``sheet``); refused rows are part of the expectation."""
    from channels.hotline.records import CallReader, CallRecord, ReaderOptions

    with CallReader(path, ReaderOptions(now=HOTLINE_NOW, **options)) as reader:
        items = list(reader)
    return Read([json.loads(i.payload) for i in items if isinstance(i, CallRecord)],
                [[i.row, i.reason] for i in items if not isinstance(i, CallRecord)])


# Channels whose fixtures are not webhook bodies. Any other channel's fixtures are recorded
# POST bodies, so a new webhook channel needs nothing here.
READERS: dict[str, Callable[[ChannelAdapter, Path, dict[str, Any]], Read]] = {
    "email": read_mail,
    "hotline": read_call_export,
}


@cache
def adapter(channel: str) -> ChannelAdapter:
    """The channel's adapter, built from its settings model without a hub: ``parse`` is pure."""
    section = getattr(channels_settings({channel: PARSE_SETTINGS.get(channel, {})}), channel)
    return adapter_class(channel)(None, section)  # type: ignore[arg-type]


# --- the one serialized form --------------------------------------------------------------------
def plain(value: Any) -> Any:
    """JSON-able: datetimes as ISO 8601, bytes as their sha256, tuples as lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def serialize(msg: InboundMessage) -> dict[str, Any]:
    loc, who = msg.location, msg.contact
    return {
        "channel": msg.channel, "external_id": msg.external_id, "sender_id": msg.sender_id,
        "kind": msg.kind, "text": msg.text, "sent_at": plain(msg.sent_at),
        "attachments": [{"kind": a.kind, "url": a.url, "content_type": a.content_type,
                         "name": a.name, "size": a.size,
                         "sha256": hashlib.sha256(a.data).hexdigest() if a.data is not None else None}
                        for a in msg.attachments],
        "location": None if loc is None else {"lat": loc.lat, "lon": loc.lon,
                                              "address": loc.address, "ward": loc.ward},
        "contact": None if who is None else {"name": who.name, "phone": who.phone,
                                             "email": who.email},
        "report_code": msg.report_code,
        "reply_context": plain(msg.reply_context),
        "meta": plain(msg.meta),
    }


def run(channel: str, path: Path, options: dict[str, Any]) -> dict[str, Any]:
    channel_adapter = adapter(channel)
    read = READERS.get(channel, read_webhook_body)(channel_adapter, path, options)
    out: dict[str, Any] = {}
    if options:
        out["options"] = options
    out["messages"] = [serialize(m) for p in read.payloads for m in channel_adapter.parse(p)]
    if read.rejects is not None:
        out["rejects"] = read.rejects
    # Through JSON and back, so what is compared is exactly what the file can hold.
    return json.loads(json.dumps(out, ensure_ascii=False))


# --- discovery ---------------------------------------------------------------------------------
def expectation_of(path: Path) -> Path:
    return path.with_name(path.name.rsplit(".", 1)[0] + EXPECTED_SUFFIX)


def channel_folders() -> list[tuple[str, Path]]:
    return [(name, FIXTURES / name) for name in sorted(ADAPTERS) if (FIXTURES / name).is_dir()]


def is_fixture(path: Path) -> bool:
    return (path.is_file() and not path.name.endswith(EXPECTED_SUFFIX)
            and FIXTURE_NAME.match(path.name) is not None)


def fixtures() -> list[tuple[str, Path]]:
    return [(name, p) for name, folder in channel_folders()
            for p in sorted(folder.iterdir()) if is_fixture(p)]


CASES = fixtures()


@pytest.mark.parametrize(("channel", "path"), CASES,
                         ids=[f"{c}/{p.name}" for c, p in CASES])
def test_fixture(channel: str, path: Path) -> None:
    expected_path = expectation_of(path)
    stored = (json.loads(expected_path.read_text(encoding="utf-8"))
              if expected_path.exists() else None)
    got = run(channel, path, (stored or {}).get("options", {}))
    if UPDATE:
        if got != stored:
            expected_path.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n",
                                     encoding="utf-8")
        return
    if stored is None:
        pytest.fail(f"{path.relative_to(FIXTURES)} has no {expected_path.name}: write it with "
                    "HUB_UPDATE_FIXTURES=1 and read it before committing")
    assert got == stored


@pytest.mark.parametrize(("channel", "folder"), channel_folders(),
                         ids=[name for name, _ in channel_folders()])
def test_fixture_folder_holds_only_fixtures_and_expectations(channel: str, folder: Path) -> None:
    """A misnamed fixture would be skipped silently, an orphan expectation never checked."""
    strays = []
    for path in sorted(folder.iterdir()):
        if path.is_dir() or is_fixture(path) or any(path.match(g) for g in SUPPORT_FILES):
            continue
        if path.name.endswith(EXPECTED_SUFFIX) and any(
                is_fixture(p) and expectation_of(p) == path
                for p in folder.glob(path.name[:-len(EXPECTED_SUFFIX)] + ".*")):
            continue
        strays.append(path.name)
    assert not strays, f"not <event>__<variant>.<ext> fixtures or their expectations: {strays}"
