"""The `user` commands, as an IT officer types them."""
from __future__ import annotations

import io
import sys
from pathlib import Path

import main


def run(argv: list[str], stdin: str = "", capsys=None) -> tuple[int, str, str]:
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main.main(argv)
    finally:
        sys.stdin = old
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_disable_and_tokens(tmp_path: Path, capsys) -> None:
    config = tmp_path / "s.toml"
    config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "hub.db"}"\n'
                      '[[agencies]]\nid = "moi-truong"\nname = "Công ty Môi trường"\n'
                      'categories = ["environment"]\n', encoding="utf-8")
    c = ["--config", str(config)]
    code, out, _ = run(["user", "add", "lan", "--role", "center", "--name", "Trần Thị Lan",
                        "--password-stdin", *c], "một-mật-khẩu-dài\n", capsys)
    assert code == 0 and "lan" in out
    code, _, err = run(["user", "add", "hoa", "--role", "agency", "--agency", "khong-co",
                        "--password-stdin", *c], "một-mật-khẩu-dài\n", capsys)
    assert code == 2 and "khong-co" in err
    code, _, _ = run(["user", "add", "hoa", "--role", "agency", "--agency", "moi-truong",
                      "--password-stdin", *c], "một-mật-khẩu-dài\n", capsys)
    assert code == 0
    code, out, _ = run(["user", "token", "issue", "hoa", *c], "", capsys)
    token = out.strip().splitlines()[-1]
    assert code == 0 and len(token) >= 32
    code, out, _ = run(["user", "list", *c], "", capsys)
    assert "Trần Thị Lan" in out and "moi-truong" in out
    code, out, _ = run(["user", "disable", "hoa", *c], "", capsys)
    assert code == 0 and "revoked" in out
    code, out, _ = run(["user", "token", "list", "hoa", *c], "", capsys)
    assert code == 0
    code, _, err = run(["user", "add", "nopw", "--role", "viewer", *c], "", capsys)
    assert code == 2 and "--password-stdin" in err
