"""Offline geocoding of US ZIP codes from the `zipcodes` package's centroids."""

from __future__ import annotations

import math
from functools import cache

import zipcodes


@cache
def _index() -> dict[str, tuple[float, float, str, str]]:
    return {
        z["zip_code"]: (float(z["lat"]), float(z["long"]), z["city"], z["state"])
        for z in zipcodes.list_all()
        if z.get("lat") and z.get("long")
    }


def zip_centroid(zip_code: str) -> tuple[float, float] | None:
    """Latitude and longitude of a ZIP code's centroid, or None when unknown."""
    hit = _index().get((zip_code or "").strip()[:5])
    return (hit[0], hit[1]) if hit else None


def zip_place(zip_code: str) -> tuple[str, str] | None:
    """(city, state) of a ZIP code, or None."""
    hit = _index().get((zip_code or "").strip()[:5])
    return (hit[2], hit[3]) if hit else None


def miles_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in miles (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 3958.8 * 2 * math.asin(math.sqrt(h))
