"""``hub public-hide CODE --photo SHA256`` hides that photo only when it is one of the report's
photos: a mistyped hash (the real one minus a character) or something that is no hash at all is
refused (exit 2, the report's photos listed) instead of "hidden" while the real photo stays
public. Real hub, real portal, real CLI (``main.main``) on the same SQLite file."""
from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import Attachment
from store.public_models import ReportModeration
from tests.portal.conftest import jpeg, seed_report


async def cli(config: Path, *argv: str) -> int:
    import main

    return await asyncio.to_thread(main.main, ["public-hide", *argv, "--config", str(config)])


async def setup(portal, tmp_path: Path) -> tuple[Path, str, str]:
    hub = portal.app[HUB_KEY]
    config = tmp_path / "cli-settings.toml"
    config.write_text(f'[database]\nurl = "{hub.settings.database_url}"\n', encoding="utf-8")
    code = await seed_report(portal, photos=[jpeg()])
    async with hub.sessions() as session:
        sha = (await session.execute(select(Attachment.sha256))).scalar_one()
    return config, code, sha


async def hidden_photos(portal) -> list[str]:
    async with portal.app[HUB_KEY].sessions() as session:
        row = (await session.execute(select(ReportModeration))).scalar_one_or_none()
    return list(row.hidden_photos or []) if row else []


async def test_a_mistyped_hash_is_refused_and_the_photo_stays_as_it_was(portal, tmp_path, capsys):
    config, code, sha = await setup(portal, tmp_path)
    url = f"/r/{code}/photos/{sha}.jpg"
    assert (await portal.get(url)).status == 200
    for wrong in (sha[:-1], "nothex", sha[:-1] + ("0" if sha[-1] != "0" else "1")):
        assert await cli(config, code, "--photo", wrong) == 2
        err = capsys.readouterr()
        assert "hidden from the public portal" not in err.out
        assert wrong in err.err and ("not a SHA-256" in err.err or sha in err.err)
    assert await hidden_photos(portal) == []
    assert (await portal.get(url)).status == 200


async def test_the_real_hash_hides_the_photo_and_show_brings_it_back(portal, tmp_path, capsys):
    config, code, sha = await setup(portal, tmp_path)
    url = f"/r/{code}/photos/{sha}.jpg"
    assert await cli(config, code.lower(), "--photo", sha.upper()) == 0
    assert "hidden from the public portal" in capsys.readouterr().out
    assert await hidden_photos(portal) == [sha]
    assert (await portal.get(url)).status == 404
    assert await cli(config, code, "--photo", sha, "--show") == 0
    assert await hidden_photos(portal) == []
    assert (await portal.get(url)).status == 200


async def test_an_unknown_report_with_a_photo_is_still_no_report(portal, tmp_path, capsys):
    config, _, sha = await setup(portal, tmp_path)
    assert await cli(config, "PA-2026-999999", "--photo", sha) == 2
    assert "no report" in capsys.readouterr().err
