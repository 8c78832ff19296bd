"""A retrained model reaches every replica (hub/classifier_sync.py): ``retrain`` records what it
installs in the database, and each process brings its own model file to it — at start and on its
minute check — unless the file holds a model the records never mention (an upgrade). Two
"hosts" here are two copies of the shipped model file over one real database (SQLite, and
PostgreSQL in the PostgreSQL pass); the shipped file itself is never written."""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import pytest

from hub.app import close_hub, open_hub
from hub.classifier_sync import file_version, record_install, sync_model_file
from normalizer import classify
from normalizer.classify import model_text
from tests.conftest import make_settings

SHIPPED = classify.MODEL_FILE


def _variant(base: dict, version: str, threshold: float) -> dict:
    """A loadable model that differs from ``base`` (its threshold), under its own version."""
    return dict(base, version=version, threshold=threshold)


@pytest.fixture
def hosts(tmp_path: Path):
    shipped_hash = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    files = []
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        shutil.copy(SHIPPED, tmp_path / name / "classifier.json")
        files.append(tmp_path / name / "classifier.json")
    yield files
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() == shipped_hash


async def test_a_model_installed_on_one_host_reaches_the_others(db_url: str, tmp_path: Path, hosts,
                                                               monkeypatch, caplog) -> None:
    import hub.classifier_sync as sync_module

    monkeypatch.setattr(sync_module, "_warned", set())  # warnings once per process: this test's own
    host_a, host_b, host_c = hosts
    shipped = json.loads(host_a.read_text(encoding="utf-8"))
    v0 = shipped["version"]
    hub = await open_hub(make_settings(tmp_path, db_url))
    try:
        # nothing recorded: nothing happens
        assert await sync_model_file(hub.sessions, host_b) is None
        assert file_version(host_b) == v0

        # host A's retrain installs v1 over v0 (its file, then the record)
        v1 = _variant(shipped, "lr-test-v1", 0.77)
        host_a.write_text(json.dumps(v1), encoding="utf-8")
        await record_install(hub.sessions, v1["version"], model_text(v1), v0, ["not worse on the held-out splits"])
        # host B, on v0, writes v1 over its file; a second check changes nothing
        assert await sync_model_file(hub.sessions, host_b) == "lr-test-v1"
        assert host_b.read_text(encoding="utf-8") == model_text(v1)  # the recorded file, as is
        assert await sync_model_file(hub.sessions, host_b) is None

        # v2 over v1: a host still on v0 (it missed v1) is brought to v2 as well
        v2 = _variant(shipped, "lr-test-v2", 0.79)
        await record_install(hub.sessions, v2["version"], model_text(v2), "lr-test-v1", [])
        assert await sync_model_file(hub.sessions, host_c) == "lr-test-v2"
        # a rollback to v1 is recorded again and wins
        await record_install(hub.sessions, v1["version"], model_text(v1), "lr-test-v2", ["rollback"])
        assert await sync_model_file(hub.sessions, host_c) == "lr-test-v1"

        # an upgrade shipped a model the records never mention: kept, with one warning
        upgraded = _variant(shipped, "lr-shipped-next", 0.8)
        host_b.write_text(json.dumps(upgraded), encoding="utf-8")
        with caplog.at_level(logging.WARNING, logger="hub.classifier_sync"):
            assert await sync_model_file(hub.sessions, host_b) is None
            assert await sync_model_file(hub.sessions, host_b) is None
        assert json.loads(host_b.read_text(encoding="utf-8")) == upgraded
        assert len([r for r in caplog.records if "lr-shipped-next" in r.getMessage()]) == 1
    finally:
        await close_hub(hub)

    # A replica that starts on a host whose file is still v0 runs the installed model at once.
    host_d = tmp_path / "d.json"
    shutil.copy(SHIPPED, host_d)
    monkeypatch.setattr(classify, "MODEL_FILE", host_d)
    classify.reload_model()
    try:
        hub = await open_hub(make_settings(tmp_path, db_url))
        try:
            assert classify.CLASSIFIER_VERSION == "lr-test-v1"
            assert classify.DEFAULT_TRIAGE_THRESHOLD == 0.77
            assert classify.classify("Đèn đường hỏng").version == "lr-test-v1"
        finally:
            await close_hub(hub)
    finally:
        monkeypatch.setattr(classify, "MODEL_FILE", SHIPPED)
        classify.reload_model()
    assert classify.CLASSIFIER_VERSION == v0


async def test_a_model_folder_the_service_cannot_write_does_not_stop_it(db_url: str, tmp_path: Path,
                                                                        hosts, monkeypatch, caplog) -> None:
    """Walkthrough: under the systemd unit's ProtectSystem=strict the checkout was read-only, and
    a recorded model made `serve` exit with a traceback at every start (systemd restarting it
    forever). Now it serves on with its model and says, once, what to change."""
    import os
    import stat

    import hub.classifier_sync as sync_module

    if os.geteuid() == 0:  # root writes through permissions: make the write itself fail
        def refuse(*_a, **_k):
            raise OSError(30, "Read-only file system")
        monkeypatch.setattr(sync_module, "write_model_file", refuse)
    monkeypatch.setattr(sync_module, "_warned", set())
    host = hosts[0]
    shipped = json.loads(host.read_text(encoding="utf-8"))
    host.parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    hub = await open_hub(make_settings(tmp_path, db_url))
    try:
        v1 = _variant(shipped, "lr-test-v1", 0.77)
        await record_install(hub.sessions, v1["version"], model_text(v1), shipped["version"], [])
        with caplog.at_level(logging.ERROR, logger="hub.classifier_sync"):
            assert await sync_model_file(hub.sessions, host) is None
            assert await sync_model_file(hub.sessions, host) is None
        assert file_version(host) == shipped["version"]
        said = [r.getMessage() for r in caplog.records if "cannot install lr-test-v1" in r.getMessage()]
        assert len(said) == 1 and "ReadWritePaths" in said[0]
    finally:
        host.parent.chmod(stat.S_IRWXU)
        await close_hub(hub)
