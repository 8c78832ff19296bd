"""JSON strings no database column can hold — an unpaired UTF-16 surrogate (``"\\ud800"``, no
UTF-8 encoding) — in a channel's webhook: the event is kept with U+FFFD in its place
(normalizer.jsonsafe ``text="replace"``), not a 503 from an intake write that fails on every
redelivery. A NUL is kept for the normalizer to clean (the stored JSON escapes it). Both
databases. The agency API refuses both (``text="refuse"``)."""
from __future__ import annotations

import json

from sqlalchemy import select

from hub.keys import HUB_KEY
from normalizer.jsonsafe import JSONRefused, loads_bounded
from store.models import InboxEvent
from tests.telegram.conftest import bot_api, telegram_hub  # noqa: F401 - fixtures used here
from tests.telegram.fakebot import SECRET, load


def test_loads_bounded_replaces_or_refuses_unstorable_strings():
    raw = b'{"a":"x\\ud800y","b":["\\u0000"],"c":"\\ud83d\\ude9b","d":{"e f":"\\udfff"}}'
    assert loads_bounded(raw) == {"a": "x\ufffdy", "b": ["\x00"], "c": "🚛", "d": {"e f": "\ufffd"}}
    assert loads_bounded('"\ud800"') == "\ufffd"  # a str with the surrogate itself
    assert loads_bounded(b'"\xed\xa0\xbd\xed\xba\x9b"') == "🚛"  # CESU-8: a pair, joined
    assert loads_bounded(b'{"k":"Vi\xe1\xbb\x87t"}') == {"k": "Việt"}
    for body, field in ((b'{"note":"\\ud800"}', "note"), (b'{"a":{"b":[1,"\\u0000"]}}', "a.b[1]"),
                        (b'{"a":{"x y":"\\u0000"}}', "a.*"), (b'"\\udc00"', "the body")):
        try:
            loads_bounded(body, text="refuse")
        except JSONRefused as exc:
            assert exc.field == field and str(exc).startswith(f"{field} is not valid text")
        else:
            raise AssertionError(body)


async def test_a_webhook_with_unstorable_text_is_kept(telegram_hub, db_url):  # noqa: F811
    client = await telegram_hub(workers=False, db_url=db_url)
    update = load("message__text")
    update["message"]["text"] = "Rác\ud800 ở đường\u0000 Lê Lợi"
    raw = json.dumps(update).encode()  # ASCII: the \\ud800 and \\u0000 escapes as providers send
    assert b"\\ud800" in raw and b"\\u0000" in raw
    resp = await client.post("/webhooks/telegram", data=raw, headers={
        "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert resp.status == 200, await resp.text()
    async with client.app[HUB_KEY].sessions() as session:
        [row] = (await session.execute(select(InboxEvent))).scalars().all()
    assert json.loads(row.payload)["message"]["text"] == "Rác\ufffd ở đường\x00 Lê Lợi"
