"""Replicas share photos: with ``storage.backend = "database"`` two hubs on one database (each
with its own media folder, as two machines) serve each other's photos on every route that
serves media — the agency API, the console and the public portal — and the agency mail attaches
them. With the local folder (the embedded default) the other replica does not have the file."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.keys import HUB_KEY
from hub.settings import Settings
from store.models import Attachment, MediaBlob, Report
from store.storage import DatabaseMediaStore, LocalMediaStore
from store.tokens import issue_token
from tests.conftest import make_settings, wait_for
from tests.portal.conftest import jpeg, run_portal_jobs
from tests.portal.test_form import FORM, form_key, multipart


def replica(tmp_path: Path, name: str, db_url: str, backend: str) -> Settings:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    return make_settings(folder, db_url, storage={"backend": backend, "media_dir": str(folder / "media")},
                         portal={"stats_cache_seconds": 0, "form_per_hour": 1000},
                         channels={"web": {"anonymous_per_hour": 1000}})


async def report_with_photo(client: Any, photo: bytes) -> str:
    """A citizen's form with a photo, sent to this replica; the report's code."""
    key = await form_key(client)
    resp = await client.post("/report", data=multipart({**FORM, "form_key": key},
                                                      [("IMG_1.jpg", photo, "image/jpeg")]),
                             allow_redirects=False)
    assert resp.status == 303, await resp.text()
    location = resp.headers["Location"]

    async def code() -> str | None:
        await run_portal_jobs(client)
        found = re.search(r"PA-\d{4}-\d{6}", await (await client.get(location)).text())
        return found.group(0) if found else None
    found = await wait_for(code)

    async def linked() -> bool:
        await run_portal_jobs(client)
        async with client.app[HUB_KEY].sessions() as session:
            return bool((await session.execute(select(Attachment.id).join(Report).where(
                Report.code == found, Attachment.state == "stored"))).first())
    await wait_for(linked)
    return found


async def test_two_replicas_serve_each_others_photos(db_url: str, tmp_path: Path, hub_client: Any) -> None:
    a = await hub_client(replica(tmp_path, "a", db_url, "database"))
    b = await hub_client(replica(tmp_path, "b", db_url, "database"))
    photo = jpeg(colour=(10, 200, 30))
    sha = hashlib.sha256(photo).hexdigest()
    code = await report_with_photo(a, photo)
    hub_b = b.app[HUB_KEY]
    assert isinstance(hub_b.media, DatabaseMediaStore)
    async with hub_b.sessions() as session:
        report = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
        atts = (await session.execute(select(Attachment).where(Attachment.report_id == report.id))).scalars().all()
        blob = await session.get(MediaBlob, sha)
    assert [att.sha256 for att in atts] == [sha] and blob is not None and blob.size == len(photo)
    # replica B never saw the upload: its folder is empty until it reads the photo
    assert not list((tmp_path / "b" / "media").rglob(sha))
    # public portal photo (a blurred public copy made from the original B fetched from the database)
    resp = await b.get(f"/r/{code}/photos/{sha}.jpg")
    assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
    assert (await resp.read())[:2] == b"\xff\xd8"
    assert list((tmp_path / "b" / "media").rglob(sha))  # now in B's cache
    (next((tmp_path / "b" / "media").rglob(sha))).unlink()  # the API route fetches it again
    async with hub_b.sessions() as session, session.begin():
        token = await issue_token(session, report.agency_id or "center")
    resp = await b.get(f"/api/v1/reports/{code}/attachments/{sha}",
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    assert await resp.read() == photo
    # agency mail attachments are read through the store too
    other = jpeg(colour=(240, 10, 10))
    assert await hub_b.media.read(hashlib.sha256(other).hexdigest()) is None
    digest = await hub_b.media.put(other)
    assert await a.app[HUB_KEY].media.read(digest) == other


async def test_local_backend_keeps_files_on_the_replica_that_stored_them(sqlite_url: str, tmp_path: Path,
                                                                          hub_client: Any) -> None:
    a = await hub_client(replica(tmp_path, "a", sqlite_url, "local"))
    hub_a = a.app[HUB_KEY]
    assert isinstance(hub_a.media, LocalMediaStore) and not isinstance(hub_a.media, DatabaseMediaStore)
    photo = jpeg(colour=(1, 2, 3))
    code = await report_with_photo(a, photo)
    sha = hashlib.sha256(photo).hexdigest()
    assert (await hub_a.media.local_path(sha)).read_bytes() == photo
    async with hub_a.sessions() as session:
        assert await session.get(MediaBlob, sha) is None  # nothing in the database
    other = LocalMediaStore(tmp_path / "elsewhere")
    assert await other.local_path(sha) is None and await other.read(sha) is None
    async with hub_a.sessions() as session, session.begin():
        token = await issue_token(session, "center")
    resp = await a.get(f"/api/v1/reports/{code}/attachments/{sha}",
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200 and await resp.read() == photo
