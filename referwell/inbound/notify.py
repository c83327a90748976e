"""Telling the practice that a referral arrived through its public page, by e-mail through
the outbox: to every active member who sees clinical information and has not turned it off
(Member.notify_inbound). The e-mail names nobody: the request is read in Referwell."""

from __future__ import annotations

from django.urls import reverse

from referwell.accounts.models import Member
from referwell.core.mail import queue_email
from referwell.inbound.models import ReferralRequest


def request_arrived(*, request: ReferralRequest, base_url: str) -> int:
    """Queue one e-mail per member to tell; returns how many."""
    members = (
        Member.objects.filter(
            practice=request.practice,
            is_active=True,
            accepted_at__isnull=False,
            notify_inbound=True,
        )
        .select_related("user")
        .order_by("pk")
    )
    url = base_url.rstrip("/") + reverse("inbound_detail", args=[request.pk])
    told = 0
    for member in members:
        if not member.sees_clinical or not member.user.email:
            continue
        queue_email(
            f"A new referral for {request.practice.name}",
            "A referral arrived through your practice's public referral page.\n\n"
            f"Read it and accept or decline it: {url}\n\n"
            "(Turn these e-mails off under Notifications in Referwell.)",
            [member.user.email],
        )
        told += 1
    return told
