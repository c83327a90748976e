"""Telling the therapist what a partner answered, by e-mail through the outbox.

The partner's answer (accepted, declined with a reason, the client seen, a note — often a
precaution: "avoid deep work on the neck for two weeks") is shown on the referral, the client's
page and the dashboard; the member who sent the referral is also e-mailed, unless they turned it
off (Member.notify_answers). The subject names no client; the body names the client by first
name only, with the partner's words and a link to the referral.
"""

from __future__ import annotations

from django.urls import reverse

from referwell.accounts.models import Member
from referwell.core.mail import queue_email
from referwell.referrals.models import Referral

ACTION_WORDS = {
    "received": "has received your referral",
    "accept": "accepted your referral",
    "decline": "declined your referral",
    "seen": "has seen your client",
    "note": "sent you a note about your referral",
}


def partner_answered(*, referral: Referral, action: str, note: str, base_url: str) -> bool:
    """Queue the e-mail to the member who sent the referral; False when nobody is told (no
    sender, they left the practice, or they turned the e-mails off)."""
    sender = referral.created_by
    if sender is None or not sender.email:
        return False
    member = Member.objects.filter(
        practice=referral.practice, user=sender, is_active=True, accepted_at__isnull=False
    ).first()
    if member is None or not member.notify_answers:
        return False
    who = referral.partner.name if referral.partner else "The partner"
    what = ACTION_WORDS.get(action, "answered your referral")
    url = base_url.rstrip("/") + reverse("referral_detail", args=[referral.pk])
    lines = [
        f"{who} {what} for {referral.client.first_name}.",
        "",
    ]
    if note:
        lines += [f"Their words: “{note}”", ""]
    lines += [
        f"Open the referral: {url}",
        "",
        "(You get these e-mails because you sent this referral. Turn them off under "
        "Notifications in Referwell.)",
    ]
    queue_email(f"{who} {what}", "\n".join(lines), [sender.email])
    return True
