"""Email fixtures: one real Dovecot per test session (a fresh mail user per test), an aiosmtpd
sink per test, and email channel settings pointing at both."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.settings import Settings
from tests.email.dovecot import Dovecot, available
from tests.email.smtp_sink import SmtpSink

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "email"
CENTER = "phananh@hue.gov.vn"

# CI (.ci/run) sets HUB_REQUIRE_DOVECOT=1: there a missing Dovecot fails instead of skipping.
REQUIRED = os.environ.get("HUB_REQUIRE_DOVECOT") == "1"
needs_dovecot = pytest.mark.skipif(
    not available() and not REQUIRED,
    reason="Dovecot is not installed (Debian: apt-get install dovecot-imapd); "
           ".ci/run installs it so CI always runs these tests")


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    if not available():
        if REQUIRED:
            pytest.fail("HUB_REQUIRE_DOVECOT=1 but Dovecot is not installed")
        pytest.skip("Dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    # Its own temp dir under /tmp: pytest's tmp dirs are 0700, which Dovecot's unprivileged
    # auth and mail processes cannot enter.
    server = Dovecot()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def mail_user(dovecot_server: Dovecot) -> str:
    return dovecot_server.add_user()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def email_section(dovecot: Dovecot, user: str, sink: SmtpSink, **extra: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "enabled": True, "imap_host": "127.0.0.1", "imap_port": dovecot.port, "imap_ssl": False,
        "username": user, "password": dovecot.password, "mailbox": "INBOX", "poll_seconds": 0.2,
        "smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_starttls": False,
        "from_address": CENTER, "from_name": "Trung tâm Giám sát, điều hành đô thị thông minh",
        "imap_timeout_seconds": 5, "idle_seconds": 60, "reconnect_max_seconds": 1,
        "smtp_timeout_seconds": 5,
    }
    section.update(extra)
    return section


@pytest.fixture
def email_settings(settings_factory: Callable[..., Settings], dovecot_server: Dovecot,
                   mail_user: str, smtp_sink: SmtpSink) -> Callable[..., Settings]:
    """Settings with the email channel on this test's mailbox and sink (other keys overridable)."""
    def make(workers: bool = True, **extra: Any) -> Settings:
        return settings_factory(channels={"email": email_section(dovecot_server, mail_user,
                                                                 smtp_sink, **extra)},
                                workers={"enabled": workers, "leader_lease_seconds": 3})
    return make
