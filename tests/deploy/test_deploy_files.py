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
