"""The IMAP poller: mailbox → durable inbox, on the leader only.

One session: connect (SSL or plain), LOGIN, SELECT, then repeatedly ``UID SEARCH UNSEEN`` plus
everything above the stored UID cursor, ``UID FETCH … BODY.PEEK[]`` in batches, durable intake,
and only then ``UID STORE +FLAGS.SILENT (\\Seen)`` and the cursor. Between syncs it IDLEs when
the server offers it (re-issued every ``idle_seconds``) or sleeps ``poll_seconds``.

aioimaplib times out only fetches and notices a dead server only through ``conn_lost_cb``, so
every command here runs under our own timeout and is raced against the connection-lost and stop
events; any failure ends the session, and the loop reconnects with backoff and re-syncs.
Intake dedupes on (channel, Message-ID), so a mail fetched twice (crash between intake and
STORE, a new UIDVALIDITY) never makes a second report.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from aioimaplib import IMAP4, STOP_WAIT_SERVER_PUSH

from channels.email.mime import external_id_for
from channels.email.smtp import tls_context
from channels.email.xoauth2 import OAuthRefused, token_source
from store.intake import IntakeClosed
from store.models import ChannelState, utcnow

if TYPE_CHECKING:
    from channels.base import ChannelContext
    from channels.email.settings import EmailSettings

log = logging.getLogger("hub.channels.email.imap")
T = TypeVar("T")
LEADER_CHECK_SECONDS = 5.0
FETCH_LINE = re.compile(rb"^(\d+) FETCH \(")


class ImapError(Exception):
    """The server refused a command or the connection is gone; the session is restarted."""


class _Stopping(Exception):
    pass


@dataclass
class PollerStats:
    """Counters for tests, the bench and operators (also logged)."""

    sessions: int = 0
    connect_failures: int = 0
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    last_error: str | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    idling: asyncio.Event = field(default_factory=asyncio.Event)


def uid_set(uids: list[int]) -> str:
    """[1,2,3,7,9,10] → "1:3,7,9:10" (short command lines for big batches)."""
    ranges: list[str] = []
    ordered = sorted(set(uids))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        ranges.append(str(ordered[i]) if i == j else f"{ordered[i]}:{ordered[j]}")
        i = j + 1
    return ",".join(ranges)


def parse_fetch(lines: list[Any]) -> dict[int, tuple[bytes, int]]:
    """aioimaplib's flat FETCH response → uid → (literal bytes, RFC822.SIZE). The UID may come
    before or after the literal; unsolicited FETCHes (flag changes) carry no literal and are
    skipped."""
    out: dict[int, tuple[bytes, int]] = {}
    current: dict[str, Any] | None = None

    def flush() -> None:
        if current and "uid" in current and "raw" in current:
            out[current["uid"]] = (current["raw"], current.get("size", len(current["raw"])))

    for item in lines:
        if isinstance(item, bytearray):
            if current is not None:
                current["raw"] = bytes(item)
            continue
        line = bytes(item)
        if FETCH_LINE.match(line):
            flush()
            current = {}
        if current is None:
            continue
        if (m := re.search(rb"\bUID (\d+)", line)) is not None:
            current["uid"] = int(m.group(1))
        if (m := re.search(rb"RFC822\.SIZE (\d+)", line)) is not None:
            current["size"] = int(m.group(1))
    flush()
    return out


def search_uids(lines: list[Any]) -> list[int]:
    found: list[int] = []
    for line in lines[:-1]:  # the last line is the tagged status text
        text = bytes(line)
        if text.startswith(b"SEARCH"):
            text = text[6:]
        found.extend(int(x) for x in re.findall(rb"\d+", text))
    return sorted(set(found))


class ImapPoller:
    def __init__(self, ctx: ChannelContext, settings: EmailSettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.stats = PollerStats()
        self.cursor_key = f"email:imap:{settings.username}@{settings.imap_host}/{settings.mailbox}"[:128]
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._imap: IMAP4 | None = None

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        if not self.settings.imap_enabled:
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self.run(), name="email-imap-poller")

    async def aclose(self) -> None:
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=self.settings.imap_timeout_seconds)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def run(self) -> None:
        backoff = min(1.0, self.settings.reconnect_max_seconds)
        while not self._stopping.is_set():
            if not self.ctx.is_leader:
                await self._sleep(LEADER_CHECK_SECONDS / 5)
                continue
            sessions_before = self.stats.sessions
            try:
                await self._session()
                backoff = min(1.0, self.settings.reconnect_max_seconds)
            except (_Stopping, IntakeClosed):
                break
            except Exception as exc:  # every failure: drop the session, back off, reconnect
                self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
                if self.stats.sessions > sessions_before:
                    backoff = min(1.0, self.settings.reconnect_max_seconds)  # it had worked
                else:
                    self.stats.connect_failures += 1
                hint = (" — check channels.email.username and password (or its OAuth settings)"
                        if "LOGIN refused" in self.stats.last_error
                        or "XOAUTH2 refused" in self.stats.last_error else "")
                log.warning("IMAP session with %s:%s ended (%s)%s; reconnecting in %.0fs",
                            self.settings.imap_host, self.settings.imap_port, self.stats.last_error,
                            hint, backoff)
                await self._disconnect()
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.settings.reconnect_max_seconds)
            finally:
                await self._disconnect()

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass

    # --- one session -----------------------------------------------------------------------
    async def _session(self) -> None:
        s = self.settings
        lost = asyncio.Event()
        self._lost = lost
        context = tls_context(s.tls_ca_file) if s.imap_ssl else None
        # IMAP4 (not IMAP4_SSL) with an SSL context: only it accepts conn_lost_cb.
        self._imap = imap = IMAP4(host=s.imap_host, port=s.imap_port, timeout=s.imap_timeout_seconds,
                                  conn_lost_cb=lambda _exc: lost.set(), ssl_context=context)
        await self._call(imap.wait_hello_from_server())
        await self._login(imap)
        selected = self._ok(await self._call(imap.select(s.mailbox)), "SELECT")
        uidvalidity = _uidvalidity(selected.lines)
        self.stats.sessions += 1
        self.stats.connected.set()
        log.info("IMAP connected to %s, mailbox %s (uidvalidity %s)", s.imap_host, s.mailbox,
                 uidvalidity)
        idle = s.use_idle and imap.has_capability("IDLE")
        while not self._stopping.is_set() and self.ctx.is_leader:
            while await self.sync(imap, uidvalidity):
                pass
            if idle:
                await self._idle(imap)
            else:
                await self._call(imap.noop())
                await self._sleep(s.poll_seconds)

    async def _login(self, imap: IMAP4) -> None:
        s = self.settings
        if s.auth != "oauth2":
            self._ok(await self._call(imap.login(s.username, s.password.get_secret_value())), "LOGIN")
            return
        source = token_source(s)
        source.bind(self.ctx.sessions)
        try:
            token = await source.token()  # OAuthUnavailable: backoff and reconnect
        except OAuthRefused as exc:
            # The grant itself is refused (secret, consent): SMTP shares it, so sending pauses
            # with an alert too; the channel's recheck job resumes it once a token is issued.
            self.ctx.pause("email", f"email OAuth token refused: {exc}")
            raise
        try:
            # A refusal comes as a "+ <error>" continuation that aioimaplib leaves unanswered:
            # it ends in our timeout, which counts as a refusal too.
            self._ok(await self._call(imap.xoauth2(s.username, token)), "AUTHENTICATE XOAUTH2")
        except ImapError:
            source.invalidate(token)  # revoked or expired early: a new one next session
            raise

    async def _call(self, awaitable: Awaitable[T], timeout: float | None = None) -> T:
        """Run one IMAP step under our timeout, failing fast on connection loss or stop."""
        task = asyncio.ensure_future(awaitable)
        lost = asyncio.ensure_future(self._lost.wait())
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({task, lost, stop}, timeout=timeout or self.settings.imap_timeout_seconds,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            stop.cancel()
        if task.done():
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if self._lost.is_set():
            raise ImapError("connection lost")
        if self._stopping.is_set():
            raise _Stopping()
        raise ImapError("command timed out")

    @staticmethod
    def _ok(response: Any, what: str) -> Any:
        if response.result != "OK":
            # The server's text, not our arguments (LOGIN carries the password).
            raise ImapError(f"{what} refused: {response.result}")
        return response

    async def _idle(self, imap: IMAP4) -> None:
        s = self.settings
        idle_task = await self._call(imap.idle_start(timeout=s.idle_seconds))
        self.stats.idling.set()
        try:
            while True:
                try:
                    push = await self._call(imap.wait_server_push(timeout=LEADER_CHECK_SECONDS),
                                            timeout=LEADER_CHECK_SECONDS + 5)
                except TimeoutError:
                    if not self.ctx.is_leader:
                        return
                    continue
                if push == STOP_WAIT_SERVER_PUSH:
                    return  # time to re-issue IDLE
                text = b" ".join(bytes(p) for p in push if isinstance(p, bytes | bytearray))
                if b"BYE" in text:
                    raise ImapError("server said BYE")
                if re.search(rb"EXISTS|RECENT|EXPUNGE|FETCH", text):
                    return  # new mail (or changes): sync
        finally:
            self.stats.idling.clear()
            if not self._lost.is_set() and imap.has_pending_idle():
                imap.idle_done()
                try:
                    await asyncio.wait_for(asyncio.shield(idle_task), timeout=s.imap_timeout_seconds)
                except Exception:
                    pass

    # --- sync ------------------------------------------------------------------------------
    async def sync(self, imap: IMAP4, uidvalidity: int) -> int:
        """Fetch what is new, store it durably, then mark it seen. Returns mails handled."""
        s = self.settings
        validity, last_uid = await self.load_cursor()
        if validity != uidvalidity:
            if validity is not None:
                log.warning("UIDVALIDITY of %s changed (%s → %s): rescanning; intake dedupes",
                            s.mailbox, validity, uidvalidity)
            last_uid = 0
            await self.save_cursor(uidvalidity, 0)
        unseen = search_uids(self._ok(await self._call(
            imap.uid_search("UNSEEN", charset=None)), "SEARCH").lines)
        above = search_uids(self._ok(await self._call(
            imap.uid_search(f"UID {last_uid + 1}:*", charset=None)), "SEARCH").lines)
        uids = sorted(set(unseen) | {u for u in above if u > last_uid})
        for start in range(0, len(uids), s.fetch_batch):
            await self._fetch_batch(imap, uidvalidity, uids[start:start + s.fetch_batch])
        return len(uids)

    async def _fetch_batch(self, imap: IMAP4, uidvalidity: int, uids: list[int]) -> None:
        s = self.settings
        wanted = f"(UID RFC822.SIZE BODY.PEEK[]<0.{s.max_message_bytes}>)"
        response = self._ok(await self._call(imap.uid("fetch", uid_set(uids), wanted),
                                             timeout=s.imap_timeout_seconds * 4), "FETCH")
        fetched = parse_fetch(response.lines)
        events = []
        for uid in uids:
            if uid not in fetched:
                continue  # expunged meanwhile
            raw, size = fetched[uid]
            payload = {"raw": base64.b64encode(raw).decode("ascii"), "uid": uid,
                       "uidvalidity": uidvalidity, "mailbox": s.mailbox, "size": size,
                       "truncated": size > len(raw)}
            payload["external_id"] = external_id_for(raw, s.mailbox, uidvalidity, uid)
            events.append((payload["external_id"], payload))
        self.stats.fetched += len(events)
        if events:
            # Durable first (not raced against stop: intake drains on shutdown) ...
            results = await self.ctx.submit("email", events)
            stored = sum(1 for r in results if r.stored)
            self.stats.stored += stored
            self.stats.duplicates += len(results) - stored
        # ... then \Seen, then the cursor. A crash in between only means a refetch + dedupe.
        done = [u for u in uids if u in fetched]
        if done:
            self._ok(await self._call(imap.uid("store", uid_set(done), "+FLAGS.SILENT (\\Seen)")),
                     "STORE")
        await self.save_cursor(uidvalidity, max(uids))

    # --- cursor ----------------------------------------------------------------------------
    async def load_cursor(self) -> tuple[int | None, int]:
        async with self.ctx.sessions() as session:
            row = await session.get(ChannelState, self.cursor_key)
            if row is None:
                return None, 0
            return row.value.get("uidvalidity"), int(row.value.get("last_uid", 0))

    async def save_cursor(self, uidvalidity: int, last_uid: int) -> None:
        async with self.ctx.sessions() as session, session.begin():
            row = await session.get(ChannelState, self.cursor_key)
            if row is None:
                row = ChannelState(key=self.cursor_key, value={}, version=0)
                session.add(row)
            old = row.value or {}
            if old.get("uidvalidity") == uidvalidity:
                last_uid = max(last_uid, int(old.get("last_uid", 0)))
            row.value = {"uidvalidity": uidvalidity, "last_uid": last_uid}
            row.version = (row.version or 0) + 1
            row.updated_at = utcnow()

    async def _disconnect(self) -> None:
        imap, self._imap = self._imap, None
        self.stats.connected.clear()
        self.stats.idling.clear()
        if imap is None:
            return
        if not self._lost.is_set():
            try:
                await asyncio.wait_for(imap.logout(), timeout=3)
            except Exception:
                pass
        transport = imap.protocol.transport if imap.protocol is not None else None
        if transport is not None:
            transport.close()
        waiter = getattr(imap, "_idle_waiter", None)
        if waiter is not None:
            waiter.cancel()
        pending = [t for t in (*imap.tasks, *imap.protocol.tasks) if not t.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if not imap._client_task.done():
            imap._client_task.cancel()
        await asyncio.gather(imap._client_task, return_exceptions=True)


def _uidvalidity(lines: list[Any]) -> int:
    for line in lines:
        if isinstance(line, bytes | bytearray) and (m := re.search(rb"UIDVALIDITY (\d+)", line)):
            return int(m.group(1))
    raise ImapError("SELECT answer carried no UIDVALIDITY")
