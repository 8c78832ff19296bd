"""Public photos: faces and number plates are blurred in the copy the public sees (OpenCV's
bundled cascades); the original stays as the citizen sent it. Faces are tried on real,
public-domain photographs of people (tests/fixtures/portal/SOURCES.md), a plate on a drawn one."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "portal"
# (file, the face as marked by hand on the 512 x 512 photo, a region far from it), x, y, w, h.
PORTRAITS = {
    # NASA portrait of Eileen Collins: a frontal face, flag and shuttle model behind her.
    "astronaut.jpg": ((185, 80, 75, 85), (10, 260, 60, 120)),
    # A man outdoors at a tripod, his face in profile turned to the viewer's right.
    "cameraman.jpg": ((190, 110, 60, 80), (340, 300, 150, 150)),
}

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


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over the smaller box's area."""
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0, ix) * max(0, iy) / min(a[2] * a[3], b[2] * b[3])


@pytest.mark.parametrize("name", sorted(PORTRAITS))
def test_the_detector_finds_the_real_face(name: str) -> None:
    import cv2

    from web.portal.photos import detect_regions

    face, _ = PORTRAITS[name]
    data = (FIXTURES / name).read_bytes()
    gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    found = detect_regions(gray)
    assert any(overlap(face, box) > 0.8 for box in found), found
    # a box about the size of a face, not the whole picture
    hit = max(found, key=lambda box: overlap(face, box))
    assert hit[2] * hit[3] < 4 * face[2] * face[3]


@pytest.mark.parametrize("name", sorted(PORTRAITS))
def test_a_real_face_is_blurred_and_the_rest_kept(name: str) -> None:
    from web.portal.photos import public_copy_bytes

    face, away = PORTRAITS[name]
    original = (FIXTURES / name).read_bytes()
    public, blurred = public_copy_bytes(original)
    assert blurred >= 1
    assert sharpness(original, face) > 20 * sharpness(public, face)
    # Away from the face the public copy is the unblurred copy (the same decoding and JPEG
    # re-encoding, which alone softens fine texture a little) give or take a few per cent.
    unblurred, none = public_copy_bytes(original, blur=False)
    assert none == 0 and sharpness(unblurred, face) > 20 * sharpness(public, face)
    assert abs(sharpness(unblurred, away) - sharpness(public, away)) < 0.05 * sharpness(unblurred, away)


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

    plate, portrait = plate_photo(), (FIXTURES / "cameraman.jpg").read_bytes()
    code = await seed_report(portal, photos=[plate, portrait])
    sha = hashlib.sha256(plate).hexdigest()
    served = await (await portal.get(f"/r/{code}/photos/{sha}.jpg")).read()
    assert sharpness(plate, PLATE) > 10 * sharpness(served, PLATE)
    face, away = PORTRAITS["cameraman.jpg"]
    resp = await portal.get(f"/r/{code}/photos/{hashlib.sha256(portrait).hexdigest()}.jpg")
    assert resp.status == 200 and resp.content_type == "image/jpeg"
    served = await resp.read()
    assert sharpness(portrait, face) > 20 * sharpness(served, face)
    assert sharpness(served, away) > 0.5 * sharpness(portrait, away)


def test_photos_blurred_in_several_threads_at_once_come_out_as_one_at_a_time() -> None:
    """The portal makes public copies in executor threads: a page's photos at once. OpenCV's
    cascade classifiers are not thread-safe (shared, they failed with vector::_M_range_check
    in the browser test), so each thread has its own."""
    from concurrent.futures import ThreadPoolExecutor

    from web.portal.photos import public_copy_bytes

    photos = [(FIXTURES / name).read_bytes() for name in ("astronaut.jpg", "cameraman.jpg")] * 4
    alone = [public_copy_bytes(p) for p in photos[:2]]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(public_copy_bytes, photos))
    assert [n for _, n in together] == [n for _, n in alone] * 4
    assert [hashlib.sha256(d).hexdigest() for d, _ in together] == [
        hashlib.sha256(d).hexdigest() for d, _ in alone] * 4
