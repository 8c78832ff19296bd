"""Prometheus metrics, one registry per hub instance (tests build several)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.intake_events = Counter("hub_intake_events", "Events acknowledged by intake",
                                     ["channel", "result"], registry=r)
        self.intake_commit_seconds = Histogram(
            "hub_intake_commit_seconds", "Group-commit write time per batch", registry=r,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0))
        self.request_seconds = Histogram(
            "hub_webhook_ack_seconds", "Acknowledgement latency of intake routes", ["channel"],
            registry=r, buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 5))
        self.rejected_requests = Counter("hub_rejected_requests", "Refused inbound requests",
                                         ["channel", "reason"], registry=r)
        self.inbox_processed = Counter("hub_inbox_processed", "Inbox rows processed",
                                       ["channel", "result"], registry=r)
        self.inbox_lag = Gauge("hub_inbox_lag_seconds", "Age of the oldest pending inbox row",
                               registry=r)
        self.inbox_by_state = Gauge("hub_inbox_rows", "Inbox rows by state", ["state"], registry=r)
        self.outbox_by_state = Gauge("hub_outbox_rows", "Outbox rows by state",
                                     ["channel", "state"], registry=r)
        self.outbox_attempts = Counter("hub_outbox_attempts", "Send attempts by outcome",
                                       ["channel", "purpose", "outcome"], registry=r)
        self.channel_paused = Gauge("hub_channel_paused", "1 when a channel's sending is paused",
                                    ["channel"], registry=r)
        self.reports_created = Counter("hub_reports_created", "Reports created",
                                       ["channel"], registry=r)
        self.reports_by_status = Gauge("hub_reports", "Reports by agency and status",
                                       ["agency", "status"], registry=r)
        self.reports_overdue = Gauge("hub_reports_overdue", "Open reports past their due date",
                                     ["agency"], registry=r)
        self.skipped = Counter("hub_skipped_events", "Events skipped on purpose, with why",
                               ["channel", "reason"], registry=r)
        self.alerts = Counter("hub_alerts", "Operational alerts raised", ["channel", "kind"],
                              registry=r)
        self.leader = Gauge("hub_leader", "1 when this process holds the leader lease (pollers, "
                            "SLA and other periodic jobs run there)", registry=r)

        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, kept: the lookup is paid on hot paths (every webhook
        answer, every report made)."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def expect_routes(self, routes: Iterable[str]) -> None:
        """Every series an alert rule (deploy/prometheus/alerts.yml) selects, at 0, for each
        outbox route of this hub (its channels' senders, "zns", "callback", the agency routes).

        A labelled child appears at its first event, at its value: Prometheus then sees a series
        that starts at 1 (or 3), and ``increase``/``delta`` over it give 0 — the first dead
        letter or refused token on a route after each start alerted nobody."""
        for route in routes:
            # The agency routes carry their own name as purpose (router.delivery); every other
            # route sends to citizens.
            purpose = route if route.startswith("agency_") else "citizen"
            for outcome in ("sent", "retry", "dead"):
                self._child(self.outbox_attempts, route, purpose, outcome)
            self._child(self.outbox_by_state, route, "dead")
            self._child(self.alerts, route, "paused")
            self._child(self.channel_paused, route)
        self._child(self.alerts, "router", "overdue_director")

    def ack_seconds(self, channel: str) -> Histogram:
        return self._child(self.request_seconds, channel)

    def report_created(self, channel: str) -> None:
        self._child(self.reports_created, channel).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
