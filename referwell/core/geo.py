"""Offline geocoding of US ZIP codes from the `zipcodes` package's centroids."""

from __future__ import annotations

import math
import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import zipcodes

if TYPE_CHECKING:
    import polars as pl


@cache
def _index() -> dict[str, tuple[float, float, str, str]]:
    return {
        z["zip_code"]: (float(z["lat"]), float(z["long"]), z["city"], z["state"])
        # zipcodes' list_all has no annotations (its _zipcodes extension has them).
        for z in zipcodes.list_all()  # type: ignore[no-untyped-call]
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


@cache
def zip_table() -> tuple[pl.Series, pl.Series]:
    """Latitude and longitude by five-digit ZIP code as a number (0–99999; null where no
    ZIP code), for vectorised lookups. Kept in VAR_DIR/cache as an Arrow file: reading it
    takes milliseconds, building it from the `zipcodes` package half a second."""
    import polars as pl
    from django.conf import settings

    cached = Path(settings.VAR_DIR) / "cache" / f"zip-centroids-{zipcodes.__version__}.arrow"
    try:
        table = pl.read_ipc(cached)
    except (OSError, pl.exceptions.PolarsError):
        latitudes: list[float | None] = [None] * 100_000
        longitudes: list[float | None] = [None] * 100_000
        for code, (lat, lon, _city, _state) in _index().items():
            if len(code) == 5 and code.isdigit():
                latitudes[int(code)], longitudes[int(code)] = lat, lon
        table = pl.DataFrame(
            {"latitude": latitudes, "longitude": longitudes},
            schema={"latitude": pl.Float64, "longitude": pl.Float64},
        )
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            table.write_ipc(partial)
            partial.replace(cached)
        except OSError:
            pass  # a read-only VAR_DIR: built again next time
    return table.get_column("latitude"), table.get_column("longitude")
