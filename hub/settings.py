"""Typed settings: settings.toml, then --config/HUB_SETTINGS, then HUB__SECTION__KEY overrides.

Secrets are SecretStr: their repr and str are masked, so printing settings or logging them never
leaks a token. Validation happens once at start and names the bad key.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from channels.registry import channels_settings
from normalizer.places import list_wards, ward_key
from router.settings import AgencySettings, RoutingSettings
from web.portal.settings import PortalSettings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SETTINGS = ROOT / "settings.toml"
ENV_PREFIX = "HUB__"
ASYNC_DATABASE_URLS = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


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
    # /metrics answers loopback clients (no X-Forwarded-For) and, when set, this bearer token.
    metrics_token: SecretStr = SecretStr("")

    @field_validator("public_base_url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        """Every link in a message, Telegram's webhook and the Zalo callback are built from it:
        'phananh.hue.gov.vn' without a scheme would make every one of them a broken link."""
        from urllib.parse import urlsplit

        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) address with a host, e.g. "
                             "https://phananh.hue.gov.vn")
        return value.strip()


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///data/hub.db"
    echo: bool = False
    # SQLite only: FULL makes every acknowledged commit survive a power loss (issue 19);
    # NORMAL is faster and safe against a process crash only.
    sqlite_synchronous: Literal["FULL", "NORMAL", "EXTRA"] = "FULL"

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """The hub runs on asyncio: a URL without an async driver (postgresql://, sqlite:///)
        would fail deep in start-up with a traceback, and systemd would restart it forever."""
        if not value.startswith(ASYNC_DATABASE_URLS):
            # the URL itself is never echoed: it may carry the password
            raise ValueError("needs an async driver: sqlite+aiosqlite:///PATH or "
                             "postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DATABASE")
        return value


class StorageSettings(_Section):
    media_dir: str = "data/media"
    # "local": files in media_dir (one process); "database": bytes in the database so every
    # replica serves every photo, media_dir caching them (store.storage).
    backend: Literal["local", "database"] = "local"
    max_attachment_bytes: int = Field(25 * 1024 * 1024, gt=0)
    download_timeout_seconds: float = 30.0


class ConsoleSettings(_Section):
    """The operator console (/console): map tiles for report pages and session lifetimes."""

    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = "© OpenStreetMap"
    session_hours: float = Field(12.0, gt=0)
    idle_hours: float = Field(2.0, gt=0)
    page_size: int = Field(50, gt=0, le=500)


class IntakeSettings(_Section):
    batch_max: int = Field(512, gt=0)
    # Chat messages of one citizen within this window extend the same report.
    assembly_window_minutes: float = Field(10, ge=0)
    # Processed raw events (personal data) are deleted after this many days; 0 keeps them.
    retain_processed_days: float = Field(90, ge=0)
    # After retention blanks a raw event's payload, its (channel, external_id) dedupe key is
    # kept this much longer, so a provider's late replay is still recognised (0: forever).
    dedupe_horizon_days: float = Field(730, ge=0)
    # Provider timestamps further than this from the time we received the event are clamped
    # to the receipt time (a signed event dated 2100 must not schedule anything in 2100).
    max_clock_skew_minutes: float = Field(15, gt=0)


class WorkerSettings(_Section):
    enabled: bool = True
    # Events claimed at once (a tenth of it while webhooks are bursting); applied in transactions
    # sized to the budget below, each writing its rows with one statement per table.
    inbox_batch: int = Field(500, gt=0)
    inbox_max_attempts: int = Field(6, gt=0)
    outbox_batch: int = Field(20, gt=0)
    outbox_max_attempts: int = Field(8, gt=0)
    # Outbox sends run concurrently per channel (at most this many in flight per channel), each
    # channel under its own rate (sends/s; providers' quotas) — a 429's retry-after holds it.
    outbox_concurrency: int = Field(8, gt=0)
    outbox_rate_per_second: dict[str, float] = {"zalo": 10.0, "messenger": 40.0,
                                                "telegram": 25.0, "email": 10.0, "hotline": 10.0}
    outbox_default_rate_per_second: float = Field(20.0, gt=0)
    retry_base_seconds: float = Field(5.0, gt=0)
    retry_max_seconds: float = Field(3600.0, gt=0)
    # A claimed row whose worker died is claimable again after this many seconds; a live
    # worker renews its claims every third of it (heartbeat), however long a row takes.
    claim_lease_seconds: float = Field(15.0, gt=0)
    poll_seconds: float = Field(1.0, gt=0)
    leader_lease_seconds: float = Field(30.0, gt=0)
    # Acknowledging comes first: while webhooks arrive faster than this, the workers defer
    # (at most inbox_defer_max_seconds in a row, so the backlog always moves).
    inbox_defer_above_events_per_s: float = Field(300.0, ge=0)
    inbox_defer_max_seconds: float = Field(2.0, ge=0)
    # A worker transaction stops taking new events after this long: the busy budget while
    # webhooks arrive fast (above inbox_defer_above_events_per_s), the idle one when none came
    # for inbox_idle_after_seconds (a backfill, a quiet night: fewer commits, each an fsync),
    # the middle one otherwise — and on SQLite (one writer, which intake's group commit waits
    # for) as soon as intake has events waiting, once the busy budget is spent. It lets
    # webhooks be answered every busy budget meanwhile.
    inbox_transaction_budget_ms: float = Field(50.0, gt=0)
    inbox_busy_transaction_budget_ms: float = Field(5.0, gt=0)
    inbox_idle_transaction_budget_ms: float = Field(250.0, gt=0)
    inbox_idle_after_seconds: float = Field(2.0, gt=0)
    # Processes that analyse (classify, place) a claimed batch's texts ahead of the worker
    # (hub.analysis): unset = one where there is a second CPU, none on one; 0 = inline always.
    analysis_processes: int | None = Field(None, ge=0)
    # ... for batches of at least this many new texts (a pool round trip costs more for fewer).
    analysis_min_batch: int = Field(64, gt=0)


class Settings(_Section):
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    storage: StorageSettings = StorageSettings()
    intake: IntakeSettings = IntakeSettings()
    console: ConsoleSettings = ConsoleSettings()
    workers: WorkerSettings = WorkerSettings()
    # ``[channels.<name>]``: one section per registered adapter, with the adapter's own model.
    channels: Any = None
    routing: RoutingSettings = RoutingSettings()
    agencies: list[AgencySettings] = []
    portal: PortalSettings = PortalSettings()
    log_level: str = "INFO"
    log_format: str = "json"  # json | text
    # Where the settings came from (for relative paths); not a user setting.
    base_dir: str = Field("", exclude=True)

    @field_validator("channels", mode="before")
    @classmethod
    def _channel_sections(cls, value: Any) -> Any:
        return channels_settings(value)

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
        wards = list_wards(self.routing.province)
        if not wards:
            return self  # a province without a gazetteer: nothing to check against
        known = {ward_key(w) for w in wards}
        for i, agency in enumerate(self.agencies):
            unknown = [a for a in agency.areas if ward_key(a) not in known]
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
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{key}: {msg}")
    if len(lines) == 1:  # the usual case: one line, as the CLI prints it
        return f"invalid settings: {lines[0]}"
    return "invalid settings:\n" + "\n".join(f"  {line}" for line in lines)


def load_settings(path: str | os.PathLike[str] | None = None,
                  environ: dict[str, str] | None = None) -> Settings:
    """Load defaults, then the named file (argument, else HUB_SETTINGS), then env overrides.

    HUB_ENV_FILE names a file of KEY=VALUE lines (systemd's EnvironmentFile, e.g.
    /etc/intake-hub/secrets.env): its variables count as environment variables, those already
    set in the environment winning, so CLI commands see the secrets the service sees."""
    environ = dict(os.environ if environ is None else environ)
    if environ.get("HUB_ENV_FILE"):
        environ = {**read_env_file(environ["HUB_ENV_FILE"]), **environ}
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


def _read_text(path: Path, what: str) -> str:
    """A settings or environment file's text; every way it cannot be read is one line."""
    fd_name = str(path)
    try:
        if fd_name.startswith("/dev/fd/") and fd_name[8:].isdigit():
            # an open descriptor handed over by deploy/bin/hub-admin (root opened the 0600
            # file, the command runs as the service user): read it from the start, in place
            fd, chunks, offset = int(fd_name[8:]), [], 0
            while chunk := os.pread(fd, 65536, offset):
                chunks.append(chunk)
                offset += len(chunk)
            raw = b"".join(chunks)
        else:
            raw = path.read_bytes()
    except IsADirectoryError:
        raise SettingsError(f"{what} {path} is a directory, not a file") from None
    except PermissionError:
        raise SettingsError(f"{what} {path}: permission denied (running as uid {os.getuid()}); "
                            "run the command as the service user with deploy/bin/hub-admin, "
                            "or as root") from None
    except OSError as exc:
        raise SettingsError(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    if raw.startswith(b"\xef\xbb\xbf"):  # UTF-8 with a byte order mark: what Notepad writes
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        hint = " (it looks like UTF-16: save it as UTF-8)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise SettingsError(f"{what} {path} is not UTF-8 text{hint}") from None


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile reads them: blank lines and lines starting
    with # or ; are skipped, a value may be in single or double quotes. A bad line is named by
    its number, never by its content (it may hold a secret)."""
    import re

    env_path = Path(path)
    if not str(path).startswith("/dev/fd/") and not env_path.exists():
        raise SettingsError(f"environment file not found: HUB_ENV_FILE={env_path}")
    text = _read_text(env_path, "environment file (HUB_ENV_FILE)")
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if key.startswith("export "):
            key = key[7:].strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise SettingsError(f"environment file {env_path}, line {number}: not a KEY=VALUE line")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = re.sub(r'\\(["\\$`])', r"\1", value)
        values[key] = value
    return values


def _read_toml(path: Path) -> dict[str, Any]:
    text = _read_text(path, "settings file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
