"""Public photos: number plates (and faces: the same code path, OpenCV's bundled cascades) are
blurred in the copy the public sees; the original stays as the citizen sent it."""
from __future__ import annotations

from typing import Any

import numpy as np

PLATE = (200, 200, 260, 60)  # x, y, w, h


def plate_photo() -> bytes:
    import cv2

    image = np.full((480, 640, 3), 120, np.uint8)
    image[::8, :, :] = 160  # texture outside the plate, which must survive
    x, y, w, h = PLATE
    cv2.rectangle(image, (x, y), (x + w, y + h), (255, 255, 255), -1)
    cv2.rectangle(image, (x, y), (x + w, y + h), (0, 0, 0), 3)
    cv2.putText(image, "A 123 BC 77", (x + 10, y + 45), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 3)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return data.tobytes()


def sharpness(data: bytes, box: tuple[int, int, int, int]) -> float:
    """Variance of the Laplacian inside ``box``: high for printed characters, low when blurred."""
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    x, y, w, h = box
    return float(cv2.Laplacian(image[y:y + h, x:x + w], cv2.CV_64F).var())


def test_a_number_plate_is_blurred_and_the_rest_kept() -> None:
    from web.portal.photos import public_copy_bytes

    original = plate_photo()
    public, blurred = public_copy_bytes(original)
    assert blurred == 1
    assert sharpness(original, PLATE) > 10 * sharpness(public, PLATE)
    away = (20, 20, 120, 120)  # far from the plate: texture unchanged (JPEG aside)
    assert abs(sharpness(original, away) - sharpness(public, away)) < 0.2 * sharpness(original, away)
    unblurred, none = public_copy_bytes(original, blur=False)
    assert none == 0 and sharpness(unblurred, PLATE) > 10 * sharpness(public, PLATE)


async def test_the_served_photo_is_the_blurred_copy(portal: Any) -> None:
    from tests.portal.conftest import seed_report

    original = plate_photo()
    code = await seed_report(portal, photos=[original])
    import hashlib

    sha = hashlib.sha256(original).hexdigest()
    served = await (await portal.get(f"/r/{code}/photos/{sha}.jpg")).read()
    assert sharpness(original, PLATE) > 10 * sharpness(served, PLATE)
