"""Settings of the email channel: the ``[channels.email]`` section."""
from __future__ import annotations

from pydantic import Field, SecretStr

from channels.base import ChannelSettings


class EmailSettings(ChannelSettings):
    imap_host: str = ""
    imap_port: int = 993
    imap_ssl: bool = True
    username: str = ""
    password: SecretStr = SecretStr("")
    mailbox: str = "INBOX"
    poll_seconds: float = 60.0
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    from_address: str = ""
    # Display name in From (empty: the bare address).
    from_name: str = ""
    smtp_ssl: bool = False  # implicit TLS (port 465); smtp_starttls upgrades a plain session
    smtp_timeout_seconds: float = Field(30.0, gt=0)
    # While sending is paused (SMTP login refused), how often to try logging in again.
    smtp_recheck_seconds: float = Field(300.0, gt=0)
    # Extra CA bundle for IMAP/SMTP TLS (a private CA); empty: the system store.
    tls_ca_file: str = ""
    # Our own timeout around every IMAP command (aioimaplib only times out fetches).
    imap_timeout_seconds: float = Field(30.0, gt=0)
    # Reconnect backoff after a dropped connection or server restart: 1 s, doubling, capped here.
    reconnect_max_seconds: float = Field(60.0, gt=0)
    # Use IDLE when the server offers it; re-issued after idle_seconds (servers drop at 30 min).
    use_idle: bool = True
    idle_seconds: float = Field(600.0, gt=0, le=1740)
    fetch_batch: int = Field(50, gt=0, le=500)
    # Larger mails are fetched only up to this size (headers and first parts) and marked truncated.
    max_message_bytes: int = Field(40 * 1024 * 1024, gt=0)
    # At most this many mails to one address per window (0: no limit).
    reply_rate_limit: int = Field(20, ge=0)
    reply_rate_window_seconds: float = Field(3600.0, gt=0)
