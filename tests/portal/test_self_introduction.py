"""A citizen whose name the hub does not know (Messenger, a web form left blank, Zalo before
the citizen shares info) still has the name they give in the text masked on public pages."""
from __future__ import annotations

import pytest

from store.serialize import mask_name_tokens


@pytest.mark.parametrize(("text", "public"), [
    ("Tôi là Nguyễn Văn Hùng, sđt 0905123456, báo rác ở đường Lê Lợi",
     "Tôi là *** *** ***, sđt 0905123456, báo rác ở đường Lê Lợi"),
    ("tôi tên Trần Thị Mai ở kiệt 3", "tôi tên *** *** *** ở kiệt 3"),
    ("Tôi là Phan Thanh Bình ở kiệt 3 Lê Lợi", "Tôi là *** *** *** ở kiệt 3 Lê Lợi"),
    ("ten toi la Le Van Loi", "ten toi la *** *** ***"),
    ("Tôi là người dân phường Phú Xuân", "Tôi là người dân phường Phú Xuân"),  # no name given
    ("Rác ở đường Nguyễn Văn Linh", "Rác ở đường Nguyễn Văn Linh"),  # a street, not a person
])
@pytest.mark.parametrize("name", [None, ""])
def test_a_self_introduced_name_is_masked_without_a_known_name(text: str, public: str, name: str | None) -> None:
    assert mask_name_tokens(text, name) == public
