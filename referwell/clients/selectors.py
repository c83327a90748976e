from __future__ import annotations

from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404

from referwell.accounts.models import Practice
from referwell.clients.models import Client, Consent, Visit


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


def consent_list(*, practice: Practice, client: Client) -> QuerySet[Consent]:
    return (
        Consent.objects.for_practice(practice)
        .filter(client=client)
        .select_related("partner", "profession")
    )


def consent_get(*, practice: Practice, pk: int | str) -> Consent:
    try:
        return Consent.objects.for_practice(practice).select_related("client").get(pk=int(pk))
    except (Consent.DoesNotExist, ValueError, TypeError):
        raise Http404("No such consent.") from None
