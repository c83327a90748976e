"""Reads of the public registry: the search by profession and distance from a ZIP code.

The registry is global (public data), so nothing here takes a practice — except
`network_npis`, which says which results a practice already has as partners.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.http import Http404

from referwell.accounts.models import Practice
from referwell.core.geo import miles_between, zip_centroid
from referwell.directory.models import Partner
from referwell.guidance import kb
from referwell.registry.models import RegistryEntry

MILES_PER_DEGREE_LATITUDE = 68.7  # the smallest value (at the equator): a box never too small
MAX_MILES = 100
DEFAULT_LIMIT = 50


class SearchError(ValueError):
    """A search that cannot run (unknown profession or ZIP code); one-line message."""


@dataclass(frozen=True)
class RegistryHit:
    entry: RegistryEntry
    distance_miles: float

    def as_json(self) -> dict[str, object]:
        e = self.entry
        return {
            "npi": e.npi,
            "name": e.name,
            "profession": e.profession,
            "taxonomy": e.taxonomy,
            "city": e.city,
            "state": e.state,
            "distance_miles": self.distance_miles,
        }


def registry_professions() -> dict[str, str]:
    """slug → name of the knowledge base's professions that have NUCC codes (searchable)."""
    return {
        slug: p.name
        for slug, p in sorted(kb.load().professions.items(), key=lambda item: item[1].name)
        if p.is_provider and p.nucc
    }


def registry_search(
    *, profession: str, zip_code: str, miles: float, limit: int = DEFAULT_LIMIT
) -> list[RegistryHit]:
    """Active entries of a profession within `miles` of a ZIP code's centroid, nearest first.

    A bounding box in SQL (the (profession, latitude) index, then longitude), then the exact
    great-circle distance in Python on the few rows inside the box."""
    if profession not in registry_professions():
        raise SearchError(f"'{profession}' is not a profession of the registry.")
    origin = zip_centroid(zip_code)
    if origin is None:
        raise SearchError(f"'{zip_code}' is not a US ZIP code we know.")
    if not 0 < miles <= MAX_MILES:
        raise SearchError(f"The distance must be more than 0 and at most {MAX_MILES} miles.")
    lat, lon = origin
    dlat = miles / MILES_PER_DEGREE_LATITUDE
    # A degree of longitude is shortest at the box's edge farthest from the equator.
    widest = min(89.0, abs(lat) + dlat)
    dlon = miles / (MILES_PER_DEGREE_LATITUDE * math.cos(math.radians(widest)))
    candidates = RegistryEntry.objects.active().filter(
        profession=profession,
        latitude__range=(lat - dlat, lat + dlat),
        longitude__range=(lon - dlon, lon + dlon),
    )
    hits = []
    for entry in candidates:
        if entry.latitude is None or entry.longitude is None:
            continue  # (the box above leaves them out)
        distance = miles_between(origin, (entry.latitude, entry.longitude))
        if distance <= miles:
            hits.append(RegistryHit(entry, round(distance, 1)))
    hits.sort(key=lambda hit: (hit.distance_miles, hit.entry.name, hit.entry.npi))
    return hits[:limit]


def network_npis(*, practice: Practice, npis: list[str]) -> dict[str, int]:
    """NPI → partner id, for the NPIs already in the practice's network."""
    rows = Partner.objects.for_practice(practice).filter(npi__in=npis).values_list("npi", "pk")
    return dict(rows)


def registry_entry_get(*, npi: str) -> RegistryEntry:
    """One active entry by NPI, or 404."""
    # The primary key is the NPI as a number (the one index by NPI).
    entry = None
    if len(npi) == 10 and npi.isascii() and npi.isdigit():
        entry = RegistryEntry.objects.active().filter(pk=int(npi), npi=npi).first()
    if entry is None:
        raise Http404("No such provider in the registry.")
    return entry


def registry_has_entries() -> bool:
    """False until the first import."""
    return RegistryEntry.objects.exists()
