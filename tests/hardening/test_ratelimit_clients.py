"""The per-client submission limit (store.ratelimit) under many clients: idle ones are forgotten
once the table is large (before, only clients who came back emptied their own windows, so past
50,000 addresses every call walked the table and freed nothing), and an IPv6 client is its /64
(one line hands out any of 2^64 addresses)."""
from __future__ import annotations

from types import SimpleNamespace

from store import ratelimit
from store.ratelimit import RateLimiter, client_address


def test_idle_clients_are_forgotten_when_the_table_is_full(monkeypatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_CLIENTS", 100)
    limiter = RateLimiter(per_hour=2)
    for i in range(100):
        assert limiter.allow(f"198.51.100.{i}", now=0.0) is None
    assert limiter.allow("203.0.113.1", now=10.0) is None  # 101 clients, all within the hour
    assert len(limiter.seen) == 101
    assert limiter.allow("203.0.113.2", now=60.0) is None  # a minute on: still all within the hour
    assert len(limiter.seen) == 102
    assert limiter.allow("203.0.113.3", now=3650.0) is None  # the first 100 left the hour: gone
    assert sorted(limiter.seen) == ["203.0.113.2", "203.0.113.3"]


def _request(remote: str, forwarded: str = "") -> SimpleNamespace:
    return SimpleNamespace(remote=remote, headers={"X-Forwarded-For": forwarded} if forwarded else {})


def test_an_ipv6_client_is_its_64_and_ipv4_stays_itself() -> None:
    a = client_address(_request("2001:db8:1:2:aaaa::1"))
    b = client_address(_request("2001:db8:1:2:ffff:ffff:ffff:fffe"))
    c = client_address(_request("2001:db8:1:3::1"))
    assert a == b == "2001:db8:1:2::/64" and c != a
    assert client_address(_request("203.0.113.9")) == "203.0.113.9"
    assert client_address(_request("::ffff:203.0.113.9")) == "203.0.113.9"
    # behind the local proxy, the address it adds is the client's, grouped the same way
    assert client_address(_request("127.0.0.1", "10.0.0.1, 2001:db8:1:2::77")) == "2001:db8:1:2::/64"
    assert client_address(_request("::1")) == "::1"
