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
    # Outside the 24-hour window, an agency's reply (a person's words, not an automatic update)
    # goes with the HUMAN_AGENT tag up to 7 days after the citizen's last message; needs the
    # app's Human Agent permission (docs/channels/messenger.md). Off: such replies use the
    # router's fallback chain like every other message.
    human_agent_tag: bool = True
