"""Which agency gets a report: the most specific rule wins (pure)."""
import pytest

from router.rules import AgencyRule, choose_agency

RULES = [
    AgencyRule("qldt-thuan-hoa", ("construction_order", "urban_infrastructure"), ("Phường Thuận Hóa",)),
    AgencyRule("so-xay-dung", ("construction_order", "urban_infrastructure", "traffic_infrastructure"), ()),
    AgencyRule("ubnd-phu-xuan", (), ("Phường Phú Xuân",)),
    AgencyRule("moi-truong", ("environment",), ()),
]


@pytest.mark.parametrize(("category", "confidence", "ward", "agency"), [
    ("construction_order", 0.9, "Phường Thuận Hóa", "qldt-thuan-hoa"),  # category + area
    ("construction_order", 0.9, "thuan hoa", "qldt-thuan-hoa"),  # folded, prefix-less name
    ("construction_order", 0.9, "Phường Vỹ Dạ", "so-xay-dung"),  # category only
    ("construction_order", 0.9, None, "so-xay-dung"),
    ("urban_infrastructure", 0.9, "Phường Phú Xuân", "so-xay-dung"),  # category beats area
    ("public_order", 0.9, "Phường Phú Xuân", "ubnd-phu-xuan"),  # area only
    ("environment", 0.8, "Phường Phú Xuân", "moi-truong"),
    ("public_order", 0.9, "Phường Vỹ Dạ", None),  # nobody handles it there
    ("environment", 0.3, None, None),  # low confidence → center triage
    ("other", 1.0, "Phường Phú Xuân", None),
    (None, None, None, None),
])
def test_most_specific_rule_wins(category, confidence, ward, agency):
    decision = choose_agency(category, confidence, ward, RULES, 0.55)
    assert decision.agency_id == agency, decision.reason
