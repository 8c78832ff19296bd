"""The shipped deployment files agree with the hub (walkthrough: nginx refused any phone photo
over 2 MB with its own bare 413, and the nightly backup unit failed until the first photo)."""
from __future__ import annotations

import re
from pathlib import Path

from web.portal.settings import PortalSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_nginx_lets_the_largest_report_form_through() -> None:
    conf = (DEPLOY / "nginx" / "intake-hub.conf").read_text(encoding="utf-8")
    [size] = re.findall(r"client_max_body_size\s+(\d+)m;", conf)
    portal = PortalSettings()
    assert int(size) * 1024 * 1024 >= portal.max_photos * portal.max_photo_bytes + 1024 * 1024


def test_backup_unit_makes_the_media_folder_before_mirroring_it() -> None:
    unit = (DEPLOY / "systemd" / "intake-hub-backup.service").read_text(encoding="utf-8")
    steps = [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("ExecStart=")]
    mkdir = next(i for i, s in enumerate(steps) if s.startswith("/bin/mkdir -p /var/lib/intake-hub/media"))
    rsync = next(i for i, s in enumerate(steps) if "rsync" in s)
    assert mkdir < rsync


def test_serve_units_may_write_the_model_folder() -> None:
    for name in ("intake-hub.service", "intake-hub@.service"):
        unit = (DEPLOY / "systemd" / name).read_text(encoding="utf-8")
        if "ProtectSystem=strict" in unit:
            [paths] = re.findall(r"^ReadWritePaths=(.*)$", unit, re.M)
            assert "/opt/intake-hub/normalizer/data" in paths.split(), name


def test_units_keep_personal_data_from_other_local_users() -> None:
    for unit in (DEPLOY / "systemd").glob("*.service"):
        assert re.search(r"^UMask=0027$", unit.read_text(encoding="utf-8"), re.M), unit.name


def test_units_name_the_settings_file_for_the_hub() -> None:
    for unit in (DEPLOY / "systemd").glob("*.service"):
        assert "Environment=HUB_SETTINGS=/etc/intake-hub/hub.toml" in unit.read_text(), unit.name


def test_logrotate_rotates_as_root() -> None:
    """systemd creates StandardOutput=append: files root:root (systemd #14385): rotating them as
    intake-hub (`su intake-hub intake-hub`) failed with Permission denied."""
    conf = (DEPLOY / "logrotate" / "intake-hub").read_text(encoding="utf-8")
    assert not re.search(r"^\s*su\s", conf, re.M)
    assert re.search(r"^\s*copytruncate$", conf, re.M)


def test_nginx_access_log_has_no_query_strings_nor_referer() -> None:
    conf = (DEPLOY / "nginx" / "intake-hub.conf").read_text(encoding="utf-8")
    [log] = re.findall(r"^\s*access_log\s+\S+\s+(\S+)", conf, re.M)
    assert log != "combined"  # combined logs $request (with ?rate=…) and the Referer
    fmt = re.search(rf"log_format\s+{log}\s+(.*?);", conf, re.S).group(1)
    assert "$uri" in fmt
    for leak in ("$request_uri", "$request ", "$request'", "$args", "$query_string",
                 "$http_referer", "$http_authorization", "$http_cookie"):
        assert leak not in fmt, leak


def test_caddy_filters_secret_headers_and_the_rating_token() -> None:
    conf = (DEPLOY / "caddy" / "Caddyfile").read_text(encoding="utf-8")
    for header in ("X-Telegram-Bot-Api-Secret-Token", "X-Hub-Signature-256", "Authorization",
                   "Cookie", "Referer"):
        assert re.search(rf"request>headers>{header}\s+delete", conf), header
    query = re.search(r"request>uri query \{(.*?)\}", conf, re.S).group(1)
    for key in ("code", "state", "rate"):
        assert re.search(rf"delete {key}\b", query), key


def test_hub_admin_is_posix_sh() -> None:
    import subprocess

    script = DEPLOY / "bin" / "hub-admin"
    assert script.read_text().startswith("#!/bin/sh\n") and script.stat().st_mode & 0o111
    subprocess.run(["sh", "-n", str(script)], check=True)


def test_nginx_defines_its_log_format_and_map_before_using_them() -> None:
    """Deploy walkthrough: `nginx -t` said "unknown log format intake_hub": the log_format (and
    the map of $loggable) came after the server block whose access_log names them; nginx reads
    the file in order."""
    lines = (DEPLOY / "nginx" / "intake-hub.conf").read_text(encoding="utf-8").splitlines()
    code = [line.split("#", 1)[0] for line in lines]

    def first(pattern: str) -> int:
        return next(i for i, line in enumerate(code) if re.search(pattern, line))

    used = first(r"^\s*access_log\s+\S+\s+intake_hub\b.*\$loggable")
    assert first(r"^\s*log_format\s+intake_hub\b") < used
    assert first(r"^\s*map\s+\$request_uri\s+\$loggable\b") < used
