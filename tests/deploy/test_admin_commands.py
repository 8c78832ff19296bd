"""Admin commands as docs/deploy.md runs them on a server (walkthrough): the secrets file that
systemd reads (HUB_ENV_FILE) reaches every command, deploy/bin/hub-admin runs them as the
service runs, `hub backup` says which database it copied and never overwrites a backup, and a
mistake (a URL without an async driver or a scheme, an unreadable database or settings file)
is one line naming the setting, exit 2."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def hub(*args: str, env: dict[str, str] | None = None, stdin: str = "",
        timeout: float = 120) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("HUB__") and k not in ("HUB_SETTINGS", "HUB_ENV_FILE")}
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, input=stdin,
                          env={**base, "PYTHONPATH": str(ROOT), **(env or {})})


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: "), line
    return line


@pytest.fixture
def server(tmp_path: Path) -> dict[str, Path]:
    """hub.toml with the SQLite URL of the example, secrets.env with the real database."""
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'log_format = "text"\n[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/toml.db"\n'
                   f'[storage]\nmedia_dir = "{tmp_path}/media"\n')
    secrets = tmp_path / "secrets.env"
    secrets.write_text("# written by the admin\n\n"
                       f'HUB__DATABASE__URL="sqlite+aiosqlite:///{tmp_path}/real.db"\n'
                       "HUB__CHANNELS__ZALO__APP_ID=1234\n"
                       "HUB__CHANNELS__ZALO__APP_SECRET='zalo-secret-value'\n")
    return {"cfg": cfg, "secrets": secrets, "toml_db": tmp_path / "toml.db",
            "real_db": tmp_path / "real.db"}


def test_commands_read_the_secrets_file_named_by_hub_env_file(server: dict[str, Path]) -> None:
    env = {"HUB_SETTINGS": str(server["cfg"]), "HUB_ENV_FILE": str(server["secrets"])}
    proc = hub("migrate", env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"database: sqlite+aiosqlite:///{server['real_db']}" in proc.stdout
    proc = hub("user", "add", "lan", "--role", "center", "--password-stdin",
               "--config", str(server["cfg"]), env={"HUB_ENV_FILE": str(server["secrets"])},
               stdin="một-mật-khẩu-dài\n")
    assert proc.returncode == 0, proc.stderr
    assert f"database: sqlite+aiosqlite:///{server['real_db']}" in proc.stdout
    proc = hub("agency-token", "center", env=env)
    assert proc.returncode == 0, proc.stderr
    real = sqlite3.connect(server["real_db"])
    assert real.execute("SELECT username FROM accounts").fetchall() == [("lan",)]
    assert real.execute("SELECT agency_id FROM agency_tokens").fetchall() == [("center",)]
    assert not server["toml_db"].exists()  # the URL in hub.toml was never used
    # the Zalo secrets come from the file too: no "set channels.zalo.app_secret first"
    proc = hub("zalo-authorize", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "zalo-secret-value" not in proc.stdout + proc.stderr


def test_variables_already_set_win_over_the_env_file(server: dict[str, Path], tmp_path: Path) -> None:
    own = tmp_path / "own.db"
    proc = hub("migrate", "--config", str(server["cfg"]),
               env={"HUB_ENV_FILE": str(server["secrets"]),
                    "HUB__DATABASE__URL": f"sqlite+aiosqlite:///{own}"})
    assert proc.returncode == 0, proc.stderr
    assert own.exists() and not server["real_db"].exists()


def test_env_file_syntax_is_systemds() -> None:
    import tempfile

    from hub.settings import SettingsError, read_env_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "secrets.env"
        path.write_bytes(b'\xef\xbb\xbf# c\n; c\n\nA=1\n B = two words \nC="q \\"x\\""\nD=\'s\'\nE=\n')
        assert read_env_file(path) == {"A": "1", "B": "two words", "C": 'q "x"', "D": "s", "E": ""}
        path.write_text("A=1\nthis-line-has-a-password-xyz\n")
        with pytest.raises(SettingsError) as err:
            read_env_file(path)
        assert "line 2" in str(err.value) and "password-xyz" not in str(err.value)
        with pytest.raises(SettingsError, match="HUB_ENV_FILE"):
            read_env_file(Path(tmp) / "missing.env")


def test_hub_admin_runs_a_command_with_the_services_settings_and_secrets(
        server: dict[str, Path]) -> None:
    import pwd

    me = pwd.getpwuid(os.getuid()).pw_name
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("HUB__") and k not in ("HUB_SETTINGS", "HUB_ENV_FILE")}
    proc = subprocess.run(["sh", str(ROOT / "deploy" / "bin" / "hub-admin"), "migrate"],
                          capture_output=True, text=True, timeout=120,
                          env={**base, "HUB_SETTINGS": str(server["cfg"]),
                               "HUB_ENV_FILE": str(server["secrets"]), "HUB_USER": me,
                               "HUB_BIN": str(ROOT / ".venv" / "bin" / "hub")})
    assert proc.returncode == 0, proc.stderr
    assert f"database: sqlite+aiosqlite:///{server['real_db']}" in proc.stdout
    assert server["real_db"].exists() and not server["toml_db"].exists()
    assert server["real_db"].stat().st_mode & 0o007 == 0  # umask 027, as the units' UMask


def test_hub_admin_gives_the_command_the_service_users_home_and_umask(
        server: dict[str, Path], tmp_path: Path) -> None:
    """Deploy walkthrough: under sudo the command kept root's HOME, and asyncpg's look at
    ~/.postgresql/postgresql.key in root's 0700 home failed every PostgreSQL command; files it
    made were 0644 despite the units' UMask=0027."""
    import pwd

    me = pwd.getpwuid(os.getuid())
    probe = tmp_path / "probe"
    probe.write_text('#!/bin/sh\necho "HOME=$HOME"\numask\n')
    probe.chmod(0o755)
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("HUB__") and k not in ("HUB_SETTINGS", "HUB_ENV_FILE")}
    proc = subprocess.run(["sh", str(ROOT / "deploy" / "bin" / "hub-admin"), "anything"],
                          capture_output=True, text=True, timeout=60,
                          env={**base, "HOME": str(tmp_path / "callers-home"),
                               "HUB_SETTINGS": str(server["cfg"]),
                               "HUB_ENV_FILE": str(server["secrets"]), "HUB_USER": me.pw_name,
                               "HUB_BIN": str(probe)})
    assert proc.returncode == 0, proc.stderr
    assert f"HOME={me.pw_dir}" in proc.stdout.splitlines()
    assert "0027" in proc.stdout


def test_env_file_as_an_open_descriptor(server: dict[str, Path]) -> None:
    """hub-admin opens the root-only secrets file and hands the command /dev/fd/3."""
    fd = os.open(server["secrets"], os.O_RDONLY)
    try:
        proc = subprocess.run(
            [sys.executable, "main.py", "migrate", "--config", str(server["cfg"])], cwd=ROOT,
            capture_output=True, text=True, timeout=120, pass_fds=(fd,),
            env={**{k: v for k, v in os.environ.items() if not k.startswith("HUB__")},
                 "PYTHONPATH": str(ROOT), "HUB_ENV_FILE": f"/dev/fd/{fd}"})
    finally:
        os.close(fd)
    assert proc.returncode == 0, proc.stderr
    assert server["real_db"].exists()


# --- hub backup ---------------------------------------------------------------------------------
def _db(tmp_path: Path) -> Path:
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/hub.db"\n')
    assert hub("migrate", "--config", str(cfg)).returncode == 0
    return cfg


def test_backup_says_which_database_and_treats_a_new_name_as_a_folder(tmp_path: Path) -> None:
    cfg = _db(tmp_path)
    dest = tmp_path / "backups"  # no trailing slash, not there yet
    first = hub("backup", str(dest), "--config", str(cfg))
    assert first.returncode == 0, first.stderr
    assert f"database: sqlite+aiosqlite:///{tmp_path}/hub.db (settings: {cfg})" in first.stdout
    assert dest.is_dir()
    import time

    time.sleep(1.1)  # the file name has the second
    assert hub("backup", str(dest), "--config", str(cfg)).returncode == 0
    assert len(list(dest.glob("hub-*.db"))) == 2  # the second did not replace the first


def test_backup_never_overwrites_a_file(tmp_path: Path) -> None:
    cfg = _db(tmp_path)
    named = tmp_path / "before-upgrade.db"
    assert hub("backup", str(named), "--config", str(cfg)).returncode == 0
    size = named.stat().st_size
    again = hub("backup", str(named), "--config", str(cfg))
    assert again.returncode == 2 and "exists already" in one_error_line(again)
    assert named.stat().st_size == size


def test_backup_without_settings_says_so(tmp_path: Path) -> None:
    proc = hub("backup", str(tmp_path / "b") + "/",
               env={"HUB__DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path}/none.db"})
    assert "settings.toml only, no --config or HUB_SETTINGS" in proc.stdout


def test_backup_masks_the_password(tmp_path: Path) -> None:
    cfg = tmp_path / "hub.toml"
    cfg.write_text('[database]\nurl = "postgresql+asyncpg://hub:pw-secret@127.0.0.1:1/hub"\n')
    proc = hub("backup", str(tmp_path / "b") + "/", "--config", str(cfg))
    assert "database: postgresql+asyncpg://hub:***@127.0.0.1:1/hub" in proc.stdout
    assert "pw-secret" not in proc.stdout + proc.stderr


# --- settings mistakes --------------------------------------------------------------------------
@pytest.mark.parametrize(("command", "url"), [
    ("serve", "postgresql://hub:pw-secret@127.0.0.1/hub"),
    ("serve", "sqlite:///data/hub.db"),
    ("migrate", "postgres://hub:pw-secret@127.0.0.1/hub"),
    ("migrate", "mysql://a:pw-secret@c/d")])
def test_database_url_without_async_driver(command: str, url: str) -> None:
    proc = hub(command, env={"HUB__DATABASE__URL": url, "HUB__SERVER__PORT": "0"})
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert "database.url" in line and "sqlite+aiosqlite:///" in line
    assert "postgresql+asyncpg://" in line and "pw-secret" not in line


@pytest.mark.parametrize("value", ["phananh.hue.gov.vn", "https://"])
def test_public_base_url_needs_scheme_and_host(value: str) -> None:
    proc = hub("serve", "--port", "0", env={"HUB__SERVER__PUBLIC_BASE_URL": value})
    assert proc.returncode == 2
    assert "server.public_base_url" in one_error_line(proc)


@pytest.mark.parametrize("case", ["directory", "utf16", "not_utf8"])
def test_unreadable_settings_file_is_one_line(tmp_path: Path, case: str) -> None:
    cfg = tmp_path / "hub.toml"
    if case == "directory":
        cfg.mkdir()
    elif case == "utf16":
        cfg.write_text('[server]\nport = 8080\n', encoding="utf-16")
    else:
        cfg.write_bytes(b'log_level = "\xff"\n')
    proc = hub("migrate", "--config", str(cfg))
    assert proc.returncode == 2
    assert str(cfg) in one_error_line(proc)


def test_settings_file_with_a_utf8_bom_is_read(tmp_path: Path) -> None:
    cfg = tmp_path / "hub.toml"
    cfg.write_bytes(b"\xef\xbb\xbf" + f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/bom.db"\n'
                    .encode())
    proc = hub("migrate", "--config", str(cfg))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "bom.db").exists()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to drop to another user")
def test_settings_file_the_user_cannot_read() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # /tmp: a folder every user may enter
        os.chmod(tmp, 0o755)
        cfg = Path(tmp) / "hub.toml"
        cfg.write_text('log_level = "INFO"\n')
        cfg.chmod(0o600)
        proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               sys.executable, str(ROOT / "main.py"), "migrate", "--config",
                               str(cfg)], capture_output=True, text=True, timeout=120, cwd="/",
                              env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2, proc.stderr
    assert "permission denied" in one_error_line(proc)


@pytest.mark.parametrize("command", [
    ["user", "list"], ["agency-token", "center"], ["export"], ["reclassify"],
    ["outbox", "retry"], ["public-hide", "PA-2026-000001"], ["migrate"]])
def test_a_database_that_cannot_be_opened_is_one_line(tmp_path: Path, command: list[str]) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite file" * 100)
    proc = hub(*command, env={"HUB__DATABASE__URL": f"sqlite+aiosqlite:///{junk}"})
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert "cannot open the database" in line and "HUB__DATABASE__URL" in line


def test_only_a_database_that_may_come_back_is_temporary() -> None:
    """serve exits 75 (restarted by systemd) for these, 2 (not restarted) for the rest."""
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    from hub.cli_serve import is_temporary

    def wrapped(exc: BaseException) -> DBAPIError:
        return DBAPIError("connect", None, exc)

    assert is_temporary(ConnectionRefusedError(111, "Connection refused"), "postgresql")
    assert is_temporary(OSError("Multiple exceptions: [Errno 111] Connect call failed"), "postgresql")
    assert is_temporary(TimeoutError(), "postgresql")
    assert is_temporary(wrapped(asyncpg.exceptions.CannotConnectNowError("starting up")), "postgresql")
    assert not is_temporary(wrapped(asyncpg.exceptions.InvalidPasswordError("no")), "postgresql")
    assert not is_temporary(wrapped(asyncpg.exceptions.InvalidCatalogNameError("no db")), "postgresql")
    assert not is_temporary(ConnectionRefusedError(), "sqlite")
