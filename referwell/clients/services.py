from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from referwell.accounts.models import Practice, User
from referwell.audit.services import log_action
from referwell.clients.models import Client, Consent, Visit


def _check_sources(client: Client) -> None:
    """A client's source partner or client must belong to the same practice."""
    for attr in ("source_partner", "source_client"):
        other = getattr(client, attr)
        if other is not None and other.practice_id != client.practice_id:
            raise ValidationError({attr: "Not found in this practice."})


@transaction.atomic
def client_create(*, practice: Practice, by: User | None, fields: dict[str, Any]) -> Client:
    client = Client(practice=practice, **fields)
    _check_sources(client)
    client.full_clean(exclude=["practice"])
    client.save()
    log_action(practice=practice, actor=by, action="referwell.client.created", obj=client)
    if client.source_partner or client.source_client or client.source_name:
        referral_in_record(client=client, by=by)
    return client


def referral_in_record(*, client: Client, by: User | None, reasons: str = "") -> Any:
    """A new client someone sent us: a referral in, which the thank-you and reports follow."""
    from referwell.referrals.models import Direction
    from referwell.referrals.services import referral_create

    who = client.source_partner or client.source_client or client.source_name
    return referral_create(
        practice=client.practice,
        by=by,
        fields={
            "direction": Direction.IN,
            "client": client,
            "partner": client.source_partner,
            "referrer_client": client.source_client,
            "referrer_name": client.source_name,
            "reasons": reasons or f"New client referred by {who}.",
        },
    )


@transaction.atomic
def client_update(*, client: Client, by: User | None, fields: dict[str, Any]) -> Client:
    changed = sorted(k for k, v in fields.items() if getattr(client, k) != v)
    for key, value in fields.items():
        setattr(client, key, value)
    _check_sources(client)
    client.full_clean(exclude=["practice"])
    client.save()
    log_action(
        practice=client.practice,
        actor=by,
        action="referwell.client.changed",
        obj=client,
        data={"fields": changed},
    )
    return client


@transaction.atomic
def visit_create(
    *,
    client: Client,
    by: User | None,
    date: dt.date,
    service: str,
    fee: Decimal | int | float = 0,
    notes: str = "",
    payer: str = "client",
) -> Visit:
    visit = Visit(
        practice=client.practice,
        client=client,
        date=date,
        service=service,
        fee=Decimal(str(fee)),
        payer=payer,
        notes=notes,
    )
    visit.full_clean(exclude=["practice", "client"])
    visit.save()
    if client.first_seen is None or date < client.first_seen:
        client.first_seen = date
        client.save(update_fields=["first_seen", "updated_at"])
    log_action(
        practice=client.practice,
        actor=by,
        action="referwell.visit.created",
        obj=visit,
        data={"client": client.pk},
    )
    return visit


@transaction.atomic
def consent_create(*, client: Client, by: User | None, fields: dict[str, Any]) -> Consent:
    consent = Consent(practice=client.practice, client=client, **fields)
    if consent.partner is not None and consent.partner.practice_id != client.practice_id:
        raise ValidationError({"partner": "Not found in this practice."})
    consent.full_clean(exclude=["practice", "client"])
    consent.save()
    log_action(
        practice=client.practice,
        actor=by,
        action="referwell.consent.recorded",
        obj=consent,
        data={"client": client.pk, "scope": consent.scope},
    )
    return consent


@transaction.atomic
def consent_revoke(*, consent: Consent, by: User | None) -> Consent:
    if consent.revoked_at is None:
        consent.revoked_at = timezone.now()
        consent.save(update_fields=["revoked_at", "updated_at"])
        log_action(
            practice=consent.practice,
            actor=by,
            action="referwell.consent.revoked",
            obj=consent,
            data={"client": consent.client_id},
        )
    return consent
