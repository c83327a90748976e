"""A practice's directory and referrals as one FHIR R4 Bundle (type collection)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from referwell.accounts.models import Practice, User
from referwell.audit.services import log_action
from referwell.directory.models import Partner
from referwell.interop.fhir import mapping
from referwell.referrals.models import Referral, ReferralEvent


def _entry(resource: dict[str, Any], ref: mapping.RefFn) -> dict[str, Any]:
    return {"fullUrl": ref(resource["resourceType"], resource["id"]), "resource": resource}


def fhir_export(*, practice: Practice, by: User | None = None) -> dict[str, Any]:
    """Every partner (Practitioner, PractitionerRole, Organization, Location) and referral
    (ServiceRequest, Task) of the practice, with the practice's own Organization. Entries are
    named by stable urn:uuid fullUrls, which the references inside use."""
    ref = mapping.bundle_ref(practice.slug)
    entries = [_entry(mapping.practice_organization(practice), ref)]
    partners = Partner.objects.for_practice(practice).prefetch_related("professions").order_by("pk")
    partner_count = 0
    for partner in partners.iterator(chunk_size=1000):
        partner_count += 1
        professions = [(p.slug, p.name) for p in partner.professions.all()]
        for resource in mapping.partner_resources(
            partner, practice_slug=practice.slug, professions=professions, ref=ref
        ):
            entries.append(_entry(resource, ref))
    referrals = (
        Referral.objects.for_practice(practice)
        .select_related("client", "partner", "profession")
        .prefetch_related(Prefetch("events", queryset=ReferralEvent.objects.order_by("at", "id")))
        .order_by("pk")
    )
    referral_count = 0
    for referral in referrals.iterator(chunk_size=1000):
        referral_count += 1
        for resource in mapping.referral_resources(
            referral, practice=practice, ref=ref, events=referral.events.all()
        ):
            entries.append(_entry(resource, ref))
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": mapping.instant(timezone.now()),
        "entry": entries,
    }
    log_action(
        practice=practice,
        actor=by,
        action="referwell.fhir.exported",
        data={"partners": partner_count, "referrals": referral_count, "resources": len(entries)},
    )
    return bundle


def bundle_for_practice(practice: Practice) -> dict[str, Any]:
    """The practice's FHIR Bundle, for the full export archive."""
    return fhir_export(practice=practice, by=None)
