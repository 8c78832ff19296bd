"""One classifier for every replica: the model ``retrain`` installs is kept in the database
(``classifier_models``), and each process brings its own model file to it.

``retrain`` writes the accepted model over the model file of the host it runs on and records it
(``record_install``). Every ``serve`` checks the database at start and every minute
(``sync_model_file``): when the newest recorded model is not what its own file holds, it writes
that model over the file, atomically, and the file watch (normalizer.classify.reload_if_changed,
in the server and in the analysis processes) reloads it. Replicas on other hosts thus run the
retrained model within a minute, and a replica started later starts with it.

A host whose file holds a model the records never mention is left alone, with a warning: that
is a software upgrade that shipped a newer model, and overwriting it with one trained over the
older model would undo the upgrade (``hub retrain`` again trains over the new one). A host still
on any model of the recorded chain (installed, or replaced by an install) is brought to the
newest.
"""
from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from normalizer.classify import write_model_file
from store.models import ClassifierModel

log = logging.getLogger(__name__)

# The version in a model file, by (path, modification time): read once per change, not per check.
_file_versions: dict[Path, tuple[float, str | None]] = {}
# (file version, newest recorded) pairs already warned about, so a check a minute does not repeat it.
_warned: set[tuple[str | None, str]] = set()


def file_version(path: Path) -> str | None:
    """The model version the file holds (None: no readable model file)."""
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return None
    cached = _file_versions.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        version = json.loads(path.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        version = None
    _file_versions[path] = (stamp, version)
    return version


async def record_install(sessions: async_sessionmaker[AsyncSession], version: str, text: str,
                         base_version: str, reasons: list[str]) -> None:
    """Record an installed model (``text``: its model file, as written): the newest row is the
    installed one (a version installed again, a rollback, is recorded again)."""
    async with sessions() as session, session.begin():
        session.add(ClassifierModel(version=version, base_version=base_version, body=text,
                                    reasons=list(reasons)))


async def sync_model_file(sessions: async_sessionmaker[AsyncSession], path: Path) -> str | None:
    """Bring the model file at ``path`` to the newest recorded model; returns the version
    written, or None when nothing was (up to date, nothing recorded, or a file the records do
    not know: see the module's docstring)."""
    async with sessions() as session:
        newest = (await session.execute(select(ClassifierModel.id, ClassifierModel.version)
                                        .order_by(ClassifierModel.id.desc()).limit(1))).first()
        if newest is None:
            return None
        current = await asyncio.to_thread(file_version, path)  # (a 2 MB file, off the loop)
        if current == newest.version:
            return None
        chain = {v for row in (await session.execute(select(
            ClassifierModel.version, ClassifierModel.base_version))).all() for v in row}
        if current not in chain:
            if (current, newest.version) not in _warned:
                _warned.add((current, newest.version))
                log.warning("classifier: this host's model %s is not one the center's retraining "
                            "replaced (a newer shipped model?); keeping it rather than installing "
                            "%s, trained over an older one. Run `hub retrain` to retrain over it.",
                            current, newest.version)
            return None
        body = (await session.execute(select(ClassifierModel.body).where(
            ClassifierModel.id == newest.id))).scalar_one()
    try:
        await asyncio.to_thread(write_model_file, path, body)  # the file as retrain wrote it
    except OSError as exc:
        # a read-only checkout (systemd's ProtectSystem without the model folder in
        # ReadWritePaths): serve on with the model it has, and say what to change, once
        if ("write", newest.version) not in _warned:
            _warned.add(("write", newest.version))
            log.error("classifier: cannot install %s over %s (%s: %s); serving on with %s. Let the "
                      "service write %s (ReadWritePaths in the systemd unit, docs/deploy.md).",
                      newest.version, path, type(exc).__name__, exc.strerror or exc, current,
                      path.parent)
        return None
    log.info("classifier: installed %s from the database (this host had %s)", newest.version, current)
    return newest.version
