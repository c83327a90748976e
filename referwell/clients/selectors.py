from __future__ import annotations

import datetime as dt

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Max, Model, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from referwell.accounts.models import Practice
from referwell.audit.models import Disclosure
from referwell.clients.models import Client, Consent, Visit, hash_consent_token
from referwell.directory.models import Partner


def client_list(*, practice: Practice, q: str = "", stream: str = "") -> QuerySet[Client]:
    qs = (
        Client.objects.for_practice(practice)
        .select_related("source_partner", "source_client")
        .annotate(visit_count=Count("visits", distinct=True), last_visit=Max("visits__date"))
    )
    if q:
        qs = qs.filter(
            Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(email__icontains=q)
            | Q(phone__icontains=q)
        )
    if stream:
        qs = qs.filter(stream=stream)
    return qs.order_by("last_name", "first_name")


def client_get(*, practice: Practice, pk: int | str) -> Client:
    try:
        return (
            Client.objects.for_practice(practice)
            .select_related("source_partner", "source_client")
            .get(pk=int(pk))
        )
    except (Client.DoesNotExist, ValueError, TypeError):
        raise Http404("No such client.") from None


def visit_list(*, practice: Practice, client: Client) -> QuerySet[Visit]:
    return Visit.objects.for_practice(practice).filter(client=client)


# The signed form (a PDF or a photo, up to megabytes) is read only when it is asked for.
FORM = "signed_form"


def consent_list(*, practice: Practice, client: Client) -> QuerySet[Consent]:
    return (
        Consent.objects.for_practice(practice)
        .filter(client=client)
        .select_related("partner", "profession")
        .defer(FORM)
    )


def consent_get(*, practice: Practice, pk: int | str, with_form: bool = False) -> Consent:
    rows = Consent.objects.for_practice(practice).select_related("client", "partner", "profession")
    try:
        return (rows if with_form else rows.defer(FORM)).get(pk=int(pk))
    except (Consent.DoesNotExist, ValueError, TypeError):
        raise Http404("No such consent.") from None


def consent_for_token(token: str) -> Consent | None:
    """The consent whose client's link this token is (usable or not), or None."""
    if not token or len(token) > 100:
        return None
    return (
        Consent.objects.select_related("client", "practice", "partner", "profession")
        .defer(FORM)
        .filter(link_hash=hash_consent_token(token))
        .first()
    )


def referral_for_consent(*, client: Client, pk: int | str) -> Model:
    """One of the client's referrals (the consent form is filled in from it), or 404.

    A referrals.Referral, which this app (below referrals) does not name."""
    try:
        return (
            client.referrals.select_related("partner", "profession")
            .defer("reasons")
            .get(pk=int(pk))
        )
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404("No such referral.") from None


def consent_covering(
    *,
    client: Client,
    scope: str,
    partner: Partner | None = None,
    profession_slugs: set[str] | None = None,
    on: dt.date | None = None,
) -> Consent | None:
    """An active consent of this client that covers this partner (or its profession) and scope.

    A consent naming the partner covers it; a consent naming only a kind of professional covers
    every partner of that profession.
    """
    on = on or timezone.localdate()
    slugs = set(profession_slugs or ())
    if partner is not None:
        slugs |= {p.slug for p in partner.professions.all()}
    candidates = (
        Consent.objects.for_practice(client.practice)
        .filter(client=client, revoked_at__isnull=True, awaiting_signature=False)
        .defer(FORM)
    )
    for consent in candidates.order_by("-given_on", "-id"):
        if not consent.is_active(on) or not consent.covers_scope(scope):
            continue
        if partner is not None and consent.partner_id == partner.pk:
            return consent
        if consent.partner_id is None and consent.profession_id in slugs:
            return consent
    return None


def disclosure_list(*, practice: Practice, client: Client) -> QuerySet[Disclosure]:
    return (
        Disclosure.objects.for_practice(practice)
        .filter(client=client)
        .select_related("by", "consent")
        .defer(f"consent__{FORM}")
    )
