"""Settings of the email channel: the ``[channels.email]`` section."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from channels.base import ChannelSettings


class EmailSettings(ChannelSettings):
    imap_host: str = ""
    # false: the channel only sends (answers to mail the hub stored, agency mail); nothing is
    # fetched from the mailbox (the demo; a center whose mailbox another system reads).
    imap_enabled: bool = True
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
    # "password" (LOGIN / AUTH PLAIN with password and smtp_password), or "oauth2": SASL XOAUTH2
    # with an access token from the provider (Microsoft 365 and Gmail without app passwords;
    # docs/channels/email.md). username / smtp_username name the mailbox in both cases.
    auth: Literal["password", "oauth2"] = "password"
    oauth_provider: Literal["microsoft", "google"] = "microsoft"
    oauth_tenant: str = ""  # Microsoft: the directory (tenant) id or domain
    oauth_client_id: str = ""
    oauth_client_secret: SecretStr = SecretStr("")
    # Empty with Microsoft: client credentials (an app with IMAP.AccessAsApp / SMTP.SendAsApp,
    # the mailbox granted to its service principal). Set: a delegated refresh token.
    oauth_refresh_token: SecretStr = SecretStr("")
    oauth_scope: str = ""  # empty: the provider's usual scope for the grant
    oauth_token_url: str = ""  # empty: the provider's token endpoint
    oauth_refresh_margin_seconds: float = Field(300.0, ge=0)

    @model_validator(mode="after")
    def _oauth_complete(self) -> EmailSettings:
        if self.enabled and self.auth == "oauth2":
            missing = [k for k in ("oauth_client_id",) if not getattr(self, k)]
            if self.oauth_provider == "google" and not self.oauth_refresh_token.get_secret_value():
                missing.append("oauth_refresh_token (Google has no client-credentials grant "
                               "for mail)")
            if (self.oauth_provider == "microsoft" and not self.oauth_token_url
                    and not self.oauth_tenant):
                missing.append("oauth_tenant")
            if (not self.oauth_refresh_token.get_secret_value()
                    and not self.oauth_client_secret.get_secret_value()):
                missing.append("oauth_client_secret")
            if missing:
                raise ValueError("auth = \"oauth2\" needs " + ", ".join(missing))
        return self
