"""Multipart form bodies, parsed by the standard library's MIME parser (aiohttp's streaming
part reader calls its deprecated ``unread_data`` mid-read: docs/portal.md). Shared by the
portal's report form and the Open311 POST with a photo."""
from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FormPart:
    name: str
    filename: str | None  # a file part's name as the client gave it; None for a text field
    data: bytes
    charset: str | None  # the part's declared charset, if any


def multipart_parts(content_type: str, body: bytes) -> list[FormPart]:
    """The named parts of a multipart/form-data body, in order. Raises ``ValueError`` when the
    body is not a multipart one the parser can read."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    try:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        if not message.is_multipart():
            raise ValueError("not a multipart body")
        parts = []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            filename = part.get_filename()
            parts.append(FormPart(str(name), None if filename is None else str(filename),
                                  part.get_payload(decode=True) or b"",
                                  part.get_content_charset()))
    except (UnicodeError, LookupError, TypeError) as exc:
        raise ValueError(str(exc)) from None
    return parts
