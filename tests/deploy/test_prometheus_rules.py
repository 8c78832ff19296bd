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
