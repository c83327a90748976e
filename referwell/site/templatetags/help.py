"""`{% load help %}{% help_link %}`: the link to the part of the help page about this page."""

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from referwell.site.help import topic_for

register = template.Library()


@register.simple_tag(takes_context=True)
def help_link(context: template.Context) -> SafeString:
    """The Help link for the page being rendered, to its topic (the guide's top when it has
    none). Nothing for a visitor who is not logged in: the help is for members."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return SafeString("")
    match = getattr(request, "resolver_match", None)
    topic = topic_for(match.url_name if match is not None else None)
    return format_html(
        '<a class="help-link" href="{}#{}">Help'
        '<span class="visually-hidden"> with this page</span></a>',
        reverse("help"),
        topic,
    )
