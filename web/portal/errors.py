"""aiohttp's own 404 and 405 answers ("404: Not Found", "405: Method Not Allowed", plain English
text) as the portal's Vietnamese error page, for the pages people open in a browser: an unknown
path, a file that is not there, a form address opened by hand.

Machine paths keep their own error bodies: the agency and public JSON APIs (``/api/``), Open311
(``/open311``, the spec's error format), the channels' webhooks and OAuth callbacks, health and
metrics, and the operator console (its own app, layout and login). A handler that raised a 404 or
405 with a body of its own keeps it: only aiohttp's default text is replaced.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

MACHINE_PREFIXES = ("/api/", "/open311", "/webhooks/", "/oauth/", "/console", "/healthz",
                    "/readyz", "/metrics")
PAGES = {
    404: ("Không tìm thấy trang",
          "Không có trang này. Có thể đường dẫn bị gõ sai hoặc trang đã được chuyển đi; "
          "vui lòng kiểm tra lại đường dẫn hoặc mã phản ánh."),
    405: ("Không thực hiện được yêu cầu",
          "Trang này không nhận cách gửi yêu cầu vừa rồi. Vui lòng quay lại trang trước và "
          "dùng các nút, biểu mẫu trên trang."),
}


def is_page_path(path: str) -> bool:
    """A path a person opens in a browser (not an API, webhook, console or health path)."""
    return not any(path == p.rstrip("/") or path.startswith(p) for p in MACHINE_PREFIXES)


def _is_default(exc: web.HTTPException) -> bool:
    """aiohttp's own body ("404: Not Found"), not one a handler wrote."""
    return exc.text in (None, "", f"{exc.status}: {exc.reason}")


@web.middleware
async def vietnamese_errors(request: web.Request,
                            handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                            ) -> web.StreamResponse:
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
        if not is_page_path(request.path) or not _is_default(exc):
            raise
        from web.portal.pages import error_page

        title, message = PAGES[exc.status]
        page = error_page(request, exc.status, title, message)
        if "Allow" in exc.headers:
            page.headers["Allow"] = exc.headers["Allow"]
        return page
