"""Settings of the Zalo OA channel: the ``[channels.zalo]`` section."""
from __future__ import annotations

from pydantic import Field, SecretStr

from channels.base import ChannelSettings


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
    # A signed event older than this is refused as a replay (0: no limit); one dated more than
    # 15 minutes ahead always is. Default: as long as the hub keeps dedupe keys
    # (intake.dedupe_horizon_days), so any replay is either refused or recognised.
    max_event_age_hours: float = Field(730 * 24.0, ge=0)
