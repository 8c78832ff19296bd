"""A real Dovecot IMAP server on loopback for tests and the bench.

The fixture renders its own configuration in a temp dir (base, state and log dirs, a passwd-file
user, a Maildir), starts ``dovecot -c <config>`` as a daemon, and stops the master by its pid.
When run as root, mail processes refuse uid 0, so the mail user gets a numeric uid/gid and owns
the Maildir. Mail is delivered with ``doveadm save`` (one message) or by writing Maildir files
(tmp/ then rename into new/, the Maildir delivery protocol) for bulk loads.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
MAIL_UID = 10000
USER = "dttm"
PASSWORD = "pa-test-secret"
USER_POOL = 100

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/log/dovecot.log
info_log_path = {root}/log/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%n/Maildir
stats_writer_socket_path =
default_login_user = {login_user}
default_internal_user = {login_user}
default_internal_group = {login_group}
first_valid_uid = {uid}
mail_uid = {uid}
mail_gid = {gid}
imap_idle_notify_interval = 2 mins
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {root}/users
  default_fields = uid={uid} gid={gid} home={root}/mail/%n
}}
"""


def available() -> bool:
    return os.path.exists(DOVECOT) and os.access(DOVECOT, os.X_OK)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _login_identity() -> tuple[str, str]:
    """The unprivileged login user Dovecot drops to (Debian ships dovenull/dovecot)."""
    import grp
    import pwd

    for user in ("dovenull", "dovecot", "nobody"):
        try:
            pw = pwd.getpwnam(user)
            return user, grp.getgrgid(pw.pw_gid).gr_name
        except KeyError:
            continue
    return "nobody", "nogroup"


class Dovecot:
    """One Dovecot instance: ``start()``, ``stop()``, ``deliver(raw)``; state survives restarts."""

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="dovecot-"))
        self.port = port or free_port()
        self.user, self.password = USER, PASSWORD
        self.config = self.root / "dovecot.conf"
        self.pid: int | None = None
        self._next_user = -1
        root_run = os.geteuid() == 0
        self.uid = MAIL_UID if root_run else os.getuid()
        self.gid = MAIL_UID if root_run else os.getgid()
        self._prepare()

    @property
    def maildir(self) -> Path:
        return self.maildir_of(self.user)

    def maildir_of(self, user: str) -> Path:
        return self.root / "mail" / user / "Maildir"

    def add_user(self) -> str:
        """A fresh mail user (empty mailbox), one per test. Users are written before start: the
        passwd-file is cached by mtime, so users appended while running may not be seen."""
        self._next_user += 1
        if self._next_user >= USER_POOL:
            raise RuntimeError("test mail user pool exhausted")
        return f"user{self._next_user:03d}"

    def _prepare(self) -> None:
        for sub in ("run", "state", "log", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        login_user, login_group = _login_identity()
        self.config.write_text(CONFIG.format(root=self.root, port=self.port, uid=self.uid,
                                             gid=self.gid, login_user=login_user,
                                             login_group=login_group))
        users = [self.user] + [f"user{i:03d}" for i in range(USER_POOL)]
        (self.root / "users").write_text(
            "".join(f"{u}:{{PLAIN}}{self.password}::::::\n" for u in users))
        for user in users[1:]:
            for sub in ("cur", "new", "tmp"):
                (self.maildir_of(user) / sub).mkdir(parents=True, exist_ok=True)
        self._chown_mail()

    def _chown_mail(self) -> None:
        if os.geteuid() != 0:
            return
        for dirpath, _dirnames, filenames in os.walk(self.root / "mail"):
            os.chown(dirpath, self.uid, self.gid)
            for name in filenames:
                os.chown(os.path.join(dirpath, name), self.uid, self.gid)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        # The master daemonizes: no captured pipes (they would never close).
        subprocess.run([DOVECOT, "-c", str(self.config)], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
        pid_file = self.root / "run" / "master.pid"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pid_file.exists() and self._accepting():
                self.pid = int(pid_file.read_text().split()[0])
                return
            time.sleep(0.02)
        raise RuntimeError(f"dovecot did not start; log:\n{self.log_tail()}")

    def _accepting(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                return s.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the master by pid and wait until it and the listener are gone."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            self.pid = None
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(self.pid, signal.SIGKILL)
        self.pid = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        path = self.root / "log" / "dovecot.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # --- mail ------------------------------------------------------------------------------
    def deliver(self, raw: bytes, user: str | None = None, mailbox: str = "INBOX") -> None:
        """Deliver one message with ``doveadm save`` (Dovecot assigns the UID at once)."""
        proc = subprocess.run([DOVEADM, "-c", str(self.config), "save", "-u", user or self.user,
                               "-m", mailbox], input=raw, capture_output=True, timeout=30)
        if proc.returncode != 0:
            raise RuntimeError(f"doveadm save failed: {proc.stderr.decode(errors='replace')}")

    def deliver_maildir(self, raws: list[bytes], user: str | None = None) -> None:
        """Bulk delivery into INBOX by the Maildir protocol (write to tmp/, rename into new/);
        works while the server is down too."""
        host = socket.gethostname().replace("/", "_")
        maildir = self.maildir_of(user or self.user)
        for i, raw in enumerate(raws):
            name = f"{time.time_ns()}.P{os.getpid()}Q{i}_{uuid.uuid4().hex[:8]}.{host}"
            tmp = maildir / "tmp" / name
            tmp.write_bytes(raw.replace(b"\r\n", b"\n"))
            if os.geteuid() == 0:
                os.chown(tmp, self.uid, self.gid)
            os.rename(tmp, maildir / "new" / name)

    def doveadm(self, *args: str) -> str:
        proc = subprocess.run([DOVEADM, "-c", str(self.config), *args], capture_output=True,
                              timeout=30, check=True)
        return proc.stdout.decode(errors="replace")

    def flags(self, user: str | None = None, mailbox: str = "INBOX") -> dict[int, str]:
        """uid → flags, read through doveadm (not through the poller under test)."""
        out = self.doveadm("fetch", "-u", user or self.user, "uid flags", "mailbox", mailbox, "all")
        result: dict[int, str] = {}
        uid = None
        for line in out.splitlines():
            if line.startswith("uid: "):
                uid = int(line[5:])
            elif line.startswith("flags:") and uid is not None:
                result[uid] = line[6:].strip()
        return result

    def set_uidvalidity(self, value: int, user: str | None = None, mailbox: str = "INBOX") -> None:
        """Give the mailbox a new UIDVALIDITY (as after a server migration or rebuild)."""
        self.doveadm("mailbox", "update", "--uid-validity", str(value), "-u", user or self.user,
                     mailbox)

    def set_flags(self, op: str, flags: str, uids: str, user: str | None = None,
                  mailbox: str = "INBOX") -> None:
        """op: add | remove; e.g. ("remove", "\\Seen", "1:3") — a human in the mailbox."""
        self.doveadm("flags", op, "-u", user or self.user, flags, "mailbox", mailbox, "uid", uids)
