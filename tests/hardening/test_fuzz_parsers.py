"""Fuzzing campaign, property part: every channel parser, fed any JSON (or any bytes) and
mutated recorded fixtures, gives a clean result — a list of InboundMessages — or a clean refusal
(the webhook's Refused, the hotline reader's Rejected row or ImportFormatError); no other
exception ever escapes. HYPOTHESIS_MAX_EXAMPLES raises the count (bench/fuzz.py runs longer)."""
from __future__ import annotations

import base64
import csv
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.email.mime import parse_mail
from channels.hotline.parse import parse_call
from channels.hotline.records import (
    CallReader,
    CallRecord,
    ImportFormatError,
    ReaderOptions,
    Rejected,
    make_record,
)
from channels.messenger.adapter import MalformedBatch, split_batch
from channels.messenger.parse import parse_payload
from channels.open311.adapter import parse_request, validate_request
from channels.telegram.parse import parse_update
from channels.webhook import Refused, loads
from channels.zalo.parse import external_id, parse_event
from hub.inbound.limits import bound_message, clamp_times
from normalizer.schema import InboundMessage
from tests.hardening.fuzzing import FIXTURES, channel_inputs, json_values

EXAMPLES = int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def clean(messages: object) -> None:
    """A list of InboundMessages that the hub's own pure step (limits, NULs, clocks) accepts."""
    assert isinstance(messages, list)
    assert all(isinstance(m, InboundMessage) for m in messages)
    received = datetime(2026, 11, 30, tzinfo=UTC)
    for msg in messages:
        clamp_times(bound_message(msg), received, timedelta(minutes=15))


@FUZZ
@given(channel_inputs("messenger"))
def test_messenger(body):
    try:
        events = split_batch(body)
    except MalformedBatch:
        return
    for event in events:
        clean(parse_payload(json.loads(json.dumps(event.payload))))


@FUZZ
@given(channel_inputs("zalo"))
def test_zalo(body):
    if not isinstance(body, dict) or not body.get("event_name"):
        return  # the webhook refuses it (400) before storing
    external_id(body)
    clean(parse_event(body))


@pytest.fixture(scope="module")
def bot():
    from telegram import Bot

    return Bot("7012345678:AAF4keT0kenForTheHubTests_x9Qw2Lm7Zp")


@FUZZ
@given(body=channel_inputs("telegram"))
def test_telegram(bot, body):
    from channels.telegram.adapter import TelegramChannel

    try:
        [event] = TelegramChannel.split(None, body)  # type: ignore[arg-type]
    except Refused:
        return
    clean(parse_update(event.payload, bot))


@FUZZ
@given(st.dictionaries(st.sampled_from(["service_code", "lat", "long", "address_string",
                                        "address_id", "description", "media_url", "email",
                                        "phone", "first_name", "last_name", "received_at",
                                        "_token", "device_id", "account_id"]),
                       st.text(max_size=60) | st.sampled_from(["environment", "16.46", "107.59",
                                                               "nan", "inf", "1e400", "-0"])))
def test_open311(fields):
    if validate_request(fields) is not None:
        return  # answered 400/404, nothing stored
    fields.setdefault("_token", "t")
    clean([parse_request(fields)])


EML = sorted((FIXTURES / "email").glob("*.eml"))


@FUZZ
@given(st.binary(max_size=2000) | st.builds(
    lambda path, cut, junk: path.read_bytes()[:cut] + junk,
    st.sampled_from(EML), st.integers(0, 4000), st.binary(max_size=200)))
def test_email_mime(raw):
    mail = parse_mail(raw, ("phananh@hue.gov.vn",))
    assert isinstance(mail.full_text, str) and isinstance(mail.new_text, str)


@FUZZ
@given(st.dictionaries(st.sampled_from(["call_id", "time", "caller", "operator", "text",
                                        "address", "category", "name"]),
                       json_values | st.datetimes() | st.dates()))
def test_hotline_row(values):
    from datetime import UTC, datetime

    item = make_record(7, values, ReaderOptions(now=datetime(2026, 11, 6, tzinfo=UTC)))
    if isinstance(item, Rejected):
        assert item.row == 7 and item.reason
        return
    assert isinstance(item, CallRecord)
    clean([parse_call(json.loads(item.payload))])


HOTLINE = [p for p in sorted((FIXTURES / "hotline").iterdir()) if p.suffix in (".csv", ".txt", ".jsonl")]


@FUZZ
@given(st.sampled_from([".csv", ".jsonl", ".txt", ""]),
       st.binary(max_size=3000) | st.builds(
           lambda path, cut, junk: path.read_bytes()[:cut] + junk + path.read_bytes()[cut:],
           st.sampled_from(HOTLINE), st.integers(0, 600), st.binary(max_size=60)))
def test_hotline_file(tmp_path_factory, suffix, raw):
    path: Path = tmp_path_factory.mktemp("fuzz") / f"calls{suffix}"
    path.write_bytes(raw)
    try:
        with CallReader(path) as reader:
            for item in reader:
                assert isinstance(item, CallRecord | Rejected)
    except (ImportFormatError, csv.Error):
        pass  # the whole file refused with a reason (import_file reports both, row count included)


@FUZZ
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_webhook_body_decoding(raw):
    try:
        loads(raw)
    except Refused as exc:
        assert exc.status == 400


def test_email_adapter_payload_round_trip():
    """The stored email payload is base64 of the raw bytes: any bytes survive the trip."""
    raw = (FIXTURES / "email" / EML[0].name).read_bytes()
    assert base64.b64decode(base64.b64encode(raw).decode()) == raw
