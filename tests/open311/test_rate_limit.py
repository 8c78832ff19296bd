"""POST requests without an api_key (none configured) is limited per client address per hour
(channels.web.anonymous_per_hour); with an api_key configured the keyed clients are not."""
from __future__ import annotations

V2 = "/open311/v2"
FORM = {"service_code": "traffic_infrastructure", "address_string": "kiệt 5 Lê Lợi, Huế",
        "description": "Ổ gà lớn giữa đường Lê Lợi"}


async def test_anonymous_posts_are_limited_per_client(settings_factory, hub_client):
    client = await hub_client(settings_factory(channels={"web": {"anonymous_per_hour": 2}}))
    statuses = []
    for i in range(5):
        resp = await client.post(f"{V2}/requests.json", data={**FORM, "description": f"Ổ gà số {i}"})
        statuses.append(resp.status)
        if resp.status == 429:
            [problem] = await resp.json()
            assert problem["code"] == 429 and problem["description"]
            assert 0 < int(resp.headers["Retry-After"]) <= 3601
    assert statuses == [201, 201, 429, 429, 429]
    # the XML error format too
    resp = await client.post(f"{V2}/requests.xml", data=FORM)
    assert resp.status == 429
    assert b"<errors><error><code>429</code>" in await resp.read()


async def test_keyed_posts_are_not_limited(settings_factory, hub_client):
    client = await hub_client(settings_factory(
        channels={"web": {"api_key": "k-123", "anonymous_per_hour": 2}}))
    statuses = []
    for i in range(5):
        resp = await client.post(f"{V2}/requests.json",
                                 data={**FORM, "description": f"Ổ gà số {i}", "api_key": "k-123"})
        statuses.append(resp.status)
    assert statuses == [201] * 5


async def test_a_replay_is_not_counted_and_passes_the_limit(settings_factory, hub_client):
    client = await hub_client(settings_factory(channels={"web": {"anonymous_per_hour": 2}}))
    first = await client.post(f"{V2}/requests.json", data=FORM, headers={"Idempotency-Key": "app-1"})
    assert first.status == 201
    for _ in range(3):  # retries of the same request: answered, never counted
        again = await client.post(f"{V2}/requests.json", data=FORM, headers={"Idempotency-Key": "app-1"})
        assert again.status == 200
    second = await client.post(f"{V2}/requests.json", data={**FORM, "description": "Ổ gà khác"})
    assert second.status == 201
    refused = await client.post(f"{V2}/requests.json", data={**FORM, "description": "Thêm một"})
    assert refused.status == 429
    # past the limit, a retry of a stored request still gets its answer
    late = await client.post(f"{V2}/requests.json", data=FORM, headers={"Idempotency-Key": "app-1"})
    assert late.status == 200
    [answer] = await late.json()
    assert answer.get("token") == "app-1" or answer.get("service_request_id")


async def test_refused_posts_are_counted(settings_factory, hub_client):
    client = await hub_client(settings_factory(channels={"web": {"anonymous_per_hour": 1}}))
    for i in range(3):
        await client.post(f"{V2}/requests.json", data={**FORM, "description": f"Ổ gà {i}"})
    metrics = await (await client.get("/metrics")).text()
    lines = [line for line in metrics.splitlines() if "rate_limit" in line and 'channel="web"' in line
             and not line.startswith("#")]
    assert lines and float(lines[0].split()[-1]) == 2, lines
