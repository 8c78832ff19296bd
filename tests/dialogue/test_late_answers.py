"""An answer to the dialogue's last question that comes after the assembly window ended joins
that report (walkthrough defect: after "Sự việc ở đâu ạ?", "trước số 25 đường Trần Phú" sent
late made a second report, asked the same question again)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import text, update

from hub.keys import HUB_KEY
from router import templates
from store.leases import HUB_LEADER
from store.models import Report
from tests.conftest import wait_for
from tests.dialogue.chat_support import TelegramCitizen, telegram_hub

QUIET = "Rác thải sinh hoạt đổ bừa bãi, bốc mùi hôi thối mấy ngày nay"


async def _window_ended(citizen):
    async def routed():
        reports = await citizen.reports()
        return reports if reports and reports[-1].status != "received" else None
    reports = await wait_for(routed, timeout=30)
    # its "forwarded"/"triage" message too
    await citizen.answers(2)
    # The job closes the window a little after it ended; a message's date is in whole seconds.
    await asyncio.sleep(2)
    return reports


async def test_late_place_answer_joins_the_report_once(settings_factory, hub_client, fake_api):
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api, window=0.1)
    citizen = TelegramCitizen(client, bot_api, chat=512340091)
    await citizen.say(QUIET)
    [ack] = await citizen.answers(1)
    assert "Sự việc ở đâu" in ack
    [report] = await _window_ended(citizen)
    assert report.address is None and report.extra["dialogue"]["asked"] == ["place"]

    await citizen.say("trước số 25 đường Trần Phú")
    thanks = (await citizen.answers(3))[2]
    assert thanks == templates.render("dialogue_thanks", code=report.code)
    [report] = await citizen.reports()
    assert report.address == "trước số 25 đường Trần Phú"
    assert "trước số 25 đường Trần Phú" in report.description
    assert report.extra["late_answer"] == "place"

    # Once: a second late place (after the window again) is a new report.
    await asyncio.sleep(8)
    await citizen.say("kiệt 7 đường Ngự Bình cũng có rác")
    await citizen.answers(4)
    assert len(await citizen.reports()) == 2


async def test_late_answers_that_do_not_fit_or_come_too_late(settings_factory, hub_client,
                                                             fake_api):
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api, window=0.1)
    citizen = TelegramCitizen(client, bot_api, chat=512340092)
    await citizen.say(QUIET)
    await citizen.answers(1)
    [report] = await _window_ended(citizen)

    # Not an answer to "where?": a report of its own.
    await citizen.say("Cây xanh gãy đổ chắn ngang lối đi")
    await citizen.answers(3)
    reports = await citizen.reports()
    assert len(reports) == 2 and reports[0].address is None

    # Six hours on, an address is no longer taken as the late answer.
    citizen2 = TelegramCitizen(client, bot_api, chat=512340093, first_update=830709001)
    await citizen2.say(QUIET)
    await citizen2.answers(1)
    [old] = await _window_ended(citizen2)
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await session.execute(update(Report).where(Report.id == old.id).values(
            last_message_at=old.last_message_at - timedelta(hours=6, minutes=1)))
    await citizen2.say("trước số 25 đường Trần Phú")
    await citizen2.answers(3)
    reports = await citizen2.reports()
    assert len(reports) == 2 and reports[0].address is None


async def test_a_late_answer_before_the_window_job_ran(settings_factory, hub_client, fake_api):
    """Left by the dialogue walkthrough: an answer sent after the window ended but before the
    leader's window job closed the dialogue (it runs every few seconds, later when the leader is
    busy or changing) made a second report. Here another replica holds the leader lease, so
    this hub, which takes the citizen's messages, never runs the window job."""
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api, window=0.05,
                                         workers={"leader_lease_seconds": 3})
    hub = client.app[HUB_KEY]
    async with hub.engine.begin() as conn:  # replica-2 took the lease (ours lapsed, say)
        await conn.execute(text("UPDATE leases SET holder = 'replica-2', "
                                "expires_at = '9999-01-01 00:00:00.000000' WHERE name = :n"),
                           {"n": HUB_LEADER})

    async def follower() -> bool:
        return not hub.is_leader
    await wait_for(follower)  # this hub's next renewal finds it taken
    citizen = TelegramCitizen(client, bot_api, chat=512340093)
    await citizen.say(QUIET)
    await citizen.answers(1)
    await asyncio.sleep(5)
    [report] = await citizen.reports()
    assert report.status == "received"  # nothing closed it
    await citizen.say("trước số 25 đường Trần Phú")
    texts = await citizen.answers(3)
    # closed and routed first (the citizen told where it went), then thanked for the answer
    assert texts[2] == templates.render("dialogue_thanks", code=report.code)
    [report] = await citizen.reports()
    assert report.status != "received" and report.address == "trước số 25 đường Trần Phú"
    assert report.extra["late_answer"] == "place" and report.extra["dialogue"]["done"]
