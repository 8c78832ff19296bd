"""The ``user`` CLI commands as plain async functions (main.py/hub parse arguments and print).

Each takes a session factory, does its work in one transaction and returns the lines to print;
a refused operation raises ``AccountError`` with a message for the operator.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.account_tokens import account_tokens, issue_account_token, revoke_account_token
from store.accounts import (
    AccountError,
    create_account,
    disable_account,
    enable_account,
    list_accounts,
    set_password,
)
from store.serialize import iso

Sessions = async_sessionmaker[AsyncSession]


def read_password(stream: TextIO) -> str:
    """``--password-stdin``: the first line, without its line ending (spaces are kept)."""
    line = stream.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise AccountError("Không đọc được mật khẩu từ stdin (dòng đầu tiên).")
    return password


async def user_add(sessions: Sessions, username: str, role: str, password: str, *,
                   agency: str | None = None, name: str | None = None,
                   agencies: Mapping[str, str] | None = None) -> list[str]:
    """``user add USERNAME --role ROLE [--agency ID] [--name …] --password-stdin``.
    ``agencies``: the configured agencies (id → name); the table is used when None."""
    async with sessions() as session, session.begin():
        account = await create_account(session, username, role, password, agency_id=agency,
                                       display_name=name, agencies=agencies, actor="cli")
    where = f", agency {account.agency_id}" if account.agency_id else ""
    return [f"created {account.username} (role {account.role}{where})"]


async def user_disable(sessions: Sessions, username: str) -> list[str]:
    async with sessions() as session, session.begin():
        account = await disable_account(session, username, actor="cli")
    return [f"disabled {account.username}: sessions ended, API tokens revoked"]


async def user_enable(sessions: Sessions, username: str) -> list[str]:
    async with sessions() as session, session.begin():
        account = await enable_account(session, username, actor="cli")
    return [f"enabled {account.username}"]


async def user_password(sessions: Sessions, username: str, password: str) -> list[str]:
    async with sessions() as session, session.begin():
        account = await set_password(session, username, password, actor="cli")
    return [f"password changed for {account.username}; its sessions ended"]


async def user_list(sessions: Sessions) -> list[str]:
    """One line per account, tab-separated, with a header."""
    async with sessions() as session:
        accounts = await list_accounts(session)
    lines = ["username\trole\tagency\tstate\tlast_login\tname"]
    for a in accounts:
        lines.append("\t".join([a.username, a.role, a.agency_id or "-",
                                "disabled" if a.disabled else "active",
                                iso(a.last_login_at) or "-", a.display_name or ""]))
    return lines


async def user_token_issue(sessions: Sessions, username: str, label: str | None = None) -> list[str]:
    """The token is the last line, printed once (as ``agency-token`` does)."""
    async with sessions() as session, session.begin():
        row, token = await issue_account_token(session, username, label=label, actor="cli")
    return [f"token #{row.id} for {username} (shown once, only its hash is stored):", token]


async def user_token_list(sessions: Sessions, username: str | None = None) -> list[str]:
    async with sessions() as session:
        rows = await account_tokens(session, username)
    lines = ["id\tusername\thint\tlabel\tcreated\tlast_used"]
    for token, account in rows:
        lines.append("\t".join([str(token.id), account.username, token.hint + "…", token.label or "",
                                iso(token.created_at) or "", iso(token.last_used_at) or "-"]))
    return lines


async def user_token_revoke(sessions: Sessions, token_id: int) -> list[str]:
    async with sessions() as session, session.begin():
        row = await revoke_account_token(session, token_id, actor="cli")
    return [f"revoked token #{row.id}"]
