"""``hub public-hide``: the center hides a report or a photo from the command line."""
from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from store.db import make_engine, sessionmaker
from store.models import Attachment
from store.public_models import ReportModeration
from tests.conftest import seed_report_db


def test_public_hide_and_show_from_the_command_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    import main

    # --photo must name one of the report's photos
    url, config = seed_report_db(tmp_path, "PA-2026-000042", lambda report_id: Attachment(
        report_id=report_id, channel="web", kind="image", sha256="ab" * 32, state="stored"))

    async def moderation() -> tuple[bool, list[str], str | None] | None:
        engine = make_engine(url)
        async with sessionmaker(engine)() as session:
            row = (await session.execute(select(ReportModeration))).scalar_one_or_none()
        await engine.dispose()
        return (row.hidden, row.hidden_photos, row.reason) if row else None

    assert main.main(["public-hide", "pa-2026-000042", "--reason", "ảnh nhạy cảm", "--config", str(config)]) == 0
    assert "hidden from the public portal" in capsys.readouterr().out
    assert asyncio.run(moderation()) == (True, [], "ảnh nhạy cảm")
    assert main.main(["public-hide", "PA-2026-000042", "--photo", "AB" * 32, "--config", str(config)]) == 0
    assert main.main(["public-hide", "PA-2026-000042", "--show", "--config", str(config)]) == 0
    assert asyncio.run(moderation()) == (False, ["ab" * 32], None)
    assert main.main(["public-hide", "PA-2026-999999", "--config", str(config)]) == 2
    assert "no report" in capsys.readouterr().err
