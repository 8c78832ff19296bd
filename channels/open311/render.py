"""GeoReport v2 answers in both formats: XML (required by the spec) and JSON (the Spark
mapping of the same XML), UTF-8, and the spec's error body on every Open311 path.

XML element names follow the spec: a list at the top becomes the root element with one child per
item (``<services><service>``, ``<service_requests><request>``, ``<errors><error>``), a list
inside an item repeats the singular of its name (``<endpoints><endpoint>``,
``<formats><format>``, ``<attributes><attribute>``, ``<values><value>``). ``None`` is an empty
element, booleans are ``true``/``false``, no namespace.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

FORMATS = ("xml", "json")
XML_TYPE = "text/xml"
JSON_TYPE = "application/json"
MIME = {"xml": XML_TYPE, "json": JSON_TYPE}
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# Singular element of each list the spec nests (endpoint discovery, service definitions).
ITEM_NAMES = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute",
              "values": "value", "services": "service", "service_requests": "request",
              "errors": "error"}


# Characters XML 1.0 cannot carry at all (a citizen's text may hold them: a pasted \x0b, an
# escape code); ElementTree would write them and make the document ill-formed for every client.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return _NOT_XML.sub("", str(value))


def _element(name: str, value: Any) -> ET.Element:
    node = ET.Element(name)
    if isinstance(value, dict):
        for key, child in value.items():
            node.append(_element(key, child))
    elif isinstance(value, list):
        item = ITEM_NAMES.get(name, "item")
        for child in value:
            node.append(_element(item, child))
    else:
        node.text = _text(value)
    return node


def to_xml(root: str, value: Any) -> bytes:
    """``value`` (a list for collections, a dict for one object) under ``root``."""
    return DECLARATION + ET.tostring(_element(root, value), encoding="unicode").encode("utf-8")


def _clean(value: Any) -> Any:
    """Strings without the characters XML cannot carry, so both formats hold the same data."""
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, dict):
        return {key: _clean(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_clean(child) for child in value]
    return value


def to_json(value: Any) -> bytes:
    return json.dumps(_clean(value), ensure_ascii=False).encode("utf-8", "replace")


def respond(fmt: str, root: str, value: Any, status: int = 200,
            headers: dict[str, str] | None = None) -> web.Response:
    if fmt == "xml":
        body = to_xml(root, value)
    else:
        body = to_json(value)
    return web.Response(body=body, status=status, content_type=MIME[fmt], charset="utf-8",
                        headers=headers)


def error(fmt: str, status: int, description: str,
          headers: dict[str, str] | None = None) -> web.Response:
    """The spec's error body: ``<errors><error><code/><description/></error></errors>`` or
    ``[{"code", "description"}]``; the code is the HTTP status."""
    return respond(fmt, "errors", [{"code": status, "description": description}], status,
                   headers)


def format_of(path: str) -> str:
    """The answer format a path asks for: JSON for ``.json``, otherwise XML (the required one)."""
    return "json" if path.rstrip("/").endswith(".json") else "xml"


def w3c(value: datetime | None, zone: ZoneInfo) -> str | None:
    """A W3C datetime to the second, with the zone's offset (``2026-11-30T21:01:48+07:00``):
    microseconds are valid ISO 8601, but validators and clients choke on them."""
    if value is None:
        return None
    return value.astimezone(zone).replace(microsecond=0).isoformat()
