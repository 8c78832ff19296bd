"""Attachment download: size-capped, only from the channel's own hosts, redirects checked.
Storage of the bytes is ``store.files``."""
from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp


class MediaRefused(Exception):
    """Permanent: the URL's host is not allowed or the file is too large."""


class MediaUnavailable(Exception):
    """Temporary: network error or server error; try again later."""


def host_allowed(url: str, allowed: tuple[str, ...] | list[str]) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return False
    host = parts.hostname.lower().rstrip(".")
    return any(host == a or host.endswith("." + a) for a in (h.lower().lstrip(".") for h in allowed))


async def download(session: aiohttp.ClientSession, url: str, max_bytes: int,
                   allowed_hosts: tuple[str, ...] | list[str], *, timeout: float = 30.0,
                   headers: dict[str, str] | None = None,
                   redirects_left: int = 5) -> tuple[bytes, str | None]:
    if not host_allowed(url, allowed_hosts):
        raise MediaRefused(f"host of {urlsplit(url).hostname!r} is not an allowed media host")
    try:
        async with session.get(url, headers=headers, allow_redirects=False,
                               timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.headers.get("Location", "")
                if not host_allowed(location, allowed_hosts):
                    raise MediaRefused("redirect to a host that is not allowed")
                if redirects_left <= 0:
                    raise MediaRefused("too many redirects")
                return await download(session, location, max_bytes, allowed_hosts,
                                      timeout=timeout, headers=headers,
                                      redirects_left=redirects_left - 1)
            if resp.status in (404, 410, 403):
                raise MediaRefused(f"media answered HTTP {resp.status} (expired or gone)")
            if resp.status >= 400:
                raise MediaUnavailable(f"media answered HTTP {resp.status}")
            if resp.content_length is not None and resp.content_length > max_bytes:
                raise MediaRefused(f"file of {resp.content_length} bytes exceeds {max_bytes}")
            chunks, size = [], 0
            async for chunk in resp.content.iter_chunked(65536):
                size += len(chunk)
                if size > max_bytes:
                    raise MediaRefused(f"file exceeds {max_bytes} bytes")
                chunks.append(chunk)
            ctype = resp.headers.get("Content-Type")
            return b"".join(chunks), (ctype.split(";")[0].strip() if ctype else None)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise MediaUnavailable(f"download failed: {type(exc).__name__}") from None
