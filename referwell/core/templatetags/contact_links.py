"""Phone numbers and e-mail addresses as links a phone acts on: a tap calls, a tap writes.

    {% load contact_links %}
    {{ partner.phone|phone_link|default:"—" }}   <a href="tel:+14145550101">(414) 555-0101</a>
    {{ partner.email|email_link|default:"—" }}   <a href="mailto:dana@spine.example">dana@…</a>

The number is shown as it was typed; the link carries it in E.164 (referwell.core.phones),
with its extension (RFC 3966 `;ext=`). Text that cannot be a phone number is shown, not linked.
"""

from __future__ import annotations

import re

import phonenumbers
from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from referwell.core.phones import DEFAULT_REGION, phone_key

register = template.Library()


def tel_uri(raw: str) -> str:
    """ "tel:+14145550101" (";ext=12" when it has one), or "" when it is no phone number."""
    key = phone_key(raw or "")
    if not key:
        return ""
    text = re.sub(r"^tel:", "", raw.strip(), flags=re.IGNORECASE)
    extension = phonenumbers.parse(text, DEFAULT_REGION).extension  # phone_key parsed it
    return f"tel:{key};ext={extension}" if extension else f"tel:{key}"


@register.filter
def tel_href(raw: str) -> str:
    return tel_uri(raw)


@register.filter
def phone_link(raw: str) -> SafeString:
    """The number as typed, linked to call it; only the text when it cannot be called."""
    text = (raw or "").strip()
    if not text:
        return SafeString("")
    uri = tel_uri(text)
    if not uri:
        return format_html("{}", text)
    return format_html('<a href="{}">{}</a>', uri, text)


@register.filter
def email_link(raw: str) -> SafeString:
    """The address linked to write to it."""
    text = (raw or "").strip()
    if not text:
        return SafeString("")
    return format_html('<a href="mailto:{}">{}</a>', text, text)
