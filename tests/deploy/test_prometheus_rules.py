"""The shipped alert rules: valid for promtool, unit-tested (alerts.test.yml), and every hub
metric they name exists in the hub's registry (a renamed metric must break this test, not the
alert silently)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hub.metrics import Metrics

PROM = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool is not installed (Debian: apt-get install prometheus); .ci/run installs it")


@needs_promtool
def test_promtool_checks_and_unit_tests_the_rules() -> None:
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        proc = subprocess.run(["promtool", *args], cwd=PROM, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rules_name_only_metrics_the_hub_exports() -> None:
    exported = set()
    for family in Metrics().registry.collect():
        exported.add(family.name)
        if family.type == "counter":  # samples appear only once a labelled child exists
            exported.add(family.name + "_total")
        exported.update(sample.name for sample in family.samples)
    used = set(re.findall(r"\b(hub_[a-z_]+)", (PROM / "alerts.yml").read_text()))
    assert used and used <= exported, used - exported
    # What the issue asks to watch is covered.
    for name in ("hub_outbox_attempts_total", "hub_inbox_lag_seconds", "hub_channel_paused",
                 "hub_reports_overdue", "hub_alerts_total", "hub_leader"):
        assert name in used, name


@needs_promtool
def test_the_documented_install_gives_a_config_promtool_accepts(tmp_path: Path) -> None:
    """docs/deploy.md §11 installs alerts.yml as /etc/prometheus/intake-hub-alerts.yml and a
    token file beside it; the shipped scrape config then passes ``promtool check config`` —
    and fails without the token file, as the guide says."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    assert "install -m 0644 deploy/prometheus/alerts.yml /etc/prometheus/intake-hub-alerts.yml" in docs
    assert "/etc/prometheus/intake-hub.token" in docs
    config = (PROM / "prometheus.yml").read_text().replace("/etc/prometheus/", f"{tmp_path}/")
    (tmp_path / "prometheus.yml").write_text(config)
    (tmp_path / "intake-hub-alerts.yml").write_text((PROM / "alerts.yml").read_text())

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["promtool", "check", "config", "prometheus.yml"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)

    missing = check()
    assert missing.returncode != 0 and "intake-hub.token" in missing.stdout + missing.stderr
    (tmp_path / "intake-hub.token").write_text("0" * 64)
    proc = check()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 rule files found" in proc.stdout + proc.stderr
