"""Photos citizens send through the form, and the copies the public sees.

Upload checks: an image Pillow can read (JPEG, a multi-picture JPEG "MPO" as image/jpeg, PNG,
WebP), within the size limit and Pillow's decompression-bomb pixel limit; its EXIF GPS position
is read when no pin was given. Public copies: decoded (EXIF orientation applied), at
most 1600 px, faces and number plates blurred with OpenCV's bundled Haar cascades (no model
download), re-encoded as JPEG without any metadata (no EXIF, no GPS), cached under
``media_dir/public/``. The center hides a photo the detector missed (store.public_reports).
"""
from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from store.files import media_path

# The upload check lives in store.photos (the channels' layer may use it too); its names are
# kept here for the portal.
from store.photos import (  # noqa: F401
    ACCEPTED_FORMATS,
    TOO_MANY_PIXELS,
    UNREADABLE,
    UNSUPPORTED,
    CheckedPhoto,
    PhotoRefused,
    check_photo,
    exif_gps,
)

MAX_EDGE = 1600
PUBLIC_VERSION = "v2"  # bump when the processing changes: old cached copies are not reused


_PER_THREAD = threading.local()


def _cascades() -> tuple[Any, ...]:
    """The cascades of this thread. A CascadeClassifier is not thread-safe: public copies are
    made in the executor's threads, and two photos of one page blurred at once through shared
    classifiers failed inside OpenCV (vector::_M_range_check)."""
    cascades = getattr(_PER_THREAD, "cascades", None)
    if cascades is None:
        import cv2

        base = Path(cv2.data.haarcascades)
        names = ("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml",
                 "haarcascade_russian_plate_number.xml")
        cascades = _PER_THREAD.cascades = tuple(cv2.CascadeClassifier(str(base / n))
                                                for n in names)
    return cascades


# (cascade index, minNeighbors, smallest side in px). Measured on public-domain portraits
# (tests/fixtures/portal/): the frontal cascade finds a frontal face at 1 (equalised or not);
# the profile cascade is trained on faces turned one way only (the viewer's left), so a face
# turned the other way is found only in the mirrored image; histogram equalisation hid a
# profile that the plain grey image shows and added false hits on textures (gravel, grass).
_FACE_PASSES = ((0, 5, 24), (1, 5, 20))
_PLATE_PASS = (2, 4, 20)
# Faces smaller than this (px, in the public copy) are also looked for on the image enlarged
# twice: the cascades' windows start at 20-24 px and miss a profile of ~25-40 px that the
# enlarged image shows. There a real face gathers 17-43 neighbouring hits and gravel or
# asphalt texture up to 12, hence the higher bar. Only for small photos (a messenger's
# thumbnail): on a 1600 px photo the enlarged passes took ~50 s on the shared 2-core machine.
SMALL_FACE = 64
SMALL_NEIGHBOURS = 15
ENLARGE_UP_TO = 800  # longer edge, px
SCALE_FACTOR = 1.1


def _detect(cascade: Any, gray: Any, neighbours: int, smallest: int, largest: int = 0,
            mirrored: bool = False) -> list[tuple[int, int, int, int]]:
    import cv2

    image = cv2.flip(gray, 1) if mirrored else gray
    found = cascade.detectMultiScale(image, scaleFactor=SCALE_FACTOR, minNeighbors=neighbours,
                                     minSize=(smallest, smallest),
                                     maxSize=(largest, largest) if largest else (0, 0))
    width = gray.shape[1]
    return [(width - int(x) - int(w) if mirrored else int(x), int(y), int(w), int(h))
            for x, y, w, h in found]


def _merge(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """One box for each group of boxes that overlap by more than half of the smaller one (the
    same face seen by two passes), as their union."""
    merged: list[list[int]] = []
    for x, y, w, h in sorted(boxes, key=lambda b: -b[2] * b[3]):
        for m in merged:
            ix = min(x + w, m[0] + m[2]) - max(x, m[0])
            iy = min(y + h, m[1] + m[3]) - max(y, m[1])
            if ix > 0 and iy > 0 and ix * iy > 0.5 * min(w * h, m[2] * m[3]):
                x0, y0 = min(x, m[0]), min(y, m[1])
                m[:] = [x0, y0, max(x + w, m[0] + m[2]) - x0, max(y + h, m[1] + m[3]) - y0]
                break
        else:
            merged.append([x, y, w, h])
    return [(m[0], m[1], m[2], m[3]) for m in merged]


def detect_regions(gray: Any) -> list[tuple[int, int, int, int]]:
    """Faces (frontal, profile turned either way) and number plates as (x, y, w, h), in the
    plain (not equalised) grey image; in a small photo, small faces also on the image
    enlarged twice."""
    import cv2

    cascades = _cascades()
    found: list[tuple[int, int, int, int]] = []
    enlarged = (cv2.resize(gray, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
                if max(gray.shape) <= ENLARGE_UP_TO else None)
    for index, neighbours, smallest in _FACE_PASSES:
        mirrors = (False, True) if index == 1 else (False,)
        for mirrored in mirrors:
            found += _detect(cascades[index], gray, neighbours, smallest, mirrored=mirrored)
            if enlarged is not None:
                found += [(x // 2, y // 2, (w + 1) // 2, (h + 1) // 2) for x, y, w, h in
                          _detect(cascades[index], enlarged, SMALL_NEIGHBOURS, smallest,
                                  largest=2 * SMALL_FACE, mirrored=mirrored)]
    index, neighbours, smallest = _PLATE_PASS
    found += _detect(cascades[index], cv2.equalizeHist(gray), neighbours, smallest)
    return _merge(found)


def public_copy_bytes(data: bytes, blur: bool = True) -> tuple[bytes, int]:
    """The public JPEG of a stored photo and how many regions were blurred."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)  # applies EXIF rotation
    if image is None:
        raise PhotoRefused("ảnh không đọc được")
    height, width = image.shape[:2]
    scale = min(1.0, MAX_EDGE / max(height, width))
    if scale < 1.0:
        image = cv2.resize(image, (int(width * scale), int(height * scale)), interpolation=cv2.INTER_AREA)
    blurred = 0
    if blur:
        for x, y, w, h in detect_regions(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)):
            pad = int(0.15 * max(w, h))
            x0, y0 = max(0, x - pad), max(0, y - pad)
            x1, y1 = min(image.shape[1], x + w + pad), min(image.shape[0], y + h + pad)
            region = image[y0:y1, x0:x1]
            k = max(15, (max(x1 - x0, y1 - y0) // 3) | 1)
            image[y0:y1, x0:x1] = cv2.GaussianBlur(region, (k, k), 0)
            blurred += 1
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise PhotoRefused("ảnh không mã hóa được")
    return encoded.tobytes(), blurred


def public_copy(media_dir: Path, sha256: str, blur: bool = True) -> Path:
    """The cached public copy of stored photo ``sha256`` (made on first use, atomically)."""
    target = media_dir / "public" / f"{sha256}-{PUBLIC_VERSION}{'' if blur else '-raw'}.jpg"
    if target.exists():
        return target
    source = media_path(media_dir, sha256)
    data, _ = public_copy_bytes(source.read_bytes(), blur)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)
    return target
