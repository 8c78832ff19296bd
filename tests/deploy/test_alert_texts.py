"""What an alert tells the operator to do exists: every `hub …` command its text names parses
with the hub's own command line, and no text sends them to a console list the hub does not have
(deliveries are on each report's page; the dead rows are listed by `hub outbox retry
--dry-run`)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from main import build_parser
from tests.deploy.test_prometheus_rules import PROM

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def annotations() -> list[str]:
    rules = yaml.safe_load((PROM / "alerts.yml").read_text())["groups"][0]["rules"]
    return [text for rule in rules for text in rule.get("annotations", {}).values()]


def monitoring_section() -> str:
    text = DOCS.read_text()
    return text[text.index("## 11. Monitoring"):text.index("## 12.")]


def test_commands_named_by_the_alerts_and_the_guide_exist() -> None:
    texts = [*annotations(), monitoring_section()]
    commands = [c.replace("{{ $labels.channel }}", "telegram")
                for text in texts for c in re.findall(r"`(hub [^`]+)`", text)]
    assert any("outbox retry" in c and "--dry-run" in c for c in commands), commands
    parser = build_parser()
    for command in commands:
        parser.parse_args(shlex.split(command)[1:])  # SystemExit on an unknown command or flag


def test_no_alert_points_to_a_console_list_that_does_not_exist() -> None:
    for text in [*annotations(), monitoring_section()]:
        assert "console's deliveries" not in text, text
    dead = next(t for t in annotations() if "were not reached" in t)
    assert "/console/reports/CODE" in dead
