"""The queue's word search on its index (migration 0008): the same matches as "every folded word
is somewhere in the folded text" — checked against that rule written in Python, for words of
every length, with and without diacritics, filters, scopes, sorts, pages and the bounded count,
by both of SQLite's strategies — and the index kept current as reports change or go."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import delete

import store.report_list as report_list
from normalizer.text import fold
from store.models import Report, utcnow
from store.report_list import (
    QueueFilter,
    QueueScope,
    fts_query,
    list_reports,
    refresh_search_text,
    search_grams,
    search_text,
    search_words,
)
from tests.console.conftest import ConsoleDB

SYLLABLES = ["Ổ", "gà", "lớn", "giữa", "đường", "Lê", "Lợi", "rác", "thải", "ùn", "ứ", "kiệt", "Đèn", "hỏng",
             "Nguyễn", "Trãi", "Hùng", "Vương", "nước", "ngã", "xe", "máy", "O", "a", "ga-ra", "100%", "lối",
             "đi", "\"ồn\"", "Huế", "Điện", "Biên", "Phủ", "ngõ", "nhà", "số", "12"]
WARDS = ["Phường Thuận Hóa", "Phường Phú Xuân", None]
QUERIES = ["o ga le loi", "ổ gà lê lợi", "Ổ GÀ", "rác", "RAC thai", "le", "o", "a", "đ", "d", "ng", "nga",
           "loi di", "lối đi", "huế", "hue 12", "100%", "%", "_", "ga-ra", "\"on\"", "\"", "a\"b", "*", "(o)",
           "AND", "le loi nguyen trai hung vuong o a d", "xyz", "thuan hoa", "phu xuan ga", "12 so"]


def _text(rnd: random.Random) -> str:
    return " ".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(1, 9)))


async def _seed(db: ConsoleDB, n: int = 120) -> list[Report]:
    rnd = random.Random(8)
    old = utcnow() - timedelta(days=2)
    made = []
    for _ in range(n):
        agency = rnd.choice(["moi-truong", "so-xay-dung", None])
        made.append(await db.add_report(
            description=_text(rnd), address=_text(rnd) if rnd.random() < 0.4 else None,
            ward=rnd.choice(WARDS), agency_id=agency, status="forwarded" if agency else "triage",
            # Same created_at for some: the order's tie-break (id) counts too.
            created_at=old - timedelta(minutes=rnd.randrange(0, 60)), updated_at=old))
    async with db.sessions() as session, session.begin():
        while await refresh_search_text(session, batch=50):
            pass
    return made


def _expected(made: list[Report], q: str, *, agency: str | None = None, ward: str | None = None,
              sort: str = "new") -> list[str]:
    """The rule, in Python: every folded word of q in the folded description, address and ward."""
    words = list(dict.fromkeys(fold(q).split()))[:report_list.MAX_WORDS]
    hits = [r for r in made if all(w in search_text(r.description, r.address, r.ward) for w in words)
            and (agency is None or r.agency_id == agency) and (ward is None or r.ward == ward)]
    hits.sort(key=lambda r: (r.created_at, r.id), reverse=sort == "new")
    return [r.code for r in hits]


async def _found(db: ConsoleDB, q: str, scope: QueueScope = QueueScope(), **flt) -> tuple[list[str], int, bool]:
    codes: list[str] = []
    total, capped = 0, False
    for page in range(1, 100):
        async with db.sessions() as session:
            result = await list_reports(session, QueueFilter(q=q, **flt), scope, now=utcnow(), page=page, page_size=7)
        if page == 1:
            total, capped = result.total, result.capped
        if not result.reports:
            break
        codes += [r.code for r in result.reports]
    return codes, total, capped


def test_grams_words_and_the_fts_query() -> None:
    assert search_grams("o ga") == "|o |g |ga |a "
    assert search_grams("") == ""
    # Words inside another word add nothing; the first MAX_WORDS different words count.
    assert search_words("o ga le loi") == ["ga", "le", "loi"]
    assert search_words("Ổ  GÀ ổ gà") == ["o", "ga"]
    assert search_words("a b c d e f g h i") == list("abcdefgh")
    # Quotes doubled inside FTS5 strings; short words through their grams entry.
    assert fts_query(["loi", "ga", "o", 'a"b']) == 'text : "loi" AND grams : "|ga" AND grams : "|o " AND text : "a""b"'


async def test_word_search_matches_the_rule(console_db: ConsoleDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every query, every page, in both orders, for the center and an agency, with a ward: the
    same reports in the same order as the rule, and the same count. On SQLite once per plan
    (sort the index's matches / walk the order keeping the index's matches / walk the order
    looking each row's folded text up)."""
    made = await _seed(console_db)
    plans = ["sort", "walk", "probe"] if console_db.engine.dialect.name == "sqlite" else ["planner's"]
    checked = 0
    for plan in plans:
        async def forced(*_args: object, _plan: str = plan, sort: str = "new", **_kw: object) -> str:
            return _plan if sort in ("new", "old") else "sort"

        if plan != "planner's":
            monkeypatch.setattr(report_list, "_sqlite_plan", forced)
        for q in QUERIES:
            for sort in ("new", "old"):
                expected = _expected(made, q, sort=sort)
                assert await _found(console_db, q, sort=sort) == (expected, len(expected), False), (q, sort, plan)
                checked += bool(expected)
            mine = _expected(made, q, agency="moi-truong")
            codes, total, _ = await _found(console_db, q, QueueScope(agency_id="moi-truong"))
            assert (codes, total) == (mine, len(mine)), q
            in_ward = _expected(made, q, ward="Phường Thuận Hóa")
            codes, total, _ = await _found(console_db, q, ward="Phường Thuận Hóa")
            assert (codes, total) == (in_ward, len(in_ward)), q
    assert checked > 20  # most queries find something: the comparison is not of empty lists


async def test_bounded_count(console_db: ConsoleDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past COUNT_CAP matches the page says "more than"; pages past it still list the matches."""
    made = await _seed(console_db, n=40)
    monkeypatch.setattr(report_list, "COUNT_CAP", 5)
    expected = _expected(made, "a")
    assert len(expected) > 12
    codes, total, capped = await _found(console_db, "a")
    assert codes == expected and (total, capped) == (5, True)
    few = next(q for q in ("nga", "ga-ra", "hue 12", "xe may") if 0 < len(_expected(made, q)) <= 5)
    codes, total, capped = await _found(console_db, few)
    assert (codes, total, capped) == (_expected(made, few), len(_expected(made, few)), False)


async def test_agency_scope_and_diacritics(console_db: ConsoleDB) -> None:
    old = utcnow() - timedelta(days=1)
    ours = await console_db.add_report(description="Rác thải ở kiệt 5 Lê Lợi", agency_id="moi-truong",
                                       status="forwarded", created_at=old, updated_at=old)
    theirs = await console_db.add_report(description="Rác xây dựng đổ trộm Lê Lợi", agency_id="so-xay-dung",
                                         status="forwarded", created_at=old, updated_at=old)
    async with console_db.sessions() as session, session.begin():
        await refresh_search_text(session)
    for q in ("rác", "rac", "RÁC LÊ LỢI", "rac le loi", "le"):
        assert (await _found(console_db, q, QueueScope(agency_id="moi-truong")))[0] == [ours.code], q
        assert (await _found(console_db, q, QueueScope(agency_id="so-xay-dung")))[0] == [theirs.code], q
        assert sorted((await _found(console_db, q))[0]) == sorted([ours.code, theirs.code]), q
    assert (await _found(console_db, "xay dung", QueueScope(agency_id="moi-truong")))[0] == []


async def test_index_follows_changes_and_deletions(console_db: ConsoleDB) -> None:
    """A report's new text replaces its old words in the index (after the job's next run), one
    changed otherwise keeps its words, and a deleted report leaves the index."""
    old = utcnow() - timedelta(days=1)
    report = await console_db.add_report(description="Cây xanh gãy đổ", created_at=old, updated_at=old)
    other = await console_db.add_report(description="Cây xanh gãy cành", created_at=old, updated_at=old)
    async with console_db.sessions() as session, session.begin():
        assert await refresh_search_text(session) == 2
    assert (await _found(console_db, "gay do"))[0] == [report.code]
    later = utcnow() - timedelta(hours=1)  # older than the raw-text fallback's window
    async with console_db.sessions() as session, session.begin():
        row = await session.get(Report, report.id)
        row.description, row.updated_at = "Nước ngập sâu", later
        row2 = await session.get(Report, other.id)
        row2.status, row2.updated_at = "forwarded", later  # the text is the same
    async with console_db.sessions() as session, session.begin():
        assert await refresh_search_text(session) == 2
    assert (await _found(console_db, "gay do"))[0] == []
    assert (await _found(console_db, "nuoc ngap"))[0] == [report.code]
    assert (await _found(console_db, "cay"))[0] == [other.code]
    async with console_db.sessions() as session, session.begin():
        await session.execute(delete(Report).where(Report.id == other.id))
    assert (await _found(console_db, "cay"))[0] == []
    assert (await _found(console_db, "o"))[0] == [report.code]


async def test_recent_reports_merge_into_the_order(console_db: ConsoleDB) -> None:
    """Reports changed since the job's last run (matched on their raw text) and reports found in
    the index come in one order, page by page, counted once each."""
    now = utcnow()
    older = await console_db.add_report(description="Rác ở chợ Đông Ba", created_at=now - timedelta(days=3),
                                        updated_at=now - timedelta(days=3))
    oldest = await console_db.add_report(description="rác bên sông", created_at=now - timedelta(days=4),
                                         updated_at=now - timedelta(days=4))
    async with console_db.sessions() as session, session.begin():
        await refresh_search_text(session)
    # Changed after the job ran: one new, one created between the two indexed ones; and one
    # already indexed that changed again (found both ways, listed once).
    fresh = await console_db.add_report(description="Rác tràn ra đường", created_at=now - timedelta(minutes=1))
    between = await console_db.add_report(description="rác thải", created_at=now - timedelta(days=3, hours=12),
                                          updated_at=now - timedelta(minutes=2))
    async with console_db.sessions() as session, session.begin():
        row = await session.get(Report, oldest.id)
        row.updated_at = now - timedelta(minutes=3)
    expected = [fresh.code, older.code, between.code, oldest.code]
    assert (await _found(console_db, "rác"))[:2] == (expected, 4)
    assert (await _found(console_db, "rác", sort="old"))[0] == expected[::-1]
    async with console_db.sessions() as session:
        page2 = await list_reports(session, QueueFilter(q="rác"), QueueScope(), now=utcnow(), page=2, page_size=3)
    assert [r.code for r in page2.reports] == [oldest.code] and page2.total == 4
    async with console_db.sessions() as session:  # a full page: counted, each report once
        page1 = await list_reports(session, QueueFilter(q="rác"), QueueScope(), now=utcnow(), page=1, page_size=2)
    assert [r.code for r in page1.reports] == expected[:2] and page1.total == 4 and page1.pages == 2
