"""An aiosmtpd SMTP sink on loopback: records every accepted mail; scriptable refusals per
recipient (4xx/5xx), optional AUTH and STARTTLS (self-signed certificate made with openssl)."""
from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.email.dovecot import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.raw)  # type: ignore[return-value]


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    # recipient → SMTP reply line, e.g. "451 4.3.0 try again later" or "550 5.1.1 no such user"
    refuse: dict[str, str] = field(default_factory=dict)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Server-side sessions, closed on stop (clients may still hold a reused connection).
    sessions: list[Any] = field(default_factory=list)

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        with self.lock:
            self.connections += 1
            self.sessions.append(server)
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        answer = self.refuse.get(address.lower())
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          bytes(envelope.original_content or envelope.content)))
        return "250 Message accepted for delivery"


class Authenticator:
    def __init__(self, login: str, password: str) -> None:
        self.login, self.password = login.encode(), password.encode()

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == self.login \
            and auth_data.password == self.password
        # handled=False on failure, or the client waits 60 s (NOTES.md).
        return AuthResult(success=ok, handled=False if not ok else True)


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "sink.crt", directory / "sink.key"
    subprocess.run([shutil.which("openssl") or "openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class SmtpSink:
    def __init__(self, *, auth: tuple[str, str] | None = None, tls_dir: Path | None = None) -> None:
        self.handler = SinkHandler()
        self.port = free_port()
        self.cert: Path | None = None
        kwargs: dict[str, Any] = {}
        if auth is not None:
            # Without TLS, AUTH is offered but not required (aiosmtpd warns otherwise).
            kwargs.update(authenticator=Authenticator(*auth), auth_required=tls_dir is not None,
                          auth_require_tls=tls_dir is not None)
        if tls_dir is not None:
            self.cert, key = self_signed_cert(tls_dir)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert, key)
            kwargs.update(tls_context=context, require_starttls=True)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        def close_sessions() -> None:
            for server in self.handler.sessions:
                for transport in (server.transport, getattr(server, "_original_transport", None)):
                    if transport is not None:
                        transport.close()

        loop = self.controller.loop
        done = threading.Event()
        loop.call_soon_threadsafe(lambda: (close_sessions(), done.set()))
        done.wait(5)
        self.controller.stop()
