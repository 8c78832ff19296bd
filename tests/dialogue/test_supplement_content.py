"""What a later chat message adds to a report (walkthrough defects): an emoji-only message
("🙏🙏") was appended to the text the agency reads; a location pin sent after a text the dialogue
took for the address was dropped (coordinates were taken only while no address existed)."""
from __future__ import annotations

from tests.dialogue.chat_support import TelegramCitizen, telegram_hub

TEXT = "Cây đổ chắn ngang đường, xe máy không qua được"


async def test_emoji_is_not_report_text_and_a_later_pin_places_the_report(settings_factory,
                                                                         hub_client, fake_api):
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api)
    citizen = TelegramCitizen(client, bot_api, chat=512340177)
    await citizen.say(TEXT)
    await citizen.answers(1)
    await citizen.say("🙏🙏")
    [report] = await citizen.reports()
    assert "🙏" not in report.description and report.description.startswith("Cây đổ")
    # an address text first (as the dialogue's answer), then the pin: both kept
    await citizen.say("trước số 25 đường Trần Phú")
    await citizen.location(16.4637, 107.5909)
    [report] = await citizen.reports()
    assert report.address == "trước số 25 đường Trần Phú"
    assert (report.lat, report.lon) == (16.4637, 107.5909)
