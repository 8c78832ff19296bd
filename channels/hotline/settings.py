"""Settings of the hotline channel: the ``[channels.hotline]`` section."""
from __future__ import annotations

from pydantic import Field, SecretStr

from channels.base import ChannelSettings


class HotlineSettings(ChannelSettings):
    # On by default: importing calls needs no secrets, and a running serve must be able to turn
    # imported calls into reports.
    enabled: bool = True
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
    # After the gateway refused our credentials (401/403) sending pauses; this often it is tried
    # again (a key fixed on the gateway's side, an IP allow-list updated) without a restart.
    sms_recheck_seconds: float = Field(300.0, gt=0)
    # field → header names tried before the Vietnamese/English defaults (fields: call_id, time,
    # caller, operator, text, address, category, name).
    column_map: dict[str, list[str]] = {}
    # Naive call times in exports are in this zone.
    timezone: str = "Asia/Ho_Chi_Minh"
    # Calls older than this get no receipt SMS when imported (historical backfill).
    ack_max_age_hours: float = Field(24.0, ge=0)
    import_batch: int = Field(2000, gt=0)
