"""``hub corrections FILE`` writes training data: the citizen's phone numbers, e-mail addresses
and own name never reach it (placeholders the classifier ignores as it ignores the real values,
so the masked text trains the same model). ``retrain`` reads the same masked labels."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hub.retrain import mask_for_training
from normalizer.classify import features
from store.db import make_engine, migrate, sessionmaker
from store.models import Contact, Report, utcnow
from tests.conftest import run_main

TEXT = ("Cống thoát nước bị tắc ở kiệt 12 Chi Lăng, nước tràn ra đường. SĐT của tôi 0935777888, "
        "email lethic@example.net, hoặc gọi +84 905 123 456. Tôi là Lê Thị C.")


def seed(tmp_path: Path) -> Path:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'log_format = "text"\n[database]\nurl = "{url}"\n'
                   f'[storage]\nmedia_dir = "{tmp_path}/media"\n', encoding="utf-8")

    async def go() -> None:
        engine = make_engine(url)
        await migrate(engine)
        async with sessionmaker(engine)() as session, session.begin():
            contact = Contact(channel="zalo", channel_user_id="u-lethic", name="Lê Thị C",
                              phone="+84935777888", email="lethic@example.net")
            session.add(contact)
            await session.flush()
            session.add(Report(code="PA-2026-000088", channel="zalo", status="forwarded",
                               forwarded_at=utcnow(), description=TEXT, contact_id=contact.id,
                               category="drainage", classifier_version="center"))
        await engine.dispose()
    asyncio.run(go())
    return cfg


def test_corrections_file_has_no_phone_email_or_name(tmp_path: Path) -> None:
    cfg = seed(tmp_path)
    target = tmp_path / "labels.jsonl"
    proc = run_main("corrections", str(target), cfg=cfg, check=True)
    assert "1 labels written" in proc.stdout
    written = target.read_text(encoding="utf-8")
    [label] = [json.loads(line) for line in written.splitlines()]
    for personal in ("0935777888", "935 777 888", "905 123 456", "lethic", "example.net",
                     "Lê Thị C"):
        assert personal not in written, personal
    assert not any(ch.isdigit() for ch in label["text"].replace("kiệt 12", "")), label["text"]
    assert label["category"] == "drainage"
    assert label["text"].startswith("Cống thoát nước bị tắc ở kiệt 12 Chi Lăng")
    assert "SĐT của tôi ***, email ***@***, hoặc gọi ***. Tôi là ***." in label["text"]


def test_placeholders_leave_the_classifiers_features_as_they_were() -> None:
    for text in ("SĐT của tôi 0935777888, email lethic@example.net",
                 "Rác ở kiệt 5, gọi +84 935 777 888 hoặc 0935.777.888. Ngập nước đường Lê Lợi",
                 "Đèn đường hỏng, liên hệ chị Lan 0905-123-456 / lan.nguyen@gmail.com!"):
        masked = mask_for_training(text)
        assert not any(ch.isdigit() for ch in masked.split("kiệt 5")[-1]), masked
        assert "@gmail" not in masked and "@example" not in masked
        assert features(masked) == features(text), masked


def test_numbers_that_are_not_phones_are_kept() -> None:
    text = "Số nhà 12/3 Lê Lợi, từ ngày 20250712, phạt 1.500.000 đồng"
    assert mask_for_training(text) == text
