from collections.abc import Mapping
from urllib.parse import urlencode

from django import template
from django.urls import reverse

from referwell.clients.models import Client
from referwell.guidance.engine import Suggestion
from referwell.guidance.ranking import RankedPartner

register = template.Library()


@register.simple_tag
def draft_referral_url(
    client: Client, suggestion: Suggestion, partner: RankedPartner | None = None
) -> str:
    """The "New referral" form, filled in from a suggestion (and a ranked partner)."""
    params: dict[str, str | int] = {"client": client.pk, "profession": suggestion.profession}
    # What a professional reads in the letter: the findings in plain words, no matching trace.
    params["reasons"] = suggestion.clinical
    if partner is not None:
        params["partner"] = partner.partner_id
    return reverse("referral_create") + "?" + urlencode(params)


@register.filter
def percent(value: float) -> int:
    return round(value * 100)


@register.filter
def get_item(mapping: Mapping[str, object], key: str) -> object:
    return mapping.get(key, [])
