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


@pytest.mark.parametrize(("text", "public"), [
    # walkthrough: the answer to the phone question, published with the name
    ("sđt của tôi 0905 123 456, tên Nguyễn Văn An", "sđt của tôi 090*****56, tên *** *** ***"),
    ("tên tôi: Nguyễn Văn An", "tên tôi: *** *** ***"),
    ("Họ và tên: Trần Văn Bình, nhà ở kiệt 5", "Họ và tên: *** *** ***, nhà ở kiệt 5"),
    ("ho ten: Tran Van Binh", "ho ten: *** *** ***"),
    # a place named after someone stays, and so does a lower-case "tên"
    ("đường mang tên Lê Lợi bị ngập", "đường mang tên Lê Lợi bị ngập"),
    ("cầu được đặt tên Trần Phú", "cầu được đặt tên Trần Phú"),
    ("Tên đường Nguyễn Huệ bị mờ", "Tên đường Nguyễn Huệ bị mờ"),
])
@pytest.mark.parametrize("name", [None, "", "Minh Tran"])  # none known, or a profile name
def test_a_name_given_in_the_text_is_masked_whatever_the_contact_name(text: str, public: str,
                                                                      name: str | None) -> None:
    from store.serialize import public_text_for

    assert public_text_for(text, name) == public
