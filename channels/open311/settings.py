"""Settings of the web/Open311 channel: the ``[channels.web]`` section."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator

from channels.base import ChannelSettings


class Open311Settings(ChannelSettings):
    enabled: bool = True  # the Open311 endpoint is on unless switched off
    api_key: SecretStr = SecretStr("")  # when set, POST requests.* must carry it (body or query)
    # One key per partner app (name → key), each accepted like api_key. An app's
    # Idempotency-Keys are its own: its tokens are "<name>:<key>", so two apps using the same
    # key never meet (holders of the one api_key share a single namespace).
    api_keys: dict[str, SecretStr] = {}
    # With no api_key anyone may POST: well-formed requests per client address per hour
    # (like the portal form's form_per_hour; more is a 429 with Retry-After). Not applied when
    # api_key is set: the clients holding it are the center's partner apps.
    anonymous_per_hour: int = Field(10, ge=1)
    # media_url is downloaded only from these hosts (e.g. the portal's own upload host);
    # anything else is kept as a link, never fetched (no server-side request forgery).
    media_hosts: list[str] = []
    # A photo uploaded as a multipart ``media`` part: at most this many bytes (more is a 413),
    # as the portal's form (portal.max_photo_bytes, 10 MiB by default).
    max_media_bytes: int = Field(10 * 1024 * 1024, gt=0)
    # Empty: one jurisdiction, the parameter is ignored. Set (e.g. "hue.gov.vn"): a request
    # naming another jurisdiction is a 404, as the spec says.
    jurisdiction_id: str = ""
    # Service discovery (discovery.xml / .json): who to ask, how to get a key, when the
    # service list last changed (a sortable string), production or test.
    contact: str = "Trung tâm Giám sát, điều hành đô thị thông minh thành phố Huế"
    key_service: str = "Liên hệ Trung tâm để được cấp api_key cho ứng dụng gửi phản ánh."
    changeset: str = "2026-11-30T00:00:00+07:00"
    endpoint_type: str = "production"
    # Datetimes in answers are given in this zone, to the second (W3C profile of ISO 8601).
    timezone: str = "Asia/Ho_Chi_Minh"

    @field_validator("api_keys")
    @classmethod
    def _app_names(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, key in value.items():
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", name):
                raise ValueError(f"api_keys: app name {name!r} must be 1-32 letters, digits, _ or -")
            if not key.get_secret_value():
                raise ValueError(f"api_keys: the key of {name!r} is empty")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @field_validator("endpoint_type")
    @classmethod
    def _endpoint_type(cls, value: str) -> str:
        if value not in ("production", "test"):
            raise ValueError("endpoint_type must be production or test")
        return value
