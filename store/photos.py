"""The upload check of a photo: an image Pillow can read (JPEG, a multi-picture JPEG "MPO" as
image/jpeg, PNG, WebP), sniffed from its bytes (never its name or declared type), within a size
limit and Pillow's decompression-bomb pixel limit; its EXIF GPS position is read. Pure (bytes in,
a CheckedPhoto or PhotoRefused out): the portal's form (web.portal.photos) and the Open311
multipart ``media`` part (channels.open311) check photos alike. The public copies without EXIF
are made by web.portal.photos.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

# MPO: a JPEG followed by more pictures (Android "Ultra HDR", dual cameras): Pillow names it
# MPO; every JPEG reader shows its first picture, and the public copy is that one re-encoded.
ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class PhotoRefused(ValueError):
    """A file that is not a photo we accept; the message is Vietnamese, for the citizen."""


@dataclass(frozen=True, slots=True)
class CheckedPhoto:
    data: bytes
    content_type: str
    gps: tuple[float, float] | None


def _rational(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        num, den = value
        return float(num) / float(den)


def exif_gps(image: Any) -> tuple[float, float] | None:
    """(lat, lon) from a Pillow image's EXIF GPS block, or None."""
    try:
        gps = image.getexif().get_ifd(0x8825)
    except Exception:
        return None
    if not gps or 2 not in gps or 4 not in gps:
        return None
    try:
        lat = sum(_rational(v) / 60 ** i for i, v in enumerate(gps[2]))
        lon = sum(_rational(v) / 60 ** i for i, v in enumerate(gps[4]))
    except Exception:
        return None
    if str(gps.get(1, "N")).upper().startswith("S"):
        lat = -lat
    if str(gps.get(3, "E")).upper().startswith("W"):
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return round(lat, 6), round(lon, 6)


UNREADABLE = "Tệp gửi lên không phải ảnh đọc được (JPEG, PNG hoặc WebP)."
UNSUPPORTED = "Định dạng ảnh chưa hỗ trợ; vui lòng gửi ảnh JPEG, PNG hoặc WebP."
TOO_MANY_PIXELS = "Ảnh có kích thước (số điểm ảnh) quá lớn; vui lòng gửi ảnh chụp thông thường."


def check_photo(data: bytes, max_bytes: int) -> CheckedPhoto:
    """The upload as a photo we keep, or PhotoRefused (Vietnamese) — never another exception:
    whatever Pillow raises on a hostile or broken file is a refusal.

    Pillow's ``verify()`` must come directly after ``open()`` (on a PNG, reading the EXIF loads
    the image first, and ``verify()`` then raises RuntimeError), and the image cannot be used
    after it: the file is opened once to check it and once more to read the EXIF GPS block.
    More pixels than Pillow's decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``, ~89 MP)
    are refused before anything is decoded: a 31 KB PNG can declare 16000 x 16000 pixels."""
    from PIL import Image

    if not data:
        raise PhotoRefused("Tệp ảnh trống.")
    if len(data) > max_bytes:
        raise PhotoRefused(f"Ảnh lớn hơn {max_bytes // (1024 * 1024)} MB.")
    limit = Image.MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, (width, height) = image.format or "", image.size
            if fmt not in ACCEPTED_FORMATS:
                raise PhotoRefused(UNSUPPORTED)
            if limit and width * height > limit:
                raise PhotoRefused(TOO_MANY_PIXELS)
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            # A PNG's eXIf chunk after the pixels is only read by decoding the whole image (in
            # the event loop): only one ahead of the pixels is used.
            gps = exif_gps(image) if fmt != "PNG" or "exif" in image.info else None
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRefused(TOO_MANY_PIXELS) from None
    except Exception:  # UnidentifiedImageError, OSError, SyntaxError, struct.error, ...: hostile or broken
        raise PhotoRefused(UNREADABLE) from None
    return CheckedPhoto(data, ACCEPTED_FORMATS[fmt], gps)
