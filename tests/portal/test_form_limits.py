"""The report form's limits against abuse: a form_key replayed past the hourly limit passes only
as a true resend and leaves no photo behind; every post is charged to the refused-posts limit
before it is read (refunded once accepted), 409s and 429s stay charged; an unreadable body is a
Vietnamese 400, never aiohttp's English 500."""
from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.keys import HUB_KEY
from store.models import InboxEvent, MediaBlob
from tests.portal.conftest import jpeg
from tests.portal.test_form import FORM, form_key, multipart
from tests.portal.test_form_photos_png import image_bytes, media_files
from web.portal.keys import REFUSED_FACTOR


def png(n: int) -> bytes:
    """A different small PNG for each ``n``."""
    return image_bytes("PNG", (64 + n, 48))


async def inbox_rows(client: Any) -> int:
    async with client.app[HUB_KEY].sessions() as session:
        return (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one()


async def test_replays_of_a_stored_form_key_past_the_limit_leave_no_photo_and_are_charged(
        settings_factory: Any, hub_client: Any) -> None:
    client = await hub_client(settings_factory(portal={"form_per_hour": 1}))
    key = await form_key(client)
    photo = [("IMG_1.jpg", jpeg(), "image/jpeg")]
    first = await client.post("/report", data=multipart({**FORM, "form_key": key}, photo), allow_redirects=False)
    assert first.status == 303
    stored = sorted(media_files(client))
    assert len(stored) == 1
    # the same form sent again past the limit (double click, back + send): the same submission
    again = await client.post("/report", data=multipart({**FORM, "form_key": key}, photo), allow_redirects=False)
    assert again.status == 303 and again.headers["Location"] == first.headers["Location"]
    # its key with other photos is a new report in disguise: the limit's 429, and nothing written
    statuses = []
    for n in range(REFUSED_FACTOR + 5):
        resp = await client.post("/report", data=multipart({**FORM, "form_key": key},
                                                           [(f"x{n}.png", png(n), "image/png")]),
                                 allow_redirects=False)
        statuses.append(resp.status)
        if resp.status == 429:
            assert "quá nhiều phản ánh" in await resp.text()
    assert set(statuses) == {429}
    assert sorted(media_files(client)) == stored
    assert await inbox_rows(client) == 1
    # those 429s were charged to the refused-posts limit: a bad post is now not even read
    bad = await client.post("/report", data=multipart({**FORM, "phone": "12345"}), allow_redirects=False)
    assert bad.status == 429


async def test_a_conflicting_resubmission_writes_no_photo_and_counts_as_refused(
        settings_factory: Any, hub_client: Any) -> None:
    client = await hub_client(settings_factory(portal={"form_per_hour": 1000}))
    key = await form_key(client)
    first = await client.post("/report", data=multipart({**FORM, "form_key": key},
                                                        [("a.jpg", jpeg(), "image/jpeg")]), allow_redirects=False)
    assert first.status == 303
    stored = sorted(media_files(client))
    for n in range(3):
        resp = await client.post("/report", data=multipart({**FORM, "form_key": key},
                                                           [(f"b{n}.png", png(n), "image/png")]),
                                 allow_redirects=False)
        assert resp.status == 409 and "đã được gửi với nội dung khác" in await resp.text()
    assert sorted(media_files(client)) == stored
    from web.portal.keys import PORTAL_REFUSED_LIMITER

    assert sum(len(w) for w in client.app[PORTAL_REFUSED_LIMITER].seen.values()) == 3


@pytest.mark.parametrize("backend", ["local", "database"])
async def test_photos_of_a_submission_that_stores_nothing_are_deleted_again(
        settings_factory: Any, hub_client: Any, db_url: str, backend: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The key taken between the check and the commit (two sends racing) with other content, or
    the commit failing: the photos this submission wrote are removed; one already stored before
    (another report's) stays. SQLite and, when HUB_TEST_PG_URL is set, PostgreSQL."""
    from aiohttp import web

    from channels.open311.form import FormPhoto, submit_form

    client = await hub_client(settings_factory(db_url, portal={"form_per_hour": 1000},
                                               storage={"backend": backend}))
    hub = client.app[HUB_KEY]
    adapter = hub.channels["web"]
    form = {"category": "environment", "description": "Rác ở kiệt 3", "address": "kiệt 3 Lê Lợi"}
    kept = jpeg()
    assert (await submit_form(adapter, hub.media, form, [FormPhoto(kept, "image/jpeg")], "form-k1")).stored

    async def blobs() -> set[str]:
        async with hub.sessions() as session:
            return set((await session.execute(select(MediaBlob.sha256))).scalars())

    before_files, before_blobs = sorted(media_files(client)), await blobs()

    async def unknown(token: str) -> bool:
        return False
    monkeypatch.setattr(adapter, "_known_token", unknown)  # the race: not stored yet when checked
    other = png(1)
    outcome = await submit_form(adapter, hub.media, form,
                                [FormPhoto(kept, "image/jpeg"), FormPhoto(other, "image/png")], "form-k1")
    assert outcome.status == 409 and not outcome.stored
    assert sorted(media_files(client)) == before_files and await blobs() == before_blobs

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database gone")
    monkeypatch.setattr(hub, "submit", down)
    with pytest.raises(web.HTTPServiceUnavailable):
        await submit_form(adapter, hub.media, form, [FormPhoto(png(2), "image/png")], "form-k2")
    assert sorted(media_files(client)) == before_files and await blobs() == before_blobs
    if backend == "database":
        assert hashlib.sha256(kept).hexdigest() in before_blobs


async def test_every_post_is_charged_before_it_is_read_and_accepted_ones_are_refunded(
        settings_factory: Any, hub_client: Any) -> None:
    from web.portal.keys import PORTAL_REFUSED_LIMITER

    client = await hub_client(settings_factory(portal={"form_per_hour": 1}))
    limit = REFUSED_FACTOR
    refused = client.app[PORTAL_REFUSED_LIMITER]
    # an accepted post is refunded: nothing stays on the refused limit
    assert (await client.post("/report", data=multipart(FORM), allow_redirects=False)).status == 303
    assert sum(len(w) for w in refused.seen.values()) == 0
    # slow bad posts at once: each is charged as it arrives, before its body is read
    gate = asyncio.Event()

    async def slow_body() -> Any:
        yield b"category=&description="
        await gate.wait()
        yield b"x"
    tasks = [asyncio.create_task(client.post(
        "/report", data=slow_body(), headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False)) for _ in range(limit + 5)]
    for _ in range(100):
        await asyncio.sleep(0.02)
        if sum(len(w) for w in refused.seen.values()) >= limit:
            break
    charged = sum(len(w) for w in refused.seen.values())
    gate.set()
    statuses = sorted([(await t).status for t in tasks])
    assert charged == limit
    assert statuses == [400] * limit + [429] * 5


async def test_a_valid_post_answered_429_is_charged_to_the_refused_limit(settings_factory: Any,
                                                                         hub_client: Any) -> None:
    client = await hub_client(settings_factory(portal={"form_per_hour": 1}))
    assert (await client.post("/report", data=multipart(FORM), allow_redirects=False)).status == 303
    for _ in range(REFUSED_FACTOR):
        assert (await client.post("/report", data=multipart(FORM), allow_redirects=False)).status == 429
    bad = await client.post("/report", data=multipart({**FORM, "phone": "12345"}), allow_redirects=False)
    assert bad.status == 429 and "Số điện thoại không đúng" not in await bad.text()  # not even read


@pytest.mark.parametrize(("content_type", "body"), [
    ("application/x-www-form-urlencoded", b"description=\xff\xfe&category=environment"),
    ("application/x-www-form-urlencoded; charset=bogus", b"description=abc"),
    ("application/x-www-form-urlencoded", b"description=%FF%FE&category=environment"),
    ("application/x-www-form-urlencoded; charset=utf-8", "description=Đèn".encode("utf-16")),
])
async def test_an_unreadable_body_is_a_vietnamese_400(settings_factory: Any, hub_client: Any,
                                                     content_type: str, body: bytes) -> None:
    client = await hub_client(settings_factory(portal={"form_per_hour": 1}))
    for _ in range(REFUSED_FACTOR):
        resp = await client.post("/report", data=body, headers={"Content-Type": content_type},
                                 allow_redirects=False)
        text = await resp.text()
        assert resp.status == 400, text[:300]
        assert "Biểu mẫu gửi lên không đọc được." in text and 'lang="vi"' in text
    # charged to the refused limit: the next post is not read
    assert (await client.post("/report", data=body, headers={"Content-Type": content_type})).status == 429
    assert await inbox_rows(client) == 0


async def test_a_urlencoded_form_still_makes_a_report_and_a_huge_one_is_413(portal: Any) -> None:
    from urllib.parse import urlencode

    resp = await portal.post("/report", data=urlencode({**FORM, "form_key": "ab12" * 8}).encode(),
                             headers={"Content-Type": "application/x-www-form-urlencoded"}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/report/sent/form-" + "ab12" * 8
    huge = await portal.post("/report", data=b"description=" + b"a" * (300 * 1024),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert huge.status == 413 and "Nội dung quá dài" in await huge.text()
