"""`hub demo` runs with no credentials and shows a reply on every channel, a triage by the
center, an agency's reply and a rating, with nothing stray in its output and nothing left in
/tmp."""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_walks_every_channel():
    leftovers = set(Path(tempfile.gettempdir()).glob("hub-demo-*"))
    proc = subprocess.run([sys.executable, "main.py", "demo"], cwd=ROOT, capture_output=True,
                          text=True, timeout=180, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert proc.stderr == "", proc.stderr[-2000:]  # no IMAP "connection refused" or other noise
    assert "bench" not in out and "kiệt 0 " not in out  # citizen texts, not load-test texts
    reports = out.split("== 2.")[1].split("== 3.")[0]
    codes = set(re.findall(r"PA-\d{4}-\d{6}", reports))
    assert len(codes) == 6, out
    assert "TRIAGE (center)" in reports
    work = out.split("== 3.")[1].split("== 4.")[0]
    assert "the center triages it to so-noi-vu" in work and "replies to the citizen → HTTP 202" in work
    assert "rated 5/5" in out.split("== 4.")[1].split("== 5.")[0]
    replies = out.split("== 5.")[1]
    for channel in ("Messenger", "Zalo OA", "Telegram", "SMS", "Email", "Web/app"):
        assert channel in replies, f"no reply shown for {channel}"
    for code in codes:  # every report got its acknowledgement and its resolution
        assert code in replies, code
    assert replies.count("xử lý xong") >= 6
    assert "phản hồi về phản ánh" in replies and "Cảm ơn bạn đã đánh giá 5/5" in replies
    # Its data is gone, and the closing hint names nothing that does not exist.
    assert set(Path(tempfile.gettempdir()).glob("hub-demo-*")) <= leftovers
    assert "export --config …" not in out


def test_demo_keep_leaves_a_working_settings_file(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    keep = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "main.py", "demo", "--keep", str(keep)], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cfg = keep / "demo.toml"
    assert f"--config {cfg}`" in proc.stdout
    export = subprocess.run([sys.executable, "main.py", "export", "--config", str(cfg)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, env=env)
    assert export.returncode == 0 and len(export.stdout.splitlines()) == 6, export.stderr
