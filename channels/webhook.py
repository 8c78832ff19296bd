"""The one webhook handler every push channel uses: limit → verify → split → store durably →
acknowledge. Nothing slow happens before the answer; the 200 is sent only once the raw events
are committed (group commit), so a crash never loses an acknowledged event.

A channel supplies the steps that differ (``WebhookSteps``), each given the ``Body`` (raw bytes
and its JSON, decoded once): ``authenticate`` raises
``Refused`` (401/403) for a bad signature, ``split`` turns the JSON body into RawEvents (or
raises ``Refused(400)``), ``acknowledge`` shapes the answer, ``precheck`` may answer early
(Zalo's unsigned URL check). Every body is size-limited here, for every channel.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, Protocol

from aiohttp import web

from channels.base import ChannelAdapter, ChannelContext
from normalizer.jsonsafe import JSONRefused, loads_bounded
from normalizer.schema import RawEvent
from store.intake import IntakeClosed, IntakeResult

log = logging.getLogger("hub.webhooks")


class Refused(Exception):
    """A request we will not store: the status to answer and a short reason (never a secret)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class Body:
    """A request body: the raw bytes (what signatures cover) and its JSON, decoded at most once
    whichever step asks first (a provider that signs fields of the body needs them to
    authenticate; nothing is parsed twice before the answer)."""

    _unset: Any = object()

    def __init__(self, raw: bytes, decode: Any) -> None:
        self.raw, self._decode = raw, decode
        self._payload: Any = Body._unset
        self._refused: Refused | None = None

    def json(self) -> Any:
        """The decoded body, or Refused(400) (the same refusal every time it is asked)."""
        if self._refused is not None:
            raise self._refused
        if self._payload is Body._unset:
            try:
                self._payload = self._decode(self.raw)
            except Refused as exc:
                self._refused = exc
                raise
        return self._payload


class WebhookSteps(Protocol):
    name: str

    def precheck(self, request: web.Request, body: Body) -> web.StreamResponse | None: ...

    def decode(self, raw: bytes) -> Any: ...

    def authenticate(self, headers: Any, body: Body) -> None: ...

    def split(self, payload: Any) -> list[RawEvent]: ...

    def acknowledge(self, results: list[IntakeResult]) -> web.StreamResponse: ...


def loads(raw: bytes) -> Any:
    """JSON, or Refused(400). Depth is checked before parsing (normalizer.jsonsafe): a body
    nested thousands deep is malformed input, refused cheaply, never a 500."""
    try:
        return loads_bounded(raw)
    except JSONRefused as exc:
        raise Refused(400, "body is not JSON" if "not valid" in str(exc) else str(exc)) from None


async def read_limited(ctx: ChannelContext, request: web.Request) -> bytes:
    cap = ctx.max_body_bytes
    if request.content_length is not None and request.content_length > cap:
        raise Refused(413, "body too large")
    try:
        raw = await request.read()  # the app's client_max_size caps it too
    except web.HTTPRequestEntityTooLarge:
        raise Refused(413, "body too large") from None
    if len(raw) > cap:
        raise Refused(413, "body too large")
    return raw


def webhook_handler(ctx: ChannelContext, steps: WebhookSteps):  # noqa: ANN201
    async def handle(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            raw = await read_limited(ctx, request)
            body = Body(raw, steps.decode)
            early = steps.precheck(request, body)
            if early is not None:
                return early
            steps.authenticate(request.headers, body)
            events = steps.split(body.json())
        except Refused as exc:
            return refuse(ctx, steps.name, exc.status, exc.reason)
        results = await store_events(ctx, steps.name, events, started) if events else []
        return steps.acknowledge(results)

    return handle


async def store_events(ctx: ChannelContext, channel: str, events: Sequence[RawEvent],
                       started: float | None = None) -> list[IntakeResult]:
    """Commit the events (group commit). Raises HTTP 503 when they could not be made durable, so
    the channel redelivers instead of believing us."""
    started = time.perf_counter() if started is None else started
    try:
        results = await ctx.submit(channel, [(e.external_id, e.payload) for e in events])
    except IntakeClosed:
        raise web.HTTPServiceUnavailable(text="shutting down", headers={"Retry-After": "5"}) from None
    except Exception:
        log.exception("intake failed for %d %s events", len(events), channel)
        raise web.HTTPServiceUnavailable(text="storage unavailable",
                                         headers={"Retry-After": "5"}) from None
    ctx.observe_ack(channel, time.perf_counter() - started)
    return results


def refuse(ctx: ChannelContext, channel: str, status: int, reason: str) -> web.Response:
    ctx.count_rejected(channel, reason)
    log.warning("refused %s request: %s", channel, reason)
    return web.json_response({"error": reason}, status=status)


class WebhookChannel(ChannelAdapter):
    """A channel that receives pushes on ``webhook_path``: the defaults of every step, so an
    adapter overrides only what its provider does differently."""

    webhook_path: str = ""

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.webhook_path, webhook_handler(self.ctx, self))]

    def precheck(self, request: web.Request, body: Body) -> web.StreamResponse | None:
        return None

    def decode(self, raw: bytes) -> Any:
        return loads(raw)

    def authenticate(self, headers: Any, body: Body) -> None:
        if not self.verify(headers, body.raw):
            raise Refused(403, "bad signature")

    def split(self, payload: Any) -> list[RawEvent]:
        raise NotImplementedError

    def acknowledge(self, results: list[IntakeResult]) -> web.StreamResponse:
        return web.json_response({"ok": True})
