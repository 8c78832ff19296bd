"""A newcomer's first hour, from a fresh clone: `make run` (creates .venv, installs, serves),
then the README's commands as written — the `hub` console script and `python3 main.py …` from a
shell where the venv is NOT activated. Slow (a full install): it runs in CI (.ci/run sets
HUB_REQUIRE_NETWORK=1, so a missing package index fails there) and skips with the reason on a
machine that cannot reach a package index. Prints the timings it measured."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = os.environ.get("HUB_REQUIRE_NETWORK") == "1"


def _clean_env(**extra: str) -> dict[str, str]:
    """A login shell's environment: no venv activated, no PYTHONPATH into the checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "HUB_SETTINGS") and not k.startswith("HUB__")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if ".venv" not in p and "virtualenv" not in p)
    env.update(extra)
    return env


def _package_index_reachable(tmp: Path) -> str | None:
    """None when pip can fetch a dependency; else why not."""
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                           "-d", str(tmp / "probe"), "aiosqlite"], capture_output=True,
                          text=True, timeout=180, env=_clean_env())
    return None if proc.returncode == 0 else (proc.stderr.strip().splitlines() or ["?"])[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=_clean_env(**env))


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None,
                    reason="git and make are needed to follow the README")
def test_readme_from_a_fresh_clone(tmp_path: Path) -> None:
    problem = _package_index_reachable(tmp_path)
    if problem:
        if REQUIRED:
            pytest.fail(f"HUB_REQUIRE_NETWORK=1 but the package index is unreachable: {problem}")
        pytest.skip(f"offline: no package index reachable for `make run` ({problem})")
    timings: dict[str, float] = {}
    clone = tmp_path / "intake-hub"
    started = time.monotonic()
    # HUB_FRESH_CLONE_FROM: another repository to clone (a developer's snapshot of uncommitted
    # work); by default this checkout's committed HEAD, as a newcomer would get it.
    source = os.environ.get("HUB_FRESH_CLONE_FROM") or str(ROOT)
    proc = _run(["git", "clone", "-q", source, str(clone)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    timings["git clone"] = time.monotonic() - started

    # Our own settings file, as the README says (`make run` uses HUB_SETTINGS when set).
    port = _free_port()
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'log_format = "text"\n[server]\nport = {port}\n'
                   f'public_base_url = "https://phananh.example.vn"\n'
                   f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/data/hub.db"\n'
                   f'[storage]\nmedia_dir = "{tmp_path}/data/media"\n')
    log = tmp_path / "make-run.log"
    started = time.monotonic()
    with open(log, "w") as out:
        server = subprocess.Popen(["make", "run"], cwd=clone, stdout=out, stderr=subprocess.STDOUT,
                                  env=_clean_env(HUB_SETTINGS=str(cfg)), start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while "listening on" not in log.read_text(errors="replace"):
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "make run never said where it listens"
            time.sleep(0.2)
        timings["make run: venv + install + start"] = time.monotonic() - started
        text = log.read_text()
        assert f"listening on http://127.0.0.1:{port} (public URL https://phananh.example.vn)" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as resp:
            assert json.loads(resp.read()) == {"status": "ok"}

        venv_hub = str(clone / ".venv" / "bin" / "hub")
        # The hotline is on by default: an import is turned into a report by the running serve.
        calls = tmp_path / "calls.csv"
        calls.write_text("Mã cuộc gọi,Thời gian,Số điện thoại,Nội dung,Địa chỉ\n"
                         f"N-1,{time.strftime('%d/%m/%Y %H:%M')},0905123456,"
                         "Đèn đường hỏng cả tuần,Lê Lợi phường Thuận Hóa\n", encoding="utf-8")
        started = time.monotonic()
        proc = _run([venv_hub, "import-hotline", str(calls), "--config", str(cfg)], tmp_path)
        assert proc.returncode == 0 and "1 imported" in proc.stdout, proc.stdout + proc.stderr
        deadline = time.monotonic() + 30
        while True:
            proc = _run([venv_hub, "export", "--config", str(cfg)], tmp_path)
            assert proc.returncode == 0, proc.stderr
            if proc.stdout.strip():
                break
            assert time.monotonic() < deadline, "serve did not turn the imported call into a report"
            time.sleep(0.5)
        [report] = [json.loads(line) for line in proc.stdout.splitlines()]
        assert report["channel"] == "hotline" and report["code"].startswith("PA-")
        timings["hotline import → report"] = time.monotonic() - started
        assert "no enabled adapter" not in log.read_text()

        # The README's commands as written, outside the venv: the console script, and
        # `python3 main.py …` with a Python that lacks the dependencies (it re-runs in .venv).
        proc = _run([venv_hub, "agency-token", "center", "--config", str(cfg)], tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().splitlines()[-1].startswith("hub_")
        bare = shutil.which("python3", path="/usr/bin:/bin") or "python3"
        proc = _run([bare, "main.py", "agency-token", "center", "--config", str(cfg)], clone)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().splitlines()[-1].startswith("hub_")
        proc = _run([venv_hub, "--help"], tmp_path)
        for verb in ("serve", "migrate", "export", "agency-token", "import-hotline", "demo",
                     "zalo-authorize", "backup", "restore"):
            assert verb in proc.stdout, verb
        started = time.monotonic()
        proc = _run([venv_hub, "backup", str(tmp_path / "backups") + "/", "--config", str(cfg)],
                    tmp_path)
        assert proc.returncode == 0 and "backup written" in proc.stdout, proc.stderr
        timings["hub backup (running hub)"] = time.monotonic() - started

        # A second serve on the same port: one clear line, exit 2, no traceback.
        proc = _run([venv_hub, "serve", "--config", str(cfg)], tmp_path, timeout=60)
        assert proc.returncode == 2
        assert proc.stderr.strip() == (f"error: cannot listen on 127.0.0.1:{port}: port {port} is "
                                       "already in use by another process; set [server] port "
                                       "(HUB__SERVER__PORT) or --port")
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        server.wait(timeout=60)
    # make exits at once on SIGTERM; serve (same process group) drains, then says so.
    deadline = time.monotonic() + 60
    while "hub stopped" not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.2)
    print("fresh-clone timings:", json.dumps({k: round(v, 1) for k, v in timings.items()}))
