"""Where stored media (photos, files) live: one interface, two backends.

- ``local`` (default, embedded): files under ``storage.media_dir`` by SHA-256 (store.files).
- ``database``: the bytes in the ``media_blobs`` table, so every replica on one PostgreSQL
  reaches every photo; ``media_dir`` is then a per-process cache of what this replica read.

Readers ask ``local_path(sha)`` (a file to stream, cached on first use) or ``read(sha)``;
writers ``put(data)``. A writer inside a transaction passes its session, so the bytes commit
with the rows that name them (and, on SQLite's one connection, no second connection waits).
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from store.files import media_path, sha256_of, store_bytes
from store.models import MediaBlob, utcnow

BACKENDS = ("local", "database")


class MediaStore(Protocol):
    media_dir: Path

    async def put(self, data: bytes, session: AsyncSession | None = None) -> str: ...

    async def local_path(self, sha256: str) -> Path | None: ...

    async def read(self, sha256: str) -> bytes | None: ...

    async def has(self, sha256: str) -> bool: ...

    async def delete(self, sha256: str) -> None: ...


class LocalMediaStore:
    """Files on this machine's disk (one process, or a shared mount)."""

    def __init__(self, media_dir: Path) -> None:
        self.media_dir = media_dir

    async def put(self, data: bytes, session: AsyncSession | None = None) -> str:
        digest, _ = store_bytes(self.media_dir, data)
        return digest

    async def local_path(self, sha256: str) -> Path | None:
        path = media_path(self.media_dir, sha256)
        return path if path.is_file() else None

    async def read(self, sha256: str) -> bytes | None:
        path = await self.local_path(sha256)
        try:
            return path.read_bytes() if path is not None else None
        except OSError:
            return None

    async def has(self, sha256: str) -> bool:
        return media_path(self.media_dir, sha256).is_file()

    async def delete(self, sha256: str) -> None:
        """Forget a file nothing names (the caller checks that)."""
        media_path(self.media_dir, sha256).unlink(missing_ok=True)


class DatabaseMediaStore(LocalMediaStore):
    """The bytes in the database (``media_blobs``); the local folder caches them."""

    def __init__(self, engine: AsyncEngine, media_dir: Path) -> None:
        super().__init__(media_dir)
        self.engine = engine

    def _insert(self, dialect: str, digest: str, data: bytes) -> Any:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(MediaBlob).values(sha256=digest, size=len(data), data=data,
                                        created_at=utcnow()).on_conflict_do_nothing(
            index_elements=["sha256"])

    async def put(self, data: bytes, session: AsyncSession | None = None) -> str:
        digest = sha256_of(data)
        if session is not None:
            await session.execute(self._insert(session.bind.dialect.name, digest, data))
        else:
            async with self.engine.begin() as conn:
                await conn.execute(self._insert(self.engine.dialect.name, digest, data))
        store_bytes(self.media_dir, data)  # this replica's cache
        return digest

    async def local_path(self, sha256: str) -> Path | None:
        path = media_path(self.media_dir, sha256)
        if path.is_file():
            return path
        data = await self._fetch(sha256)
        if data is None:
            return None
        _, path = await asyncio.to_thread(store_bytes, self.media_dir, data)
        return path

    async def has(self, sha256: str) -> bool:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(MediaBlob.sha256).where(
                MediaBlob.sha256 == sha256))).scalar() is not None

    async def delete(self, sha256: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(MediaBlob).where(MediaBlob.sha256 == sha256))
        await super().delete(sha256)  # and this replica's cached copy

    async def _fetch(self, sha256: str) -> bytes | None:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(MediaBlob.data).where(
                MediaBlob.sha256 == sha256))).scalar()


def make_media_store(backend: str, engine: AsyncEngine, media_dir: Path) -> MediaStore:
    if backend == "database":
        return DatabaseMediaStore(engine, media_dir)
    if backend == "local":
        return LocalMediaStore(media_dir)
    raise ValueError(f"storage.backend must be one of {BACKENDS}, not {backend!r}")
