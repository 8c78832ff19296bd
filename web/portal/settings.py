"""``[portal]`` settings: the public portal's map, form limits and privacy rounding."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PortalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    # Map tiles ({s},{z},{x},{y} as Leaflet expects); the CSP allows this host for images.
    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = "© OpenStreetMap"
    # Where the map opens (Huế) and how many days resolved reports stay on it.
    map_center: tuple[float, float] = (16.4637, 107.5909)
    map_zoom: int = Field(13, ge=1, le=19)
    map_resolved_days: int = Field(30, ge=0)
    # Public coordinates are rounded to this many decimals (3 ≈ 110 m).
    coordinate_decimals: int = Field(3, ge=1, le=5)
    # The report form: photos per report and bytes per photo; submissions per client per hour.
    max_photos: int = Field(5, ge=0, le=20)
    max_photo_bytes: int = Field(10 * 1024 * 1024, gt=0)
    form_per_hour: int = Field(10, ge=1)
    # Open data: rows per JSON/CSV/Atom answer at most.
    export_limit: int = Field(5000, ge=1, le=100_000)
    # Seconds the agency statistics and home counts are cached.
    stats_cache_seconds: float = Field(30.0, ge=0)
    # Blur faces and number plates in public photos (OpenCV Haar cascades).
    blur_photos: bool = True
