"""A reply keyboard of the intake dialogue does not outlive it: a citizen who types their answers
instead of tapping keeps no stale "Bỏ qua" / "Xong" — every message without buttons of its own
(the message that ends the dialogue, a status reply) removes the keyboard."""
import json
import time

from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import Report
from tests.conftest import wait_for
from tests.telegram.fakebot import SECRET, channel_settings, load, sent_messages, serve

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


def _markup(sent):
    return json.loads(sent.get("reply_markup") or "{}")


async def test_messages_without_buttons_remove_the_keyboard(settings_factory, hub_client, fake_api):
    bot_api = await fake_api()
    serve(bot_api)
    client = await hub_client(settings_factory(channels=channel_settings(bot_api.url)))
    ids = iter(range(830300001, 830300100))

    async def say(text=None, name="message__text"):
        update = load(name, date=int(time.time()), update_id=next(ids))
        if text is not None:
            update["message"]["text"] = text
        resp = await client.post("/webhooks/telegram", data=json.dumps(update, ensure_ascii=False),
                                 headers=HEADERS)
        assert resp.status == 200

    async def sent(n):
        async def check():
            got = sent_messages(bot_api)
            return got if len(got) >= n else None
        return (await wait_for(check))[n - 1]

    await say("Ổ gà rất lớn giữa đường Lê Lợi, xe máy đi qua dễ ngã.")
    first = await sent(1)
    assert [b["text"] for b in _markup(first)["keyboard"][-1]] == ["Bỏ qua", "Xong"]
    await say("số 12 Lê Lợi, phường Thuận Hóa")  # typed, not tapped: the keyboard stays up
    second = await sent(2)
    assert "keyboard" in _markup(second)
    await say("xong")  # typed too: the dialogue ends

    async def routed():
        async with client.app[HUB_KEY].sessions() as session:
            rep = (await session.execute(select(Report))).scalar()
            return rep if rep is not None and rep.status in ("forwarded", "triage") else None
    report = await wait_for(routed)
    closing = await sent(3)
    assert _markup(closing) == {"remove_keyboard": True}, closing

    await say(f"/status {report.code}")
    status = await sent(4)
    assert status["text"].startswith(f"Phản ánh {report.code}: ")
    assert _markup(status) == {"remove_keyboard": True}
