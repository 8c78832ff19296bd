"""Stored media: files under ``storage.media_dir`` by SHA-256 (the same photo sent twice is
stored once). This is the local folder backend and every backend's cache; readers and writers
go through ``store.storage`` (local or database, ``storage.backend``)."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def media_path(media_dir: Path, sha256: str) -> Path:
    """Where a stored file lives: media_dir/ab/cd/<sha256>."""
    return media_dir / sha256[:2] / sha256[2:4] / sha256


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def store_bytes(media_dir: Path, data: bytes) -> tuple[str, Path]:
    """Write data under media_dir/ab/cd/<sha256>; atomic and idempotent."""
    digest = sha256_of(data)
    target = media_path(media_dir, digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    return digest, target
