"""``user …`` commands: console accounts and their API tokens (store.account_cli does the work).

    hub user add USERNAME --role center|hotline|agency|viewer [--agency ID] [--name "Họ tên"] --password-stdin
    hub user disable USERNAME | enable USERNAME | password USERNAME --password-stdin | list
    hub user token issue USERNAME [--label …] | token list [USERNAME] | token revoke ID
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from store import account_cli
from store.accounts import AccountError
from store.db import with_database


def _run(args: argparse.Namespace, work: Callable[[Any, Any], Awaitable[list[str]]]) -> int:
    settings = args.load_settings(args.config)

    try:
        lines = asyncio.run(with_database(settings.database_url,
                                          lambda sessions: work(sessions, settings)))
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    if args.action == "add":  # which database got the account (a forgotten --config shows)
        from hub.cli_serve import shown_url

        print(f"database: {shown_url(settings.database_url)}")
    return 0


def _password(args: argparse.Namespace) -> str:
    if not args.password_stdin:
        raise AccountError("give the password on standard input with --password-stdin")
    return account_cli.read_password(sys.stdin)


def cmd_user(args: argparse.Namespace) -> int:
    action = args.action
    try:
        if action == "add":
            password = _password(args)
            return _run(args, lambda s, cfg: account_cli.user_add(
                s, args.username, args.role, password, agency=args.agency, name=args.name,
                agencies={a.id: a.name for a in cfg.agencies}))
        if action == "password":
            password = _password(args)
            return _run(args, lambda s, _: account_cli.user_password(s, args.username, password))
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if action == "disable":
        return _run(args, lambda s, _: account_cli.user_disable(s, args.username))
    if action == "enable":
        return _run(args, lambda s, _: account_cli.user_enable(s, args.username))
    if action == "list":
        return _run(args, lambda s, _: account_cli.user_list(s))
    if action == "token":
        if args.token_action == "issue":
            return _run(args, lambda s, _: account_cli.user_token_issue(s, args.username,
                                                                        label=args.label))
        if args.token_action == "list":
            return _run(args, lambda s, _: account_cli.user_token_list(s, args.username))
        return _run(args, lambda s, _: account_cli.user_token_revoke(s, args.token_id))
    raise AssertionError(action)


def register(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add("user", cmd_user, "console accounts: add, disable, enable, password, list, tokens")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("add", help="create an account")
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=["center", "hotline", "agency", "viewer"])
    a.add_argument("--agency", help="agency id (role agency)")
    a.add_argument("--name", help="the officer's full name, shown in timelines")
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    for name in ("disable", "enable"):
        actions.add_parser(name, help=f"{name} an account").add_argument("username")
    pw = actions.add_parser("password", help="set a new password (ends the account's sessions)")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true")
    actions.add_parser("list", help="every account")
    t = actions.add_parser("token", help="the account's API tokens")
    tokens = t.add_subparsers(dest="token_action", required=True)
    ti = tokens.add_parser("issue", help="issue a token (printed once)")
    ti.add_argument("username")
    ti.add_argument("--label")
    tl = tokens.add_parser("list", help="tokens, of one account or all")
    tl.add_argument("username", nargs="?")
    tr = tokens.add_parser("revoke", help="revoke a token by id")
    tr.add_argument("token_id", type=int)
    # --config after the action too ("user add NAME --config FILE"), as every other command.
    for leaf in (a, pw, ti, tl, tr, *(actions.choices[n] for n in ("disable", "enable", "list"))):
        leaf.add_argument("--config", default=argparse.SUPPRESS,
                          help="settings file (default: HUB_SETTINGS or settings.toml)")
