"""Real headless Chromium for the web tests (console, portal): Debian's /usr/bin/chromium driven
by Playwright with ``executable_path`` (Playwright's own browser download does not work here).

Skipped with a reason where Chromium or Playwright is missing; ``HUB_REQUIRE_BROWSER=1`` (CI)
turns that skip into a failure. ``HUB_SCREENSHOTS=DIR`` keeps the PNGs the tests take.
"""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-dev-shm-usage"]


def missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} not installed (apt-get install chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright not installed (pip install -e '.[test]')"
    return None


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    reason = missing()
    if reason:
        if os.environ.get("HUB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required: {reason}")
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


class Shots:
    """Screenshots named ``<prefix>-<name>.png``, kept in HUB_SCREENSHOTS (or the older
    per-suite variable) when set, else in the test's temporary folder."""

    def __init__(self, tmp_path: Path, prefix: str, env: str = "") -> None:
        chosen = os.environ.get("HUB_SCREENSHOTS") or (os.environ.get(env) if env else None)
        self.dir, self.prefix = Path(chosen or tmp_path), prefix
        self.dir.mkdir(parents=True, exist_ok=True)

    async def take(self, page: Any, name: str, full_page: bool = True) -> Path:
        path = self.dir / f"{self.prefix}-{name}.png"
        await page.screenshot(path=str(path), full_page=full_page)
        return path


async def new_page(browser: Any, errors: list[str], **context: Any) -> Any:
    """A Vietnamese page in Vietnam's time zone. A script blocked by the CSP, a missing file or
    a JS error lands in ``errors`` (tests assert it stays empty)."""
    ctx = await browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", **context)
    page = await ctx.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return page
