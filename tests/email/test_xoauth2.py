"""Email over OAuth 2.0: the IMAP poller and the SMTP sender log in with SASL XOAUTH2, tokens
from a (loopback) Microsoft identity platform / Google token endpoint. IMAP is a real Dovecot
with its ``oauth2`` passdb asking a local token-introspection fake (RFC 7662, POST); SMTP is an
aiosmtpd sink that checks XOAUTH2 against the same tokens."""
from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from channels.email.settings import EmailSettings
from channels.email.xoauth2 import EmailOAuth, OAuthRefused, grant_form
from hub.keys import HUB_KEY
from store.models import Report
from tests.conftest import wait_for
from tests.email.conftest import CENTER, fixture_bytes, needs_dovecot
from tests.email.dovecot import Dovecot
from tests.email.smtp_sink import SinkHandler, SmtpSink

pytestmark = needs_dovecot
TENANT = "hue-gov-vn"
CLIENT_ID, CLIENT_SECRET = "11111111-2222-3333-4444-555555555555", "app-secret-for-tests"

OAUTH2_CONF = """\
introspection_mode = post
introspection_url = {url}/introspect
username_attribute = username
active_attribute = active
active_value = true
force_introspection = yes
"""


class IdentityProvider:
    """Token endpoint + introspection. Tokens name the mailbox they were issued for."""

    def __init__(self, api: Any, mailbox: str) -> None:
        self.api, self.mailbox = api, mailbox
        self.numbers = itertools.count(1)
        self.active: set[str] = set()
        self.grants: list[dict[str, str]] = []
        self.introspected: list[str] = []
        self.revoke_next = 0  # tokens to issue already revoked (refused by the servers)
        self.refresh_token = "RT-1"
        api.on("POST", f"/{TENANT}/oauth2/v2.0/token", default=self.token)
        api.on("POST", "/introspect", default=self.introspect)

    async def token(self, request: web.Request, _body: bytes) -> web.Response:
        form = dict(await request.post())
        self.grants.append(form)
        if form.get("client_id") != CLIENT_ID:
            return web.json_response({"error": "unauthorized_client",
                                      "error_codes": [700016]}, status=400)
        if form.get("grant_type") == "client_credentials":
            if form.get("client_secret") != CLIENT_SECRET:
                return web.json_response({"error": "invalid_client", "error_codes": [7000215]},
                                         status=401)
        elif form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") != self.refresh_token:
                return web.json_response({"error": "invalid_grant"}, status=400)
        token = f"AT-{next(self.numbers)}"
        if self.revoke_next:
            self.revoke_next -= 1
        else:
            self.active.add(token)
        body = {"token_type": "Bearer", "access_token": token, "expires_in": 3599}
        if form.get("grant_type") == "refresh_token":  # Microsoft rotates refresh tokens
            self.refresh_token = body["refresh_token"] = f"RT-{token}"
        return web.json_response(body)

    async def introspect(self, request: web.Request, _body: bytes) -> web.Response:
        token = str((await request.post()).get("token", ""))
        self.introspected.append(token)
        if token not in self.active:
            return web.json_response({"active": False})
        return web.json_response({"active": True, "username": self.mailbox})


class XoauthSinkHandler(SinkHandler):
    def __init__(self, idp: IdentityProvider) -> None:
        super().__init__()
        self.idp = idp
        self.logins: list[str] = []

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        raw = base64.b64decode(args[1]).decode() if len(args) > 1 else ""
        fields = dict(part.split("=", 1) for part in raw.split("\x01") if "=" in part)
        token = fields.get("auth", "").removeprefix("Bearer ")
        self.logins.append(token)
        ok = fields.get("user") == CENTER and token in self.idp.active
        return AuthResult(success=ok, handled=False if not ok else True)


class XoauthDovecot(Dovecot):
    """The test Dovecot plus an oauth2 passdb for XOAUTH2/OAUTHBEARER (before passwd-file)."""

    def __init__(self, introspection_url: str) -> None:
        self.introspection_url = introspection_url
        super().__init__()

    def _prepare(self) -> None:
        super()._prepare()
        conf = self.root / "dovecot-oauth2.conf.ext"
        conf.write_text(OAUTH2_CONF.format(url=self.introspection_url))
        text = self.config.read_text()
        text = text.replace("auth_mechanisms = plain login",
                            "auth_mechanisms = plain login xoauth2 oauthbearer")
        text = text.replace("passdb {", "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 "
                            f"oauthbearer\n  args = {conf}\n}}\npassdb {{", 1)
        self.config.write_text(text)


@pytest.fixture
async def idp(fake_api: Any) -> IdentityProvider:
    return IdentityProvider(await fake_api(), "user000")


@pytest.fixture
def oauth_dovecot(idp: IdentityProvider) -> Iterator[XoauthDovecot]:
    server = XoauthDovecot(idp.api.url)
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def oauth_sink(idp: IdentityProvider) -> Iterator[SmtpSink]:
    sink = SmtpSink(auth=("unused", "unused"))
    handler = XoauthSinkHandler(idp)
    sink.handler = handler
    sink.controller.handler = handler
    sink.start()
    yield sink
    sink.stop()


def oauth_section(dovecot: Dovecot, sink: SmtpSink, idp: IdentityProvider, **extra: Any) -> dict[str, Any]:
    return {"enabled": True, "imap_host": "127.0.0.1", "imap_port": dovecot.port,
            "imap_ssl": False, "username": "user000", "mailbox": "INBOX", "poll_seconds": 0.2,
            "smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_starttls": False,
            "smtp_username": CENTER, "from_address": CENTER, "imap_timeout_seconds": 5,
            "reconnect_max_seconds": 1, "smtp_timeout_seconds": 5,
            "auth": "oauth2", "oauth_provider": "microsoft", "oauth_tenant": TENANT,
            "oauth_client_id": CLIENT_ID, "oauth_client_secret": CLIENT_SECRET,
            "oauth_token_url": f"{idp.api.url}/{TENANT}/oauth2/v2.0/token", **extra}


@pytest.fixture
async def oauth_hub(settings_factory: Any, hub_client: Any, oauth_dovecot: XoauthDovecot,
                    oauth_sink: SmtpSink, idp: IdentityProvider) -> AsyncIterator[Any]:
    async def start(**extra: Any) -> Any:
        settings = settings_factory(channels={"email": oauth_section(oauth_dovecot, oauth_sink,
                                                                     idp, **extra)},
                                    workers={"leader_lease_seconds": 3})
        return (await hub_client(settings)).app[HUB_KEY]
    yield start


async def _report(hub: Any) -> Report | None:
    async with hub.sessions() as session:
        return (await session.execute(select(Report))).scalars().first()


async def test_xoauth2_login_against_dovecot_and_smtp_with_client_credentials(
        oauth_hub: Any, oauth_dovecot: XoauthDovecot, oauth_sink: SmtpSink,
        idp: IdentityProvider) -> None:
    hub = await oauth_hub()
    await asyncio.to_thread(oauth_dovecot.deliver, fixture_bytes("message__plain_utf8_photo.eml"),
                            "user000")
    report = await wait_for(lambda: _report(hub), timeout=20)
    assert report.channel == "email"
    [ack] = await wait_for(lambda: _received(oauth_sink), timeout=15)
    assert report.code in ack.message["Subject"]
    # One token for both protocols: Dovecot introspected it, the SMTP server accepted it.
    [grant] = idp.grants
    assert grant["grant_type"] == "client_credentials"
    assert grant["scope"] == "https://outlook.office365.com/.default"
    assert idp.introspected[0] == "AT-1" and oauth_sink.handler.logins == ["AT-1"]
    assert "AT-1" not in oauth_dovecot.log_tail(200)  # Dovecot logs no token either


async def _received(sink: SmtpSink) -> list[Any] | None:
    return sink.received or None


async def test_a_refused_token_is_replaced_and_the_poller_logs_in_again(
        oauth_hub: Any, oauth_dovecot: XoauthDovecot, idp: IdentityProvider) -> None:
    idp.revoke_next = 1  # the first token is refused by Dovecot (revoked right after issue)
    hub = await oauth_hub()
    await asyncio.to_thread(oauth_dovecot.deliver, fixture_bytes("message__plain_utf8_photo.eml"),
                            "user000")
    await wait_for(lambda: _report(hub), timeout=20)
    assert idp.introspected[:2] == ["AT-1", "AT-2"]
    assert [g["grant_type"] for g in idp.grants[:2]] == ["client_credentials"] * 2


async def test_a_refused_grant_pauses_sending_with_an_alert(oauth_hub: Any, idp: IdentityProvider) -> None:
    hub = await oauth_hub(oauth_client_secret="wrong-secret")

    async def paused() -> bool:
        return hub.is_paused("email")
    await wait_for(paused, timeout=15)
    assert "invalid_client" in hub.paused["email"] and CLIENT_SECRET not in hub.paused["email"]
    assert hub.metrics.alerts.labels("email", "paused")._value.get() == 1
    assert idp.introspected == []  # no token ever reached Dovecot


async def test_refresh_token_rotates_and_survives_a_restart(settings_factory: Any, idp: IdentityProvider,
                                                            oauth_dovecot: XoauthDovecot,
                                                            oauth_sink: SmtpSink) -> None:
    from hub.app import close_hub, open_hub

    settings = settings_factory(channels={"email": oauth_section(
        oauth_dovecot, oauth_sink, idp, oauth_refresh_token="RT-1", oauth_client_secret="")})
    hub = await open_hub(settings)
    try:
        source = EmailOAuth(settings.channels.email)
        source.bind(hub.sessions)
        assert await source.token() == "AT-1" and idp.refresh_token == "RT-AT-1"
        form = idp.grants[0]
        assert form["grant_type"] == "refresh_token" and "client_secret" not in form
        assert "IMAP.AccessAsUser.All" in form["scope"] and "offline_access" in form["scope"]
        # A new process (same settings, whose RT-1 is now used up) continues the rotated chain.
        again = EmailOAuth(settings.channels.email)
        again.bind(hub.sessions)
        assert await again.token() == "AT-2"
        assert idp.grants[1]["refresh_token"] == "RT-AT-1"
        # Without the database it would have used the settings' spent token: refused, named.
        lost = EmailOAuth(settings.channels.email)
        with pytest.raises(OAuthRefused, match="invalid_grant"):
            await lost.token()
    finally:
        await close_hub(hub)


def test_google_uses_its_token_endpoint_and_mail_scope() -> None:
    s = EmailSettings(enabled=True, auth="oauth2", oauth_provider="google",
                      oauth_client_id="x.apps.googleusercontent.com", oauth_client_secret="s",
                      oauth_refresh_token="1//rt")
    from channels.email.xoauth2 import token_url

    assert token_url(s) == "https://oauth2.googleapis.com/token"
    assert grant_form(s, "1//rt") == {"client_id": "x.apps.googleusercontent.com",
                                      "client_secret": "s", "grant_type": "refresh_token",
                                      "refresh_token": "1//rt", "scope": "https://mail.google.com/"}
    with pytest.raises(ValueError, match="oauth_refresh_token"):
        EmailSettings(enabled=True, auth="oauth2", oauth_provider="google", oauth_client_id="x")
