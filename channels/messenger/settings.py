"""Settings of the Messenger channel: the ``[channels.messenger]`` section."""
from __future__ import annotations

from pydantic import Field, SecretStr

from channels.base import ChannelSettings


class MessengerSettings(ChannelSettings):
    verify_token: SecretStr = SecretStr("")
    app_secret: SecretStr = SecretStr("")
    page_access_token: SecretStr = SecretStr("")
    graph_api_base: str = "https://graph.facebook.com/v21.0"
    media_hosts: list[str] = ["fbcdn.net", "fbsbx.com", "facebook.com", "cdninstagram.com"]
    send_timeout_seconds: float = Field(10.0, gt=0)
    # While sending is paused (token refused), how often to check whether the token works again.
    token_check_seconds: float = Field(300.0, gt=0)
