"""Typed settings: settings.toml, then --config/HUB_SETTINGS, then HUB__SECTION__KEY overrides.

Secrets are SecretStr: their repr and str are masked, so printing settings or logging them never
leaks a token. Validation happens once at start and names the bad key.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from normalizer.classify import DEFAULT_TRIAGE_THRESHOLD
from normalizer.schema import CATEGORIES

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SETTINGS = ROOT / "settings.toml"
ENV_PREFIX = "HUB__"


class SettingsError(Exception):
    """Bad or missing settings; the message names the key and never contains a secret value."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_base_url: str = "http://127.0.0.1:8080"
    max_body_bytes: int = Field(1_000_000, gt=0)
    shutdown_grace_seconds: float = 10.0


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///data/hub.db"
    echo: bool = False


class StorageSettings(_Section):
    media_dir: str = "data/media"
    max_attachment_bytes: int = Field(25 * 1024 * 1024, gt=0)
    download_timeout_seconds: float = 30.0


class IntakeSettings(_Section):
    batch_max: int = Field(512, gt=0)
    # Chat messages of one citizen within this window extend the same report.
    assembly_window_minutes: float = Field(10, ge=0)
    # Processed raw events (personal data) are deleted after this many days; 0 keeps them.
    retain_processed_days: float = Field(90, ge=0)


class WorkerSettings(_Section):
    enabled: bool = True
    inbox_batch: int = Field(50, gt=0)
    inbox_max_attempts: int = Field(6, gt=0)
    outbox_batch: int = Field(20, gt=0)
    outbox_max_attempts: int = Field(8, gt=0)
    retry_base_seconds: float = Field(5.0, gt=0)
    retry_max_seconds: float = Field(3600.0, gt=0)
    # A claimed row whose worker died is claimable again after this many seconds.
    claim_lease_seconds: float = Field(120.0, gt=0)
    poll_seconds: float = Field(1.0, gt=0)
    leader_lease_seconds: float = Field(30.0, gt=0)
    # Acknowledging comes first: while webhooks arrive faster than this, the workers defer
    # (at most inbox_defer_max_seconds in a row, so the backlog always moves).
    inbox_defer_above_events_per_s: float = Field(300.0, ge=0)
    inbox_defer_max_seconds: float = Field(2.0, ge=0)
    # A worker transaction stops taking new events after this long (SQLite has one writer, and
    # intake's group commit waits for it): short while webhooks are busy, longer when quiet.
    inbox_transaction_budget_ms: float = Field(50.0, gt=0)
    inbox_busy_transaction_budget_ms: float = Field(5.0, gt=0)


class ChannelSettings(_Section):
    enabled: bool = False


class MessengerSettings(ChannelSettings):
    verify_token: SecretStr = SecretStr("")
    app_secret: SecretStr = SecretStr("")
    page_access_token: SecretStr = SecretStr("")
    graph_api_base: str = "https://graph.facebook.com/v21.0"
    media_hosts: list[str] = ["fbcdn.net", "fbsbx.com", "facebook.com", "cdninstagram.com"]
    send_timeout_seconds: float = Field(10.0, gt=0)
    # While sending is paused (token refused), how often to check whether the token works again.
    token_check_seconds: float = Field(300.0, gt=0)


class ZaloSettings(ChannelSettings):
    app_id: str = ""
    oa_secret_key: SecretStr = SecretStr("")
    app_secret: SecretStr = SecretStr("")
    access_token: SecretStr = SecretStr("")
    refresh_token: SecretStr = SecretStr("")
    api_base: str = "https://openapi.zalo.me"
    oauth_base: str = "https://oauth.zaloapp.com"
    zns_base: str = "https://business.openapi.zalo.me"
    zns_template_id: str = ""
    # ZNS template parameter → our template field (code, status_label, agency, status_url,
    # note…); empty: the message's template fields are sent as they are.
    zns_params: dict[str, str] = {}
    media_hosts: list[str] = ["zdn.vn", "zalo.me", "zadn.vn", "zaloapp.com"]
    # Image shown on the request-user-info card (Zalo wants one; empty: omitted).
    request_info_image_url: str = ""
    token_refresh_check_seconds: float = Field(300.0, gt=0)
    token_refresh_margin_seconds: float = Field(3 * 3600.0, ge=0)  # of the 25 h access token
    http_timeout_seconds: float = Field(15.0, gt=0)


class TelegramSettings(ChannelSettings):
    bot_token: SecretStr = SecretStr("")
    secret_token: SecretStr = SecretStr("")
    api_base: str = "https://api.telegram.org"
    # Connect/read/write timeout of Bot API calls (sendMessage, getFile), seconds.
    request_timeout_seconds: float = Field(10.0, gt=0)


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


class HotlineSettings(ChannelSettings):
    # Files dropped here are imported by serve (leader only), then moved to done/ or failed/.
    drop_dir: str = ""
    drop_poll_seconds: float = Field(10.0, gt=0)
    # A file is taken only once it has not changed for this long (still being copied otherwise).
    drop_settle_seconds: float = Field(5.0, ge=0)
    # SMS gateway: POST sms_gateway_url with the auth header ("Name: value", or a bare value for
    # Authorization) and the body template (JSON or form; {phone} {phone_digits}
    # {phone_national} {text} {ref} {code} {part} {parts}).
    sms_gateway_url: str = ""
    sms_auth_header: SecretStr = SecretStr("")
    sms_body_template: str = '{"to": "{phone}", "text": "{text}"}'
    sms_max_chars: int = Field(160, ge=20)
    sms_max_parts: int = Field(3, ge=1, le=10)
    sms_unaccented: bool = False  # strip diacritics for GSM-7-only gateways
    sms_timeout_seconds: float = Field(15.0, gt=0)
    # field → header names tried before the Vietnamese/English defaults (fields: call_id, time,
    # caller, operator, text, address, category, name).
    column_map: dict[str, list[str]] = {}
    # Naive call times in exports are in this zone.
    timezone: str = "Asia/Ho_Chi_Minh"
    # Calls older than this get no receipt SMS when imported (historical backfill).
    ack_max_age_hours: float = Field(24.0, ge=0)
    import_batch: int = Field(2000, gt=0)


class WebSettings(ChannelSettings):
    enabled: bool = True  # the Open311 endpoint is on unless switched off
    api_key: SecretStr = SecretStr("")  # when set, POST requests.json must carry it
    # media_url is downloaded only from these hosts (e.g. the portal's own upload host);
    # anything else is kept as a link, never fetched (no server-side request forgery).
    media_hosts: list[str] = []


class ChannelsSettings(_Section):
    messenger: MessengerSettings = MessengerSettings()
    zalo: ZaloSettings = ZaloSettings()
    telegram: TelegramSettings = TelegramSettings()
    email: EmailSettings = EmailSettings()
    hotline: HotlineSettings = HotlineSettings()
    web: WebSettings = WebSettings()


class AgencySettings(_Section):
    id: str
    name: str
    categories: list[str] = []
    areas: list[str] = []
    email: str = ""
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {sorted(CATEGORIES)}")
        return value

    @model_validator(mode="after")
    def _signed_webhooks_only(self) -> AgencySettings:
        if self.webhook_url and not self.webhook_secret.get_secret_value():
            raise ValueError(f"agency {self.id}: webhook_url needs a webhook_secret (deliveries are signed)")
        return self


class RoutingSettings(_Section):
    # The threshold bench/classify_eval.py checks (normalizer.classify).
    triage_threshold: float = Field(DEFAULT_TRIAGE_THRESHOLD, ge=0, le=1)
    province: str = "Huế"
    sla_days: dict[str, int] = {
        "construction_order": 10, "environment": 3, "traffic_infrastructure": 7,
        "urban_infrastructure": 5, "public_order": 3, "tourism": 5, "public_service": 10,
        "other": 7,
    }
    holidays: list[str] = []  # ISO dates skipped when counting working days
    reminder_days_before: int = 1
    # Working days are counted on this calendar.
    timezone: str = "Asia/Ho_Chi_Minh"
    # How often the leader looks for reports to remind about or escalate.
    sla_check_seconds: float = Field(300.0, gt=0)
    # Where overdue escalations go besides the center's queue (empty: queue and metrics only).
    center_email: str = ""
    # A new report's first delivery to its agency waits this long while photos are still being
    # downloaded, so the mail/webhook carries them.
    delivery_media_wait_seconds: float = Field(30.0, ge=0)
    @field_validator("holidays")
    @classmethod
    def _iso_dates(cls, value: list[str]) -> list[str]:
        from datetime import date

        for item in value:
            date.fromisoformat(item)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        ZoneInfo(value)
        return value


class Settings(_Section):
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    storage: StorageSettings = StorageSettings()
    intake: IntakeSettings = IntakeSettings()
    workers: WorkerSettings = WorkerSettings()
    channels: ChannelsSettings = ChannelsSettings()
    routing: RoutingSettings = RoutingSettings()
    agencies: list[AgencySettings] = []
    log_level: str = "INFO"
    log_format: str = "json"  # json | text
    # Where the settings came from (for relative paths); not a user setting.
    base_dir: str = Field("", exclude=True)

    @field_validator("agencies")
    @classmethod
    def _unique_agencies(cls, value: list[AgencySettings]) -> list[AgencySettings]:
        ids = [a.id for a in value]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate agency ids {sorted(dupes)}")
        if "center" in ids:
            raise ValueError("'center' is reserved for the monitoring center")
        return value

    @model_validator(mode="after")
    def _areas_are_current_wards(self) -> Settings:
        """Routing matches current (post-July-2025) ward names; an old or misspelt name in
        an agency's areas would silently never match, so it stops the start instead."""
        from normalizer.places import list_wards
        from normalizer.text import fold

        wards = list_wards(self.routing.province)
        if not wards:
            return self  # a province without a gazetteer: nothing to check against
        known = {_ward_key(w, fold) for w in wards}
        for i, agency in enumerate(self.agencies):
            unknown = [a for a in agency.areas if _ward_key(a, fold) not in known]
            if unknown:
                raise ValueError(f"agencies.{i}.areas: {unknown} are not current ward/commune "
                                 f"names of {self.routing.province}")
        return self


    def path(self, value: str) -> Path:
        """Resolve a relative path setting against the settings file's folder."""
        p = Path(value)
        return p if p.is_absolute() else Path(self.base_dir or ROOT) / p

    @property
    def database_url(self) -> str:
        url = self.database.url
        prefix = "sqlite+aiosqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            url = prefix + str(self.path(url[len(prefix):]))
        return url


def _ward_key(name: str, fold) -> str:  # noqa: ANN001
    key = fold(name)
    for prefix in ("phuong ", "xa ", "thi tran "):
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """HUB__CHANNELS__MESSENGER__APP_SECRET=x → {"channels": {"messenger": {"app_secret": "x"}}}.

    Values are strings; pydantic converts them ("true", "8080"). JSON lists/objects are accepted
    for list settings (e.g. HUB__ROUTING__HOLIDAYS='["2026-09-02"]').
    """
    import json

    tree: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key == "HUB__":
            continue
        parts = [p.lower() for p in key[len(ENV_PREFIX):].split("__") if p]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SettingsError(f"environment variable {key} conflicts with another override")
        parsed: Any = value
        if value[:1] in "[{":
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = value
        node[parts[-1]] = parsed
    return tree


def _format_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        # Never echo the input: it may be a secret.
        lines.append(f"  {key}: {err['msg']}")
    return "invalid settings:\n" + "\n".join(lines)


def load_settings(path: str | os.PathLike[str] | None = None,
                  environ: dict[str, str] | None = None) -> Settings:
    """Load defaults, then the named file (argument, else HUB_SETTINGS), then env overrides."""
    environ = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    base_dir = ROOT
    if DEFAULT_SETTINGS.exists():
        data = _read_toml(DEFAULT_SETTINGS)
    chosen = path or environ.get("HUB_SETTINGS")
    if chosen:
        chosen_path = Path(chosen)
        if not chosen_path.exists():
            raise SettingsError(f"settings file not found: {chosen_path}")
        extra = _read_toml(chosen_path)
        if "agencies" in extra:
            data.pop("agencies", None)
        data = _deep_merge(data, extra)
        base_dir = chosen_path.resolve().parent
    data = _deep_merge(data, env_overrides(environ))
    data["base_dir"] = str(base_dir)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_format_error(exc)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
