"""The ``user`` CLI functions (main.py wires arguments and printing to them)."""
from __future__ import annotations

import io

import pytest

from store.account_cli import (
    read_password,
    user_add,
    user_disable,
    user_enable,
    user_list,
    user_password,
    user_token_issue,
    user_token_list,
    user_token_revoke,
)
from store.account_tokens import principal_for_token
from store.accounts import AccountError, authenticate
from tests.console.conftest import ConsoleDB


def test_password_from_stdin_keeps_spaces_and_drops_the_line_end() -> None:
    assert read_password(io.StringIO(" mật khẩu có dấu cách \r\nthừa\n")) == " mật khẩu có dấu cách "
    with pytest.raises(AccountError):
        read_password(io.StringIO("\n"))
    with pytest.raises(AccountError):
        read_password(io.StringIO(""))


async def test_user_add_list_disable(console_db: ConsoleDB) -> None:
    S = console_db.sessions
    password = read_password(io.StringIO("mat-khau-dai-789\n"))
    assert await user_add(S, "TT.Lan", "center", password, name="Trần Thị Lan") == [
        "created tt.lan (role center)"]
    assert await user_add(S, "mt.hoa", "agency", password, agency="moi-truong") == [
        "created mt.hoa (role agency, agency moi-truong)"]
    with pytest.raises(AccountError, match="đã có"):
        await user_add(S, "tt.lan", "viewer", password)
    with pytest.raises(AccountError, match="Không có đơn vị"):
        await user_add(S, "x.y", "agency", password, agency="khong-co")
    lines = await user_list(S)
    assert lines[0] == "username\trole\tagency\tstate\tlast_login\tname"
    assert lines[1:] == ["mt.hoa\tagency\tmoi-truong\tactive\t-\t",
                         "tt.lan\tcenter\t-\tactive\t-\tTrần Thị Lan"]
    assert await user_disable(S, "mt.hoa") == ["disabled mt.hoa: sessions ended, API tokens revoked"]
    # Disabled accounts are listed last.
    assert [line.split("\t")[::3] for line in (await user_list(S))[1:]] == [
        ["tt.lan", "active"], ["mt.hoa", "disabled"]]
    with pytest.raises(AccountError, match="Không có tài khoản"):
        await user_disable(S, "khong.co")
    assert await user_enable(S, "mt.hoa") == ["enabled mt.hoa"]
    await user_password(S, "mt.hoa", "mat-khau-moi-000")
    async with S() as session, session.begin():
        assert (await authenticate(session, "mt.hoa", "mat-khau-moi-000")).ok


async def test_user_tokens(console_db: ConsoleDB) -> None:
    S = console_db.sessions
    await user_add(S, "mt.hoa", "agency", "mat-khau-dai-789", agency="moi-truong")
    lines = await user_token_issue(S, "mt.hoa", label="một cửa")
    token = lines[-1]
    assert token.startswith("hub_") and token not in lines[0]
    listed = await user_token_list(S)
    assert len(listed) == 2 and listed[1].startswith("1\tmt.hoa\thub_") and "một cửa" in listed[1]
    async with S() as session:
        assert (await principal_for_token(session, token)).actor == "user:mt.hoa"
    assert await user_token_revoke(S, 1) == ["revoked token #1"]
    async with S() as session:
        assert await principal_for_token(session, token) is None
    assert await user_token_list(S) == [listed[0]]
