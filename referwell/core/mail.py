"""E-mail that belongs to no practice's outbox (an account's password link, an invitation),
sent by the worker like every other message: the request only enqueues it.

The practice's letters and reports go through its outbox (referwell/outreach/delivery.py),
where they are kept, shown and retried by a person; these are sent with a few automatic
retries and otherwise only logged (the person can ask again).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from django_tasks import task

log = logging.getLogger(__name__)


@task()
def send_email(subject: str, body: str, to: list[str], attempt: int = 1) -> str:
    try:
        EmailMessage(subject=subject, body=body, to=to).send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - any failure of the mail server is retried
        delays = settings.OUTBOX_RETRY_MINUTES
        if attempt > len(delays):
            log.error("mail to %s failed after %s attempts: %s", to, attempt, exc)
            return "failed"
        again = send_email
        if again.get_backend().supports_defer:
            later = timezone.now() + dt.timedelta(minutes=delays[attempt - 1])
            again = again.using(run_after=later)
        log.warning("mail to %s not sent (%s); trying again", to, exc)
        again.enqueue(subject, body, to, attempt + 1)
        return "retry"
    return "sent"


def queue_email(subject: str, body: str, to: list[str]) -> None:
    """Enqueue (in the caller's transaction, with the database queue) and return at once."""
    send_email.enqueue(subject, body, list(to))
