"""Writes that start from the registry: adding a registry entry to a practice's network."""

from __future__ import annotations

from django.db import transaction

from referwell.accounts.models import Practice, User
from referwell.core.geo import zip_centroid
from referwell.directory.models import HowMet, Partner, Profession, Stage
from referwell.directory.services import partner_create
from referwell.registry.models import EntityType, RegistryEntry


@transaction.atomic
def registry_entry_add_to_network(
    *, practice: Practice, by: User | None, entry: RegistryEntry
) -> tuple[Partner, bool]:
    """The entry as a prospect of the practice (met through the registry), or the partner
    with the same NPI it already has. Returns (partner, created)."""
    existing = Partner.objects.for_practice(practice).filter(npi=entry.npi).order_by("pk").first()
    if existing is not None:
        return existing, False
    is_organisation = entry.entity_type == EntityType.ORGANISATION
    fields = {
        "name": entry.name[:200],
        "credentials": entry.credentials[:100],
        "clinic": entry.name[:200] if is_organisation else "",
        "street": entry.address[:200],
        "city": entry.city.title()[:100],
        "state": entry.state[:2],
        "zip_code": entry.zip_code if zip_centroid(entry.zip_code) else "",
        "phone": entry.phone,
        "npi": entry.npi,
        "stage": Stage.PROSPECT,
        "how_met": HowMet.REGISTRY,
        "how_met_detail": f"NPPES registry, taxonomy {entry.taxonomy}",
    }
    professions = Profession.objects.filter(slug=entry.profession)
    partner = partner_create(practice=practice, by=by, fields=fields, professions=professions)
    return partner, True
