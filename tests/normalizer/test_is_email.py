"""One e-mail check for every form field (portal form, Open311): what was accepted before as
"has an @ and no space" ("bad@@x", "x@y") is refused."""
from __future__ import annotations

import pytest

from normalizer.phones import is_email


@pytest.mark.parametrize("address", ["lan@example.vn", "nguyen.van.a+1@gmail.com", "a@so-xd.hue.gov.vn"])
def test_addresses(address: str) -> None:
    assert is_email(address)


@pytest.mark.parametrize("address", ["bad@@x", "x@y", "a b@c.vn", "@b.vn", "a@", "a@b.", "a@.vn",
                                     "không phải thư", "a@" + "b" * 320 + ".vn"])
def test_not_addresses(address: str) -> None:
    assert not is_email(address)
