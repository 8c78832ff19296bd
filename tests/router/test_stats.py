"""Public statistics per agency: counts only, never personal data."""
from datetime import UTC, datetime, timedelta

import pytest

from router.rating import rating_of, rating_with_comment
from router.stats import StatRow, aggregate
from tests.router.helpers import ENV_FORM, ROAD_FORM, post_report, token

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
AGENCIES = [("a", "Đơn vị A"), ("b", "Đơn vị B"), ("c", "Đơn vị C")]


def row(agency, status, days=None, due_days=3, rating=None):
    resolved = T0 + timedelta(days=days) if days is not None else None
    return StatRow(agency, status, T0, T0 + timedelta(days=due_days), resolved, rating)


def test_aggregate_counts_on_time_median_and_satisfaction():
    rows = [row("a", "resolved", 1, rating=5), row("a", "closed", 2, rating=3),
            row("a", "resolved", 6, rating=4), row("a", "in_progress"), row("a", "forwarded", due_days=30),
            row("b", "forwarded"), row(None, "triage"), row("gone", "resolved", 1, rating=1)]
    data = aggregate(rows, AGENCIES, now=T0 + timedelta(days=10))
    a, b, c = data["agencies"]
    assert (a["received"], a["resolved"], a["on_time"], a["open"], a["overdue"]) == (5, 3, 2, 2, 1)
    assert a["on_time_rate"] == 0.667 and a["median_days_to_resolve"] == 2.0
    assert a["satisfaction"] == {"average": 4.0, "ratings": 3}
    assert (b["received"], b["overdue"], b["median_days_to_resolve"], b["on_time_rate"]) == (1, 1, None, None)
    assert c["received"] == 0 and c["satisfaction"] == {"average": None, "ratings": 0}
    assert data["total"] == {"reports": 8, "in_triage": 1, "resolved": 4, "ratings": 4,
                             "satisfaction": 3.25}


@pytest.mark.parametrize(("text", "score"), [
    ("5", 5), (" 1 ", 1), ("4/5", 4), ("3.", 3), ("2!", 2),
    ("6", None), ("0", None), ("55", None), ("5 sao nhưng còn bẩn", None), ("", None), (None, None),
])
def test_only_a_bare_digit_is_a_rating(text, score):
    assert rating_of(text) == score


@pytest.mark.parametrize(("text", "expected"), [
    ("5 rất tốt, cảm ơn", (5, "rất tốt, cảm ơn")),
    ("5, rat tot", (5, "rat tot")),
    ("4 sao - hơi chậm", (4, "hơi chậm")),
    ("3/5 còn bẩn", (3, "còn bẩn")),
    ("5 sao nhưng còn bẩn", (5, "nhưng còn bẩn")),
    ("5 ổ gà trước nhà số 12", None),  # a new report, not a rating
    ("12 cây xanh bị đổ", None),
    ("5", None),  # a bare digit is rating_of's
])
def test_a_digit_with_a_comment_is_a_rating_when_plainly_one(text, expected):
    assert rating_with_comment(text) == expected


async def test_stats_page_and_api_have_no_personal_data(settings_factory, hub_client, db_url):
    client = await hub_client(settings_factory(db_url))
    code = await post_report(client, ENV_FORM)
    await post_report(client, ROAD_FORM)
    auth = await token(client, "moi-truong")
    for status, note in (("in_progress", "Đang xử lý"), ("resolved", "Đã thu gom")):
        resp = await client.post(f"/api/v1/reports/{code}/status", json={"status": status, "note": note},
                                 headers=auth)
        assert resp.status == 200
    data = await (await client.get("/api/public/stats")).json()
    env, road = data["agencies"]
    assert (env["agency"], env["received"], env["resolved"], env["on_time"]) == ("moi-truong", 1, 1, 1)
    assert env["median_days_to_resolve"] == 0.0 and env["on_time_rate"] == 1.0
    assert (road["received"], road["resolved"], road["open"]) == (1, 0, 1)
    assert data["total"]["reports"] == 2
    page = await client.get("/stats")
    html = await page.text()
    assert page.status == 200 and "Công ty Môi trường đô thị Huế" in html and "Thống kê" in html
    for body in (html, await (await client.get("/api/public/stats")).text()):
        for private in ("0905", "lan@example.vn", "Lan", "Rác thải", "Lê Lợi", code):
            assert private not in body
    bad = await client.get("/api/public/stats?since=yesterday")
    assert bad.status == 400 and (await bad.json())["error"].startswith("since phải là ngày theo ISO 8601")
    later = await (await client.get("/api/public/stats?since=2999-01-01")).json()
    assert later["total"]["reports"] == 0
