"""A request aiohttp cannot parse (a 20,000-character request line, a header line too long, a
broken request line) is the client's mistake: one WARNING line at most, no traceback, and not a
byte of the URL (it may carry personal data) — it used to be an ERROR with a full traceback
quoting the line."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

LONG = "a" * 20_000


async def _raw(client: Any, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(data)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(65536), 10)
    writer.close()
    return answer


@pytest.mark.parametrize("raw", [
    f"GET /reports?q={LONG} HTTP/1.1\r\nHost: hub.test\r\n\r\n".encode(),
    f"GET /reports HTTP/1.1\r\nHost: hub.test\r\nX-Note: {LONG}\r\n\r\n".encode(),
    b"GET /reports?q=0912345678 HTTP/1.1 junk\r\nHost: hub.test\r\n\r\n",
])
async def test_a_malformed_request_is_one_warning_without_traceback_or_url(
        settings_factory, hub_client, caplog, raw):
    client = await hub_client(settings_factory())
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        answer = await _raw(client, raw)
        assert answer.split(b" ", 2)[1] == b"400", answer[:200]
        await asyncio.sleep(0.1)
    server = [r for r in caplog.records if r.name.startswith("aiohttp")
              and r.levelno >= logging.WARNING]
    assert len(server) <= 1, [r.getMessage()[:200] for r in server]
    for record in caplog.records:
        if record.levelno < logging.WARNING:
            continue
        text = record.getMessage() + (record.exc_text or "")
        assert record.levelno == logging.WARNING, (record.name, record.levelname, text[:300])
        assert record.exc_info is None, (record.name, text[:300])
        assert "aaaaaaaaaa" not in text and "0912345678" not in text and "/reports" not in text, text[:300]
    # the server still answers afterwards
    assert (await client.get("/healthz")).status == 200
