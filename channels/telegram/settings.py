"""Settings of the Telegram channel: the ``[channels.telegram]`` section."""
from __future__ import annotations

from pydantic import Field, SecretStr

from channels.base import ChannelSettings


class TelegramSettings(ChannelSettings):
    bot_token: SecretStr = SecretStr("")
    secret_token: SecretStr = SecretStr("")
    api_base: str = "https://api.telegram.org"
    # Connect/read/write timeout of Bot API calls (sendMessage, getFile), seconds.
    request_timeout_seconds: float = Field(10.0, gt=0)
