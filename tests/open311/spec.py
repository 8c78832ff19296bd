"""What GeoReport v2 says an answer looks like, written down from the spec
(wiki.open311.org/GeoReport_v2 and /Service_Discovery) for the tests to check ours against:
JSON Schemas (draft 2020-12) per answer kind, and the XML element structure of the same answers.

The JSON Schemas are at least as strict as the ones the Open311 project publishes for its
validator (request, service, service definition: same required fields, types and enums) and
stricter where the spec is: datetimes in the W3C profile with a zone and no fractions, the
POST answer carrying exactly one of ``service_request_id`` and ``token``, no unknown fields.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from jsonschema import Draft202012Validator

W3C_DATETIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$"
STR_OR_NULL = {"type": ["string", "null"]}
DATETIME = {"type": "string", "pattern": W3C_DATETIME}
DATETIME_OR_NULL = {"anyOf": [DATETIME, {"type": "null"}]}

SERVICE = {
    "type": "object",
    "required": ["service_code", "service_name", "metadata", "type"],
    "additionalProperties": False,
    "properties": {
        "service_code": {"type": "string", "minLength": 1},
        "service_name": {"type": "string", "minLength": 1},
        "description": STR_OR_NULL,
        "metadata": {"type": "boolean"},
        "type": {"enum": ["realtime", "batch", "blackbox"]},
        "keywords": STR_OR_NULL,
        "group": STR_OR_NULL,
    },
}
ATTRIBUTE = {
    "type": "object",
    "required": ["variable", "code", "datatype", "required"],
    "properties": {
        "variable": {"type": "boolean"}, "code": {"type": "string"},
        "datatype": {"enum": ["string", "number", "datetime", "text", "singlevaluelist",
                              "multivaluelist"]},
        "required": {"type": "boolean"}, "datatype_description": STR_OR_NULL,
        "order": {"type": ["integer", "null"]}, "description": STR_OR_NULL,
        "values": {"type": "array", "items": {
            "type": "object", "required": ["key", "name"],
            "properties": {"key": {"type": "string"}, "name": {"type": "string"}}}},
    },
}
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                  "lat", "long", "media_url"]
REQUEST = {
    "type": "object",
    # Every field of the spec's response table is present (null when unknown).
    "required": REQUEST_FIELDS,
    "additionalProperties": False,
    "properties": {
        "service_request_id": {"type": "string", "minLength": 1},
        "status": {"enum": ["open", "closed"]},
        "status_notes": STR_OR_NULL,
        "service_name": STR_OR_NULL,
        "service_code": {"type": "string", "minLength": 1},
        "description": {"anyOf": [{"type": "string", "maxLength": 4000}, {"type": "null"}]},
        "agency_responsible": STR_OR_NULL,
        "service_notice": STR_OR_NULL,
        "requested_datetime": DATETIME,
        "updated_datetime": DATETIME_OR_NULL,
        "expected_datetime": DATETIME_OR_NULL,
        "address": STR_OR_NULL,
        "address_id": STR_OR_NULL,
        "zipcode": STR_OR_NULL,
        "lat": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
        "long": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
        "media_url": {"anyOf": [{"type": "string", "pattern": "^https?://"}, {"type": "null"}]},
    },
}
POSTED = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "service_request_id": {"type": "string", "minLength": 1},
        "token": {"type": "string", "minLength": 1},
        "service_notice": STR_OR_NULL,
        "account_id": STR_OR_NULL,
    },
    # "should not be returned if token is returned" and the other way round
    "oneOf": [{"required": ["service_request_id"], "not": {"required": ["token"]}},
              {"required": ["token"], "not": {"required": ["service_request_id"]}}],
}
TOKEN = {
    "type": "object",
    "required": ["service_request_id", "token"],
    "additionalProperties": False,
    "properties": {"service_request_id": STR_OR_NULL, "token": {"type": "string", "minLength": 1}},
}
ERROR = {
    "type": "object",
    "required": ["code", "description"],
    "additionalProperties": False,
    "properties": {"code": {"type": "integer", "minimum": 400, "maximum": 599},
                   "description": {"type": "string", "minLength": 1}},
}
DISCOVERY = {
    "type": "object",
    "required": ["changeset", "contact", "key_service", "endpoints"],  # "All fields are required."
    "additionalProperties": False,
    "properties": {
        "changeset": {"type": "string", "minLength": 1},
        "contact": {"type": "string", "minLength": 1},
        "key_service": {"type": "string", "minLength": 1},
        "endpoints": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["specification", "url", "changeset", "type", "formats"],
            "additionalProperties": False,
            "properties": {
                "specification": {"const": "http://wiki.open311.org/GeoReport_v2"},
                "url": {"type": "string", "pattern": "^https?://"},
                "changeset": {"type": "string", "minLength": 1},
                "type": {"enum": ["production", "test"]},
                "formats": {"type": "array", "minItems": 1, "uniqueItems": True,
                            "items": {"enum": ["text/xml", "application/json"]},
                            "contains": {"const": "text/xml"}},
            }}},
    },
}


def _array(item: dict[str, Any], min_items: int = 0) -> dict[str, Any]:
    return {"type": "array", "items": item, "minItems": min_items}


SCHEMAS: dict[str, dict[str, Any]] = {
    "services": _array(SERVICE, 1),
    "service_definition": {"type": "object", "required": ["service_code", "attributes"],
                           "additionalProperties": False,
                           "properties": {"service_code": {"type": "string"},
                                          "attributes": _array(ATTRIBUTE)}},
    "post": _array(POSTED, 1),
    "token": _array(TOKEN, 1),
    "requests": _array(REQUEST),
    "errors": _array(ERROR, 1),
    "discovery": DISCOVERY,
}
for _schema in SCHEMAS.values():
    Draft202012Validator.check_schema(_schema)

# The XML of each kind: root element, the element of each item (None: the root is the item),
# the children an item must have, and those it may have.
XML: dict[str, tuple[str, str | None, set[str], set[str]]] = {
    "services": ("services", "service", set(SERVICE["required"]), set(SERVICE["properties"])),
    "service_definition": ("service_definition", None, {"service_code", "attributes"},
                           {"service_code", "attributes"}),
    "post": ("service_requests", "request", set(), set(POSTED["properties"])),
    "token": ("service_requests", "request", {"service_request_id", "token"},
              {"service_request_id", "token"}),
    "requests": ("service_requests", "request", set(REQUEST_FIELDS), set(REQUEST_FIELDS)),
    "errors": ("errors", "error", {"code", "description"}, {"code", "description"}),
    "discovery": ("discovery", None, set(DISCOVERY["required"]), set(DISCOVERY["required"])),
}
NESTED = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute",
          "values": "value"}


def check_json(kind: str, resp_body: bytes, content_type: str) -> Any:
    """Schema-valid JSON in UTF-8 with the spec's content type; returns the data."""
    assert content_type.split(";")[0].strip() == "application/json", content_type
    assert "charset=utf-8" in content_type.replace(" ", "").lower(), content_type
    data = json.loads(resp_body.decode("utf-8"))
    errors = sorted(Draft202012Validator(SCHEMAS[kind]).iter_errors(data), key=str)
    assert not errors, f"{kind}: {[e.message for e in errors[:5]]}"
    return data


def _xml_value(node: ET.Element) -> Any:
    """The Spark mapping back: repeated children → a list, leaves → text ("" for empty)."""
    if len(node) == 0:
        return (node.text or "").strip()
    if node.tag in NESTED:
        assert all(child.tag == NESTED[node.tag] for child in node), node.tag
        return [_xml_value(child) for child in node]
    return {child.tag: _xml_value(child) for child in node}


def check_xml(kind: str, resp_body: bytes, content_type: str) -> Any:
    """UTF-8 XML with the declaration, no namespace, the spec's element names; returns the
    items as dicts of strings (lists for nested repeats)."""
    assert content_type.split(";")[0].strip() == "text/xml", content_type
    assert "charset=utf-8" in content_type.replace(" ", "").lower(), content_type
    assert resp_body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), resp_body[:60]
    resp_body.decode("utf-8")
    root = ET.fromstring(resp_body)
    root_name, item_name, required, allowed = XML[kind]
    assert root.tag == root_name, (kind, root.tag)
    assert "}" not in root.tag and not root.attrib, "no namespace, no attributes"
    items = list(root) if item_name else [root]
    for item in items:
        assert item.tag == (item_name or root_name), (kind, item.tag)
        tags = [child.tag for child in item]
        assert len(tags) == len(set(tags)), f"{kind}: repeated elements {tags}"
        assert required <= set(tags) <= allowed, (kind, set(tags) ^ allowed)
    values = [_xml_value(item) if len(item) else {} for item in items]
    return values if item_name else values[0]


def same_data(xml_value: Any, json_value: Any, path: str = "") -> None:
    """The XML and the JSON answers carry the same data (JSON null ↔ empty element,
    booleans as true/false, numbers as their decimal text)."""
    if isinstance(json_value, dict):
        assert isinstance(xml_value, dict) and set(xml_value) == set(json_value), path
        for key, value in json_value.items():
            same_data(xml_value[key], value, f"{path}.{key}")
    elif isinstance(json_value, list):
        if not json_value:  # an empty list is an empty element
            assert xml_value in ([], ""), path
            return
        assert isinstance(xml_value, list) and len(xml_value) == len(json_value), path
        for i, (x, j) in enumerate(zip(xml_value, json_value, strict=True)):
            same_data(x, j, f"{path}[{i}]")
    elif json_value is None:
        assert xml_value == "", (path, xml_value)
    elif isinstance(json_value, bool):
        assert xml_value == ("true" if json_value else "false"), (path, xml_value)
    elif isinstance(json_value, int | float):
        assert float(xml_value) == float(json_value), (path, xml_value, json_value)
    else:
        assert xml_value == str(json_value).strip(), (path, xml_value, json_value)
