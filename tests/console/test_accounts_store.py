"""Accounts, login throttling, sessions and API tokens in the store (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from store.account_tokens import (
    account_tokens,
    issue_account_token,
    principal_for_token,
    revoke_account_token,
    revoke_agency_wide_token,
)
from store.accounts import (
    AccountError,
    ThrottlePolicy,
    account_by_username,
    authenticate,
    create_account,
    disable_account,
    enable_account,
    purge_login_throttle,
    set_password,
)
from store.models import Account, AccountEvent, AgencyToken, ConsoleSession, LoginThrottle, utcnow
from store.sessions import SessionPolicy, load_session, purge_sessions, start_session
from store.tokens import issue_token
from tests.console.conftest import PASSWORD, ConsoleDB


async def test_password_is_stored_as_argon2id(console_db: ConsoleDB) -> None:
    await console_db.add_account("tt.lan", "center", name="Trần Thị Lan")
    async with console_db.sessions() as session:
        account = await account_by_username(session, "TT.LAN")
    assert account is not None and account.display_name == "Trần Thị Lan"
    assert account.password_hash.startswith("$argon2id$") and PASSWORD not in account.password_hash


@pytest.mark.parametrize(("username", "role", "agency", "password", "message"), [
    ("a", "center", None, PASSWORD, "Tên đăng nhập"),
    ("tên có dấu", "center", None, PASSWORD, "Tên đăng nhập"),
    ("nv.a", "admin", None, PASSWORD, "Vui lòng chọn vai trò: Trung tâm giám sát"),
    ("nv.a", "agency", None, PASSWORD, "cần chọn đơn vị của mình"),
    ("nv.a", "agency", "khong-co", PASSWORD, "Không có đơn vị"),
    ("nv.a", "center", "moi-truong", PASSWORD, "Chỉ tài khoản vai trò agency"),
    ("nv.a", "viewer", None, "ngan", "ít nhất 10"),
])
async def test_create_account_refuses_bad_input(console_db: ConsoleDB, username: str, role: str,
                                                agency: str | None, password: str, message: str) -> None:
    async with console_db.sessions() as session:
        with pytest.raises(AccountError, match=message):
            await create_account(session, username, role, password, agency_id=agency)


async def test_duplicate_username_is_refused(console_db: ConsoleDB) -> None:
    await console_db.add_account("tt.lan", "center")
    with pytest.raises(AccountError, match="đã có"):
        await console_db.add_account("TT.Lan", "viewer")


async def test_agencies_can_come_from_settings(console_db: ConsoleDB) -> None:
    """The CLI may add an officer before the hub first mirrored its agencies into the table."""
    async with console_db.sessions() as session, session.begin():
        account = await create_account(session, "ubnd.a", "agency", PASSWORD, agency_id="ubnd-phu-xuan",
                                       agencies={"ubnd-phu-xuan": "UBND phường Phú Xuân"})
    assert account.agency_id == "ubnd-phu-xuan"


async def test_wrong_passwords_slow_down_then_lock(console_db: ConsoleDB) -> None:
    await console_db.add_account("tt.lan", "center")
    policy = ThrottlePolicy(free_failures=3, base_delay=timedelta(seconds=2), lock_after=6,
                            lock_for=timedelta(minutes=15))
    t0 = utcnow()

    async def attempt(password: str, at_seconds: float, remote: str = "10.0.0.1") -> str:
        async with console_db.sessions() as session, session.begin():
            result = await authenticate(session, "tt.lan", password, remote=remote,
                                        now=t0 + timedelta(seconds=at_seconds), policy=policy)
        return result.outcome if result.outcome not in ("throttled", "locked") else \
            f"{result.outcome}:{result.retry_after}"

    # Three free failures; the attempt after them must wait 2 s, and inside that pause even the
    # right password is not checked (docs/console.md: "after 3 failures each further attempt
    # must wait 2 s, 4 s, 8 s…").
    assert [await attempt("sai-1234567", s) for s in (0, 1, 2)] == ["bad_credentials"] * 3
    assert await attempt(PASSWORD, 2.5) == "throttled:2"
    # After the pause the fourth failure asks for 4 s, the fifth for 8 s.
    assert await attempt("sai-1234567", 4) == "bad_credentials"
    assert await attempt(PASSWORD, 6) == "throttled:2"
    assert await attempt("sai-1234567", 8.5) == "bad_credentials"
    assert await attempt(PASSWORD, 12.5) == "throttled:4"
    # The sixth failure locks for 15 minutes, from any address.
    assert await attempt("sai-1234567", 17) == "bad_credentials"
    assert await attempt(PASSWORD, 20, remote="10.9.9.9") == "locked:897"
    assert await attempt(PASSWORD, 17 + 15 * 60 + 1, remote="10.9.9.9") == "ok"
    # Success clears the user's record.
    async with console_db.sessions() as session:
        keys = set((await session.execute(select(LoginThrottle.key))).scalars())
    assert "user:tt.lan" not in keys and "ip:10.0.0.1" in keys


async def test_unknown_usernames_are_throttled_too(console_db: ConsoleDB) -> None:
    policy = ThrottlePolicy(free_failures=1, lock_after=2)
    now = utcnow()
    outcomes = []
    for i in range(3):
        async with console_db.sessions() as session, session.begin():
            outcomes.append((await authenticate(session, "khong.co", "x" * 12,
                                                now=now + timedelta(seconds=i * 10), policy=policy)).outcome)
    assert outcomes == ["bad_credentials", "bad_credentials", "locked"]


async def test_old_failures_are_forgotten(console_db: ConsoleDB) -> None:
    await console_db.add_account("tt.lan", "center")
    policy = ThrottlePolicy(free_failures=1, lock_after=2, window=timedelta(minutes=15))
    now = utcnow()
    async with console_db.sessions() as session, session.begin():
        await authenticate(session, "tt.lan", "sai-1234567", now=now, policy=policy)
    async with console_db.sessions() as session, session.begin():
        result = await authenticate(session, "tt.lan", "sai-1234567", now=now + timedelta(minutes=20),
                                    policy=policy)
    async with console_db.sessions() as session:
        row = await session.get(LoginThrottle, "user:tt.lan")
    assert result.outcome == "bad_credentials" and row is not None and row.failures == 1
    assert row.locked_until is None


async def test_purge_login_throttle(console_db: ConsoleDB) -> None:
    policy = ThrottlePolicy(free_failures=1, lock_after=2, lock_for=timedelta(hours=1),
                            window=timedelta(minutes=15))
    now = utcnow()
    for name, times in (("cu", [now - timedelta(minutes=30)]),
                        ("khoa", [now - timedelta(minutes=30), now - timedelta(minutes=29)]),
                        ("moi", [now])):
        for t in times:
            async with console_db.sessions() as session, session.begin():
                await authenticate(session, name, "x" * 12, now=t, policy=policy)
    async with console_db.sessions() as session, session.begin():
        assert await purge_login_throttle(session, now=now, policy=policy) == 1
        left = set((await session.execute(select(LoginThrottle.key))).scalars())
    assert left == {"user:khoa", "user:moi"}  # still locked; recent


async def test_sessions_expire_and_end_with_the_account(console_db: ConsoleDB) -> None:
    await console_db.add_account("tt.lan", "center")
    await console_db.add_account("mt.hoa", "agency", "moi-truong")
    policy = SessionPolicy(lifetime=timedelta(hours=12), idle=timedelta(hours=2))
    now = utcnow()
    async with console_db.sessions() as session, session.begin():
        officer = await account_by_username(session, "mt.hoa")
        raw = await start_session(session, officer, now=now, policy=policy)
        raw_old = await start_session(session, officer, now=now - timedelta(hours=13), policy=policy)
    async with console_db.sessions() as session, session.begin():
        user = await load_session(session, raw, now=now + timedelta(hours=1), policy=policy)
        assert user is not None and user.actor == "user:mt.hoa" and user.agency_id == "moi-truong"
        assert await load_session(session, raw_old, now=now, policy=policy) is None  # past lifetime
        assert await load_session(session, "khong-phai-phien", now=now) is None
    async with console_db.sessions() as session, session.begin():
        await disable_account(session, "mt.hoa", actor="user:tt.lan")
    async with console_db.sessions() as session, session.begin():
        assert await load_session(session, raw, now=now) is None
        assert (await session.execute(select(ConsoleSession))).first() is None
        events = [e.action for e in (await session.execute(select(AccountEvent))).scalars()]
    assert events.count("disabled") == 1


async def test_password_reset_ends_sessions(console_db: ConsoleDB) -> None:
    await console_db.add_account("tt.lan", "center")
    async with console_db.sessions() as session, session.begin():
        raw = await start_session(session, await account_by_username(session, "tt.lan"))
        await set_password(session, "tt.lan", "mat-khau-moi-456")
    async with console_db.sessions() as session, session.begin():
        assert await load_session(session, raw) is None
        assert (await authenticate(session, "tt.lan", "mat-khau-moi-456")).ok
        assert not (await authenticate(session, "tt.lan", PASSWORD)).ok


async def test_purge_sessions(console_db: ConsoleDB) -> None:
    await console_db.add_account("tt.lan", "center")
    now = utcnow()
    async with console_db.sessions() as session, session.begin():
        account = await account_by_username(session, "tt.lan")
        await start_session(session, account, now=now)
        await start_session(session, account, now=now - timedelta(hours=5))
    async with console_db.sessions() as session, session.begin():
        assert await purge_sessions(session, now=now) == 1


async def test_no_one_disables_their_own_account(console_db: ConsoleDB) -> None:
    await console_db.add_account("tt.lan", "center")
    async with console_db.sessions() as session:
        with pytest.raises(AccountError, match="tự khóa"):
            await disable_account(session, "tt.lan", actor="user:tt.lan")


async def test_account_tokens_act_for_the_account(console_db: ConsoleDB) -> None:
    await console_db.add_account("tt.lan", "center")
    await console_db.add_account("mt.hoa", "agency", "moi-truong")
    await console_db.add_account("td.minh", "hotline")
    async with console_db.sessions() as session, session.begin():
        _, center_token = await issue_account_token(session, "tt.lan", label="báo cáo")
        officer_row, officer_token = await issue_account_token(session, "mt.hoa")
        with pytest.raises(AccountError, match="Chỉ tài khoản"):
            await issue_account_token(session, "td.minh")
        legacy = await issue_token(session, "so-xay-dung")  # main.py agency-token
    async with console_db.sessions() as session, session.begin():
        center = await principal_for_token(session, center_token)
        officer = await principal_for_token(session, officer_token)
        old = await principal_for_token(session, legacy)
        assert await principal_for_token(session, "hub_" + "x" * 43) is None
        assert await principal_for_token(session, "not-a-token") is None
    assert (center.agency_id, center.actor) == ("center", "user:tt.lan")
    assert (officer.agency_id, officer.actor, officer.username) == ("moi-truong", "user:mt.hoa", "mt.hoa")
    assert (old.agency_id, old.actor, old.username) == ("so-xay-dung", "so-xay-dung", None)
    async with console_db.sessions() as session:
        rows = await account_tokens(session, "mt.hoa")
    assert [t.id for t, _ in rows] == [officer_row.id]
    assert rows[0][0].last_used_at is not None and officer_token not in rows[0][0].hint + "…"
    assert officer_token.startswith(rows[0][0].hint)

    # Revoking one token, or disabling the account, stops it at once.
    async with console_db.sessions() as session, session.begin():
        await revoke_account_token(session, officer_row.id, actor="user:tt.lan")
        with pytest.raises(AccountError):
            await revoke_account_token(session, officer_row.id, username="tt.lan")
        await disable_account(session, "tt.lan", actor="cli")
        legacy_row = (await session.execute(select(AgencyToken))).scalar_one()
        await revoke_agency_wide_token(session, legacy_row.id)
    async with console_db.sessions() as session:
        assert await principal_for_token(session, officer_token) is None
        assert await principal_for_token(session, center_token) is None
        assert await principal_for_token(session, legacy) is None
    # Enabling again does not bring revoked tokens back.
    async with console_db.sessions() as session, session.begin():
        await enable_account(session, "tt.lan")
    async with console_db.sessions() as session:
        assert await principal_for_token(session, center_token) is None
        assert (await session.execute(select(Account.disabled).where(Account.username == "tt.lan"))).scalar() is False
