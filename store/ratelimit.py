"""Per-client submission limits shared by the web layer (the portal form ``/report``) and the
channels (an Open311 POST without an api_key): a sliding hour per client address, in memory."""
from __future__ import annotations

import ipaddress
import time
from collections import defaultdict, deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web


MAX_CLIENTS = 50_000  # past this many addresses, idle ones are forgotten


class RateLimiter:
    """Submissions per client per hour, in memory (one process; replicas each keep their own)."""

    def __init__(self, per_hour: int) -> None:
        self.per_hour = per_hour
        self.seen: dict[str, deque[float]] = defaultdict(deque)
        self._swept = float("-inf")

    def wait(self, key: str, now: float | None = None) -> float | None:
        """None when ``key`` may submit now (nothing is counted), else seconds until it may."""
        now = time.monotonic() if now is None else now
        window = self.seen.get(key)
        if not window:
            return None
        while window and window[0] <= now - 3600:
            window.popleft()
        return 3600 - (now - window[0]) if len(window) >= self.per_hour else None

    def allow(self, key: str, now: float | None = None) -> float | None:
        """None when allowed (and counted), else seconds until the next allowed submission."""
        now = time.monotonic() if now is None else now
        waiting = self.wait(key, now)
        if waiting is not None:
            return waiting
        self.seen[key].append(now)
        if len(self.seen) > MAX_CLIENTS and now - self._swept >= 60:
            # forget clients whose last submission left the hour (at most once a minute: with
            # that many clients active, every call must not walk them all)
            self._swept = now
            for k in [k for k, v in self.seen.items() if not v or v[-1] <= now - 3600]:
                del self.seen[k]
        return None

    def refund(self, key: str) -> None:
        """Take back the latest counted submission of ``key`` (it turned out to make nothing
        new, e.g. a replayed request with the same idempotency key)."""
        window = self.seen.get(key)
        if window:
            window.pop()


def client_address(request: web.Request) -> str:
    """Who is submitting, for the rate limit. Behind the reverse proxy of deploy/ (nginx or
    Caddy on the same host) every request comes from loopback: the client is then the last
    X-Forwarded-For entry, the one the proxy itself added. From anywhere else the header is
    ignored (anyone can send it)."""
    remote = request.remote or "unknown"
    try:
        loopback = ipaddress.ip_address(remote).is_loopback
    except ValueError:
        loopback = False
    forwarded = request.headers.get("X-Forwarded-For", "")
    if loopback and forwarded.strip():
        remote = forwarded.split(",")[-1].strip()[:64] or remote
    return _network(remote)


def _network(address: str) -> str:
    """An IPv6 client is its /64 (one subscriber's line hands out any address in it); IPv4 and
    anything unreadable stay as they are."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        if not ip.is_loopback:
            return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address
