"""Settings of the web/Open311 channel: the ``[channels.web]`` section."""
from __future__ import annotations

from pydantic import SecretStr

from channels.base import ChannelSettings


class Open311Settings(ChannelSettings):
    enabled: bool = True  # the Open311 endpoint is on unless switched off
    api_key: SecretStr = SecretStr("")  # when set, POST requests.json must carry it
    # media_url is downloaded only from these hosts (e.g. the portal's own upload host);
    # anything else is kept as a link, never fetched (no server-side request forgery).
    media_hosts: list[str] = []
