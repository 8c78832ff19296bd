"""Log lines never carry secrets or personal data."""
import json
import logging

import pytest

from hub.logs import _Formatter, scrub


@pytest.mark.parametrize("raw, leaked", [
    ("POST https://graph.facebook.com/me/messages?access_token=EAAB1234secret&x=1", "EAAB1234secret"),
    ("GET https://api.telegram.org/bot7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe",
     "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
    ("Invalid token 7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
    ("mail from nguyen.van.a@gmail.com bounced", "nguyen.van.a@gmail.com"),
    ("caller 0905 123 456 asked", "0905 123 456"),
    ("caller +84905123456 asked", "+84905123456"),
    ("login with password=hunter2 refused", "hunter2"),
    ("gọi số 0905123456.", "0905123456"),
    ("gọi (+84) 905 123 456 nhé", "905 123 456"),
    ("gọi 0905  123  456 nhé", "123  456"),
    ("gọi +84 (0) 905 123 456", "905 123 456"),
    ("máy bàn (0234) 3.822.123", "3.822.123"),
    ("gọi 0905\u2013123\u2013456", "123\u2013456"),
    ("gọi 0084 905 123 456", "456"),
])
def test_scrub_removes_secrets_and_personal_data(raw, leaked):
    assert leaked not in scrub(raw)


def test_json_lines_are_scrubbed_including_tracebacks():
    formatter = _Formatter("json")
    try:
        raise ValueError("token=abc123secret for 0914222333")
    except ValueError:
        import sys
        record = logging.LogRecord("hub", logging.ERROR, __file__, 1, "send to %s failed",
                                   ("citizen@example.vn",), sys.exc_info())
    line = formatter.format(record)
    data = json.loads(line)
    assert data["level"] == "ERROR" and "<email>" in data["msg"]
    for secret in ("citizen@example.vn", "abc123secret", "0914222333"):
        assert secret not in line
