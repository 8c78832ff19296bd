"""The shipped Caddyfile in front of a running hub, as deployed: HTTPS (Caddy's internal CA
stands in for Let's Encrypt), HTTP redirected to HTTPS, /metrics not served to the Internet,
OAuth callback codes kept out of the access log, the hub's routes answering through it."""
from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CADDY = shutil.which("caddy")
pytestmark = pytest.mark.skipif(CADDY is None, reason="Caddy is not installed (Debian: apt-get "
                                                     "install caddy); .ci/run installs it")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_caddyfile(tmp: Path, hub_port: int, http_port: int, https_port: int) -> Path:
    """deploy/caddy/Caddyfile with test ports, Caddy's own CA and files under tmp."""
    text = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text()
    text = text.replace("phananh.hue.gov.vn {", (
        "{\n\tskip_install_trust\n\tadmin off\n"
        f"\thttp_port {http_port}\n\thttps_port {https_port}\n\tstorage file_system {tmp}/caddy\n}}\n\n"
        f"localhost:{https_port} {{\n\ttls internal"))
    assert "reverse_proxy 127.0.0.1:8080 127.0.0.1:8081 {" in text
    text = text.replace("reverse_proxy 127.0.0.1:8080 127.0.0.1:8081 {",
                        f"reverse_proxy 127.0.0.1:{hub_port} {{")
    text = text.replace("/var/log/caddy/intake-hub.access.log", str(tmp / "access.log"))
    path = tmp / "Caddyfile"
    path.write_text(text)
    return path


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # Caddy's internal CA

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def test_caddy_terminates_tls_in_front_of_the_hub(tmp_path: Path) -> None:
    hub_port, http_port, https_port = free_port(), free_port(), free_port()
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'log_format = "text"\n[server]\nport = {hub_port}\n'
                   f'public_base_url = "https://localhost:{https_port}"\n'
                   f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/hub.db"\n'
                   f'[storage]\nmedia_dir = "{tmp_path}/media"\n'
                   '[channels.zalo]\nenabled = true\napp_id = "1"\napp_secret = "s"\n'
                   'oa_secret_key = "k"\n')
    subprocess.run([CADDY, "validate", "--adapter", "caddyfile", "--config",
                    str(ROOT / "deploy" / "caddy" / "Caddyfile")], check=True,
                   capture_output=True, timeout=60)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(tmp_path / "hub.log", "w") as hub_log, open(tmp_path / "caddy.log", "w") as caddy_log:
        hub = subprocess.Popen([sys.executable, "main.py", "serve", "--config", str(cfg)], cwd=ROOT,
                               stdout=hub_log, stderr=subprocess.STDOUT, env=env)
        caddy = subprocess.Popen([CADDY, "run", "--adapter", "caddyfile", "--config",
                                  str(local_caddyfile(tmp_path, hub_port, http_port, https_port))],
                                 stdout=caddy_log, stderr=subprocess.STDOUT)
        try:
            base = f"https://localhost:{https_port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    status, body, _ = get(base + "/healthz")
                    if status == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, (tmp_path / "caddy.log").read_text()[-2000:]
                time.sleep(0.2)
            assert json.loads(body) == {"status": "ok"}
            status, _, headers = get(f"http://localhost:{http_port}/healthz")
            assert status in (301, 308) and headers["Location"].startswith("https://")
            assert get(base + "/metrics")[0] == 404  # internal only
            status, body, _ = get(base + "/oauth/zalo/callback?code=SECRET-CODE-1&state=forged")
            assert status == 403 and b"state" in body  # the hub answered, through the proxy
            status, _, _ = get(base + "/open311/v2/services.json")
            assert status == 200
            # the one-time rating link's token and webhook secrets stay out of the log too
            get(base + "/r/PA-2026-000001?rate=RATE-TOKEN-1")
            get(base + "/webhooks/telegram", {"X-Telegram-Bot-Api-Secret-Token": "TG-SECRET-1",
                                              "X-Hub-Signature-256": "sha256=META-SIG-1",
                                              "Authorization": "Bearer AUTH-TOKEN-1",
                                              "Referer": f"{base}/r/X?rate=RATE-TOKEN-2"})
            time.sleep(0.5)
            access = (tmp_path / "access.log").read_text()
            assert "/oauth/zalo/callback" in access and "SECRET-CODE-1" not in access
            assert "/r/PA-2026-000001" in access and "/webhooks/telegram" in access
            for secret in ("RATE-TOKEN-1", "RATE-TOKEN-2", "TG-SECRET-1", "META-SIG-1",
                           "AUTH-TOKEN-1"):
                assert secret not in access, secret
        finally:
            caddy.terminate()
            hub.terminate()
            caddy.wait(timeout=30)
            hub.wait(timeout=60)
