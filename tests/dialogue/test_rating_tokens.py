"""One-time rating links (router.rating): issued when a report is resolved, rate once, expire;
the page's form calls ``rate_with_token``. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from router.rating import (
    RatingRefused,
    issue_rating_token,
    rate_with_token,
    rating_token_report,
    rating_url,
)
from store.db import make_engine, migrate, sessionmaker
from store.models import RatingToken, Report, ReportEvent, utcnow

CTX = SimpleNamespace(public_base_url="http://hub.test/")


async def _store(db_url):
    engine = make_engine(db_url)
    await migrate(engine)
    return engine, sessionmaker(engine)


async def _resolved(sessions, code="PA-2026-000042", status="resolved") -> int:
    async with sessions() as session, session.begin():
        report = Report(code=code, channel="hotline", status=status, description="Ổ gà",
                        external_ids=[], extra={}, reply_context={})
        session.add(report)
        await session.flush()
        return report.id


async def _refused(sessions, code, token, score, comment=None) -> RatingRefused:
    async with sessions() as session, session.begin():
        with pytest.raises(RatingRefused) as caught:
            await rate_with_token(CTX, session, code, token, score, comment)
    return caught.value


async def test_a_link_rates_once_and_only_its_report(db_url):
    engine, sessions = await _store(db_url)
    try:
        report_id = await _resolved(sessions)
        await _resolved(sessions, code="PA-2026-000043")
        async with sessions() as session, session.begin():
            token = await issue_rating_token(session, await session.get(Report, report_id))
        assert rating_url(CTX, "PA-2026-000042", token) == f"http://hub.test/r/PA-2026-000042?rate={token}"
        async with sessions() as session:
            hashes = (await session.execute(select(RatingToken.token_hash))).scalars().all()
            assert token not in hashes and len(hashes[0]) == 64  # only the hash is stored
            assert (await rating_token_report(session, "PA-2026-000042", token)).id == report_id
            assert await rating_token_report(session, "PA-2026-000043", token) is None

        assert (await _refused(sessions, "PA-2026-000042", token, 6)).status == 400
        assert (await _refused(sessions, "PA-2026-000042", token, True)).status == 400
        assert (await _refused(sessions, "PA-2026-000043", token, 5)).status == 404  # another's
        assert (await _refused(sessions, "PA-2026-000042", "made-up", 5)).status == 404
        async with sessions() as session, session.begin():
            rated = await rate_with_token(CTX, session, "PA-2026-000042", token, 4, "  hơi chậm ")
            assert (rated.rating_score, rated.rating_comment) == (4, "hơi chậm")
        assert (await _refused(sessions, "PA-2026-000042", token, 5)).status == 410  # used
        async with sessions() as session:
            report = await session.get(Report, report_id)
            assert report.rating_score == 4
            assert await rating_token_report(session, "PA-2026-000042", token) is None
            notes = (await session.execute(select(ReportEvent.note).where(
                ReportEvent.report_id == report_id, ReportEvent.kind == "rating"))).scalars().all()
            assert notes == ["đánh giá 4/5 qua liên kết đánh giá"]
    finally:
        await engine.dispose()


async def test_expired_links_and_unresolved_reports_are_refused(db_url):
    engine, sessions = await _store(db_url)
    try:
        report_id = await _resolved(sessions)
        async with sessions() as session, session.begin():
            old = await issue_rating_token(session, await session.get(Report, report_id))
            fresh = await issue_rating_token(session, await session.get(Report, report_id))
        async with sessions() as session, session.begin():
            row = (await session.execute(select(RatingToken).order_by(RatingToken.id))).scalars().first()
            row.expires_at = utcnow() - timedelta(seconds=1)
        assert (await _refused(sessions, "PA-2026-000042", old, 5)).status == 410
        async with sessions() as session, session.begin():
            (await session.get(Report, report_id)).status = "in_progress"  # reopened
        assert (await _refused(sessions, "PA-2026-000042", fresh, 5)).status == 409
        async with sessions() as session:
            assert (await session.get(Report, report_id)).rating_score is None
    finally:
        await engine.dispose()
