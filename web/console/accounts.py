"""Accounts page (center only): create, disable/enable, reset password, API tokens; and every
officer's own password change. Secrets (a new token, a temporary password) are shown once, in
the answer to the POST that made them, never in a URL."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from store.account_tokens import (
    TOKEN_ROLES,
    account_tokens,
    agency_wide_tokens,
    issue_account_token,
    revoke_account_token,
    revoke_agency_wide_token,
)
from store.accounts import (
    ROLES,
    AccountError,
    account_by_username,
    account_events,
    authenticate,
    create_account,
    disable_account,
    enable_account,
    generate_password,
    known_agencies,
    list_accounts,
    set_password,
)
from store.ratelimit import client_address
from web.console.auth import require_role
from web.console.keys import CONFIG_KEY, SESSIONS_KEY, USER_KEY
from web.console.render import account_event_detail, officer_names, render, see_other


async def _form(request: web.Request) -> dict[str, str]:
    form = await request.post()
    return {k: v.strip() if k not in ("password", "new_password", "current_password") else v
            for k, v in form.items() if isinstance(v, str)}


async def _accounts_page(request: web.Request, *, error: str | None = None,
                         values: dict[str, str] | None = None, status: int = 200) -> web.Response:
    async with request.config_dict[SESSIONS_KEY]() as session:
        accounts = await list_accounts(session)
        agencies = await known_agencies(session)
        legacy = await agency_wide_tokens(session)
        tokens = await account_tokens(session)
    per_account: dict[int, int] = {}
    for _token, account in tokens:
        per_account[account.id] = per_account.get(account.id, 0) + 1
    return render(request, "console/accounts.html", {
        "title": "Tài khoản", "accounts": accounts, "agencies": agencies, "roles": ROLES,
        "legacy_tokens": legacy, "token_counts": per_account, "error": error,
        "values": values or {}}, status=status)


@require_role("center")
async def accounts_list(request: web.Request) -> web.Response:
    return await _accounts_page(request)


@require_role("center")
async def account_create(request: web.Request) -> web.StreamResponse:
    form = await _form(request)
    actor = request[USER_KEY].actor
    try:
        async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
            account = await create_account(
                session, form.get("username", ""), form.get("role", ""), form.get("password", ""),
                agency_id=form.get("agency") if form.get("role") == "agency" else None,
                display_name=form.get("display_name"), actor=actor)
    except AccountError as exc:
        return await _accounts_page(request, error=str(exc), status=422,
                                    values={k: v for k, v in form.items() if k != "password"})
    return see_other(f"/console/accounts/{account.username}")


async def _detail(request: web.Request, username: str, *, notice: str | None = None,
                  secret: str | None = None, secret_label: str | None = None,
                  error: str | None = None, status: int = 200) -> web.Response:
    async with request.config_dict[SESSIONS_KEY]() as session:
        account = await account_by_username(session, username)
        if account is None:
            raise web.HTTPNotFound(text="Không có tài khoản này.")
        tokens = await account_tokens(session, account.username, include_revoked=True)
        events = await account_events(session, account.id)
        agencies = await known_agencies(session)
        names = await officer_names(session, [e.actor for e in events])
    return render(request, "console/account.html", {
        "title": f"Tài khoản {account.username}", "account": account, "tokens": [t for t, _ in tokens],
        "events": events, "agencies": agencies,
        "officer": lambda actor: names.get(actor) or agencies.get(actor, actor),
        "event_detail": lambda detail: account_event_detail(detail, agencies), "notice": notice, "secret": secret,
        "secret_label": secret_label, "error": error, "can_have_tokens": account.role in TOKEN_ROLES},
        status=status)


@require_role("center")
async def account_detail(request: web.Request) -> web.Response:
    return await _detail(request, request.match_info["username"])


async def _change(request: web.Request, action: Any, notice: str) -> web.Response:
    username = request.match_info["username"]
    try:
        async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
            await action(session, username)
    except AccountError as exc:
        return await _detail(request, username, error=str(exc), status=422)
    return await _detail(request, username, notice=notice)


@require_role("center")
async def account_disable(request: web.Request) -> web.Response:
    actor = request[USER_KEY].actor
    return await _change(request, lambda s, u: disable_account(s, u, actor=actor),
                         "Đã khóa tài khoản: mọi phiên đăng nhập kết thúc, mã API bị thu hồi.")


@require_role("center")
async def account_enable(request: web.Request) -> web.Response:
    actor = request[USER_KEY].actor
    return await _change(request, lambda s, u: enable_account(s, u, actor=actor), "Đã mở khóa tài khoản.")


@require_role("center")
async def account_reset_password(request: web.Request) -> web.Response:
    username = request.match_info["username"]
    temporary = generate_password()
    try:
        async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
            await set_password(session, username, temporary, actor=request[USER_KEY].actor)
    except AccountError as exc:
        return await _detail(request, username, error=str(exc), status=422)
    return await _detail(request, username, secret=temporary, secret_label="Mật khẩu tạm thời",
                         notice="Đã đặt lại mật khẩu; các phiên đăng nhập của tài khoản đã kết thúc.")


@require_role("center")
async def token_issue(request: web.Request) -> web.Response:
    username = request.match_info["username"]
    form = await _form(request)
    try:
        async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
            row, token = await issue_account_token(session, username, label=form.get("label"),
                                                   actor=request[USER_KEY].actor)
    except AccountError as exc:
        return await _detail(request, username, error=str(exc), status=422)
    return await _detail(request, username, secret=token, secret_label=f"Mã API #{row.id}",
                         notice="Đã cấp mã API. Mã chỉ hiện một lần: hãy sao chép ngay.")


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise web.HTTPNotFound() from None


@require_role("center")
async def token_revoke(request: web.Request) -> web.Response:
    token_id = _int(request.match_info["token_id"])
    actor = request[USER_KEY].actor
    return await _change(request, lambda s, u: revoke_account_token(s, token_id, actor=actor, username=u),
                         f"Đã thu hồi mã API #{token_id}.")


@require_role("center")
async def agency_token_revoke(request: web.Request) -> web.StreamResponse:
    token_id = _int(request.match_info["token_id"])
    try:
        async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
            await revoke_agency_wide_token(session, token_id)
    except AccountError as exc:
        return await _accounts_page(request, error=str(exc), status=422)
    return see_other("/console/accounts")


# --- own password -----------------------------------------------------------------------------


async def password_form(request: web.Request) -> web.Response:
    return render(request, "console/password.html", {"title": "Đổi mật khẩu", "error": None,
                                                     "notice": None})


async def password_change(request: web.Request) -> web.Response:
    user = request[USER_KEY]
    form = await _form(request)
    error = None
    # Checked like a login, so the throttle also guards a session left open on a shared desk.
    async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
        check = await authenticate(session, user.username, form.get("current_password", ""),
                                   remote=client_address(request),
                                   policy=request.config_dict[CONFIG_KEY].throttle)
    if not check.ok:
        error = ("Mật khẩu hiện tại không đúng." if check.outcome == "bad_credentials"
                 else "Đã nhập sai nhiều lần, hãy thử lại sau.")
    elif form.get("new_password") != form.get("new_password_again"):
        error = "Hai lần nhập mật khẩu mới không khớp."
    else:
        try:
            async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
                await set_password(session, user.username, form.get("new_password", ""), actor=user.actor)
        except AccountError as exc:
            error = str(exc)
    if error:
        return render(request, "console/password.html",
                      {"title": "Đổi mật khẩu", "error": error, "notice": None}, status=422)
    # Every session of the account ended with the change, this one too: log in again.
    return see_other("/console/login")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/accounts", accounts_list), web.post("/accounts", account_create),
        web.get("/accounts/{username}", account_detail),
        web.post("/accounts/{username}/disable", account_disable),
        web.post("/accounts/{username}/enable", account_enable),
        web.post("/accounts/{username}/password", account_reset_password),
        web.post("/accounts/{username}/tokens", token_issue),
        web.post("/accounts/{username}/tokens/{token_id}/revoke", token_revoke),
        web.post("/agency-tokens/{token_id}/revoke", agency_token_revoke),
        web.get("/password", password_form), web.post("/password", password_change),
    ]
