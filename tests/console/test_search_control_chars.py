"""Control characters in the console's word search: a NUL ("%00") or any other control character
in ``q`` is dropped before the search builds its FTS5 MATCH or its LIKE patterns (a NUL ended
the FTS5 query string, "unterminated string", and PostgreSQL refuses a NUL in text), so the page
answers 200; a query of control characters only is an empty search."""
from __future__ import annotations

from datetime import timedelta

import pytest

from store.models import utcnow
from store.report_list import QueueFilter, QueueScope, list_reports, refresh_search_text, search_words
from tests.console.conftest import ConsoleDB, login

# (query, what it finds: our report about rubbish, both reports (no search) or none)
CONTROL_QUERIES = [("rác\x00", "ours"), ("\x00", "both"), ("ab\x00", "none"), ("\x00\x01\x1f\x7f", "both"),
                   ("Rác\x00thải", "ours"), ("rác\x85", "ours"), ("\x07rác\x1b", "ours"), ("\ud800", "both")]
FOUND = {"ours": (True, False), "both": (True, True), "none": (False, False)}


async def _seed(db: ConsoleDB) -> tuple[str, str]:
    old = utcnow() - timedelta(days=1)
    ours = await db.add_report(description="Rác thải ở kiệt 5 Lê Lợi", agency_id="moi-truong",
                               status="forwarded", created_at=old, updated_at=old)
    other = await db.add_report(description="Đèn đường hỏng", agency_id="moi-truong",
                                status="forwarded", created_at=old - timedelta(minutes=1), updated_at=old)
    async with db.sessions() as session, session.begin():
        await refresh_search_text(session)
    return ours.code, other.code


def test_search_words_drop_control_characters() -> None:
    assert search_words("rác\x00") == ["rac"]
    assert search_words("r\x00ác") == ["r", "ac"]  # a control character separates words
    assert search_words("\x00") == []
    assert search_words("\x00\x01\x1f\x7f\x85") == []


@pytest.mark.parametrize(("q", "finds"), CONTROL_QUERIES)
async def test_store_search_with_control_characters(console_db: ConsoleDB, q: str, finds: str) -> None:
    ours, other = await _seed(console_db)
    for scope in (QueueScope(), QueueScope(agency_id="moi-truong")):
        async with console_db.sessions() as session:
            page = await list_reports(session, QueueFilter(q=q), scope, now=utcnow())
        codes = [r.code for r in page.reports]
        assert (ours in codes, other in codes) == FOUND[finds], q
        if finds == "both":  # only control characters: the same page as no search at all
            async with console_db.sessions() as session:
                empty = await list_reports(session, QueueFilter(), scope, now=utcnow())
            assert (codes, page.total, page.capped) == ([r.code for r in empty.reports], empty.total, False)


async def test_store_search_recent_reports_with_control_characters(console_db: ConsoleDB) -> None:
    """A report changed since the search job's last run is matched on its raw text: that LIKE
    sees the query without its control characters too."""
    fresh = await console_db.add_report(description="Rác thải mới", status="triage")
    async with console_db.sessions() as session:
        page = await list_reports(session, QueueFilter(q="Rác\x00"), QueueScope(), now=utcnow())
    assert [r.code for r in page.reports] == [fresh.code]


@pytest.mark.parametrize("username", ["tt.lan", "mt.hoa"])
@pytest.mark.parametrize(("query", "finds"), [
    ("r%C3%A1c%00", "ours"), ("%00", "both"), ("ab%00", "none"), ("%00%01%1F", "both"),
    ("r%C3%A1c%07%1B", "ours")])
async def test_console_page_with_control_characters(console_db: ConsoleDB, console_client, username: str,
                                                    query: str, finds: str) -> None:
    ours, other = await _seed(console_db)
    await console_db.add_account("tt.lan", "center")
    await console_db.add_account("mt.hoa", "agency", "moi-truong")
    client = await console_client(console_db)
    assert (await login(client, username)).status == 303
    resp = await client.get(f"/console/?q={query}")
    html = await resp.text()
    assert resp.status == 200, html
    assert (ours in html, other in html) == FOUND[finds], query
    assert "\x00" not in html  # the search box and the page's links carry the cleaned text
