"""Console login, logout, the session middleware, CSRF and role checks.

- The session cookie (``hub_console``) is HttpOnly, SameSite=Lax, path /console, and Secure when
  ``public_base_url`` is https. It holds a random id; the session lives in the database.
- Every request but the login page and static files needs a session: a page without one
  redirects to the login (htmx requests get ``HX-Redirect``).
- Every unsafe request (POST…) needs the CSRF token: the form field ``csrf_token`` or the
  header ``X-CSRF-Token`` equal to the session's secret; otherwise 403. The login form, before
  any session exists, uses a double-submit cookie.
"""
from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from functools import wraps
from urllib.parse import quote, urlsplit

from aiohttp import web
from yarl import URL

from store.accounts import authenticate
from store.ratelimit import client_address
from store.sessions import end_session, load_session, start_session
from web.console.keys import CONFIG_KEY, SESSIONS_KEY, USER_KEY
from web.console.render import render, see_other

log = logging.getLogger("hub.console")

SESSION_COOKIE = "hub_console"
LOGIN_CSRF_COOKIE = "hub_console_login"
COOKIE_PATH = "/console"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_PATHS = ("/console/login",)
STATIC_PREFIX = "/console/static/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _cookie(response: web.StreamResponse, request: web.Request, name: str, value: str,
            max_age: int | None = None) -> None:
    config = request.config_dict[CONFIG_KEY]
    response.set_cookie(name, value, path=COOKIE_PATH, httponly=True, samesite="Lax",
                        secure=config.secure_cookies, max_age=max_age)


def _clear_cookie(response: web.StreamResponse, request: web.Request, name: str) -> None:
    config = request.config_dict[CONFIG_KEY]
    response.del_cookie(name, path=COOKIE_PATH, secure=config.secure_cookies, httponly=True,
                        samesite="Lax")


def safe_next(target: str | None) -> str:
    """Only a console path may follow the login (no open redirect to another site, nor to
    another page of this one through "..": the path is resolved the way the browser will)."""
    if (not target or not target.startswith("/console/") or "\\" in target
            or any(ord(c) < 0x20 or ord(c) == 0x7f for c in target)):  # browsers drop tabs, newlines
        return "/console/"
    end = min((i for i in (target.find("?"), target.find("#")) if i >= 0), default=len(target))
    # yarl resolves "..", "." and %2e segments as browsers do; the query is kept as it came
    path = URL("http://console.invalid" + target[:end]).raw_path
    if path.startswith("/console/") and "//" not in path and not path.startswith("/console/login"):
        return path + target[end:]
    return "/console/"


EXPIRED_NOTICE = ("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại. "
                  "Nội dung vừa nhập chưa được gửi; sau khi đăng nhập, trang sẽ hiện lại nội dung "
                  "đó để bạn gửi lại.")


def _form_page(request: web.Request) -> str:
    """The page a form posted without a session was on: the Referer's path when it is this
    site's, else the page that holds the form of the path posted to."""
    referer = request.headers.get("Referer", "")
    if referer:
        parts = urlsplit(referer)
        own = {request.host, urlsplit(request.config_dict[CONFIG_KEY].public_base_url).netloc}
        if parts.netloc in own and parts.path.startswith("/console/"):
            page = safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))
            if page != "/console/" or parts.path == "/console/":
                return page
    path = request.path
    if path.startswith("/console/reports/") and path.count("/") >= 4:
        return safe_next("/".join(path.split("/")[:4]))  # /console/reports/{code}/<action>
    if path.startswith("/console/calls"):
        return "/console/calls/new"
    if path.startswith("/console/accounts/"):
        return safe_next("/".join(path.split("/")[:4]))
    for page in ("/console/callbacks", "/console/accounts", "/console/password"):
        if path.startswith(page):
            return page
    return "/console/"


def _login_redirect(request: web.Request) -> web.StreamResponse:
    target = "/console/login"
    if request.method == "GET" and request.path_qs != "/console/":
        target += "?next=" + quote(request.path_qs, safe="")
    elif request.method != "GET" and request.path != "/console/logout":
        # What was typed is not kept (a POST cannot be replayed after the login): the officer
        # comes back to the form's page and is told.
        target += "?expired=1&next=" + quote(_form_page(request), safe="")
    if request.headers.get("HX-Request"):
        return web.Response(status=200, headers={"HX-Redirect": target})
    return see_other(target)


async def _csrf_value(request: web.Request) -> str:
    header = request.headers.get("X-CSRF-Token")
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()  # cached: the handler reads the same form again
        value = form.get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


def _forbidden(request: web.Request, message: str) -> web.Response:
    return render(request, "console/error.html", {"title": "Không được phép", "message": message},
                  status=403)


def _csp(tile_url: str) -> str:
    """Our own scripts and styles only; images also from the map's tile server."""
    parts = urlsplit(tile_url.replace("{s}.", "*."))
    tiles = f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return ("default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src 'self' data:{tiles}; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects and errors raised by aiohttp carry them too
        _secure(request, exc)
        raise
    return _secure(request, response)


def _secure(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    if not request.path.startswith(STATIC_PREFIX):
        # Pages carry personal data: never cached, never framed, no third-party scripts.
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Content-Security-Policy", _csp(request.config_dict[CONFIG_KEY].tile_url))
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@web.middleware
async def session_and_csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(STATIC_PREFIX) or request.path in PUBLIC_PATHS:
        return await handler(request)
    raw_id = request.cookies.get(SESSION_COOKIE, "")
    user = None
    if raw_id:
        config = request.config_dict[CONFIG_KEY]
        async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
            user = await load_session(session, raw_id, policy=config.session)
    if user is None:
        response = _login_redirect(request)
        if raw_id:
            _clear_cookie(response, request, SESSION_COOKIE)
        return response
    request[USER_KEY] = user
    if request.method in UNSAFE:
        sent = await _csrf_value(request)
        if not sent or not hmac.compare_digest(sent.encode(), user.csrf_secret.encode()):
            log.warning("console: %s %s without a valid CSRF token (%s)", request.method,
                        request.path, user.actor)
            return _forbidden(request, "Biểu mẫu đã hết hạn hoặc không hợp lệ (thiếu mã CSRF). "
                                       "Hãy tải lại trang và thử lại.")
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return render(request, "console/error.html", {
            "title": "Không tìm thấy", "message": "Không có trang này trong bàn làm việc."}, status=404)


def require_role(*roles: str) -> Callable[[Handler], Handler]:
    """Only these roles may use the handler; others get 403."""
    def wrap(handler: Handler) -> Handler:
        @wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            if request[USER_KEY].role not in roles:
                return _forbidden(request, "Tài khoản của bạn không có quyền dùng chức năng này.")
            return await handler(request)
        return checked
    return wrap


# --- login / logout ---------------------------------------------------------------------------


def _login_page(request: web.Request, *, error: str | None = None, username: str = "",
                status: int = 200, headers: dict[str, str] | None = None,
                next_target: str | None = None) -> web.Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "console/login.html", {
        "title": "Đăng nhập", "login_csrf": token, "error": error, "username": username,
        "notice": EXPIRED_NOTICE if request.method == "GET" and request.query.get("expired") else None,
        "next": safe_next(next_target or request.query.get("next"))}, status=status)
    if headers:
        response.headers.update(headers)
    _cookie(response, request, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    raw_id = request.cookies.get(SESSION_COOKIE, "")
    if raw_id:
        async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
            user = await load_session(session, raw_id, policy=request.config_dict[CONFIG_KEY].session)
        if user is not None:
            return see_other(safe_next(request.query.get("next")))
    return _login_page(request)


def _retry_text(seconds: int) -> str:
    return f"{seconds} giây" if seconds < 120 else f"{-(-seconds // 60)} phút"


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = form.get("csrf_token")
    if not cookie or not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), cookie.encode()):
        return _forbidden(request, "Biểu mẫu đăng nhập đã hết hạn hoặc không hợp lệ. Hãy tải lại trang.")
    username = str(form.get("username") or "").strip()[:64]
    target = safe_next(str(form.get("next") or ""))
    password = str(form.get("password") or "")
    config = request.config_dict[CONFIG_KEY]
    if not username or not password:
        return _login_page(request, error="Hãy nhập tên đăng nhập và mật khẩu.", username=username,
                           status=400, next_target=target)
    async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
        result = await authenticate(session, username, password, remote=client_address(request),
                                    policy=config.throttle)
        raw_id = await start_session(session, result.account, remote=client_address(request),
                                     policy=config.session) if result.ok and result.account else None
        old = request.cookies.get(SESSION_COOKIE)
        if raw_id and old:
            await end_session(session, old)  # a new id on every login (no session fixation)
    if raw_id is None:
        log.info("console login refused for %r: %s", username, result.outcome)
        if result.outcome in ("throttled", "locked"):
            return _login_page(
                request, username=username, status=429, next_target=target,
                headers={"Retry-After": str(result.retry_after)},
                error=("Đăng nhập sai quá nhiều lần. Tài khoản tạm khóa, thử lại sau "
                       if result.outcome == "locked" else "Đăng nhập sai nhiều lần. Hãy thử lại sau ")
                + _retry_text(result.retry_after) + ".")
        if result.outcome == "disabled":
            return _login_page(request, username=username, status=403, next_target=target,
                               error="Tài khoản này đã bị khóa. Liên hệ Trung tâm.")
        return _login_page(request, username=username, status=401, next_target=target,
                           error="Tên đăng nhập hoặc mật khẩu không đúng.")
    log.info("console login: user:%s", result.account.username if result.account else "?")
    response = see_other(target)
    _cookie(response, request, SESSION_COOKIE, raw_id)
    _clear_cookie(response, request, LOGIN_CSRF_COOKIE)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
        await end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = see_other("/console/login")
    _clear_cookie(response, request, SESSION_COOKIE)
    return response


def routes() -> list[web.RouteDef]:
    return [web.get("/login", login_form), web.post("/login", login_submit),
            web.post("/logout", logout)]

