"""The outbox's worker side: an e-mail written to the outbox is sent here, by a task, outside
the transaction (and the database lock) of the request that wrote it.

    message_send (outreach/services.py)   writes the message as *queued* and enqueues
                                          `deliver_message` in the same transaction
    `referwell worker` (db_worker)        runs the task: claims the message (queued → sending,
                                          one conditional UPDATE: two workers never both send
                                          it), renders the PDF, talks to the mail server
                                          (EMAIL_TIMEOUT), and marks it sent — or queued again
                                          with a back-off (OUTBOX_RETRY_MINUTES), or failed.

A message is e-mailed at most once by this path: whoever's UPDATE moved it from *queued* owns
it. A worker that dies mid-send leaves it *sending*; the Outbox page shows it, and a person
decides to retry (the mail server may have taken it).
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from referwell.accounts.models import Practice, User
from referwell.audit.services import log_action
from referwell.outreach.letters import RenderedLetter, letter_pdf
from referwell.outreach.models import OutgoingMessage

log = logging.getLogger(__name__)
Status = OutgoingMessage.Status
# A link the letter gives (the partner's secure page): printed as a QR code on paper too.
LINK = re.compile(r"https?://\S+")


def _claim(message_id: int) -> bool:
    return (
        OutgoingMessage.objects.filter(pk=message_id, status=Status.QUEUED).update(
            status=Status.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now()
        )
        == 1
    )


def letterhead(practice: Practice) -> dict[str, str]:
    return {
        "name": practice.name,
        "address": practice.address,
        "phone": practice.phone,
        "email": practice.email,
    }


def message_pdf(message: OutgoingMessage) -> bytes:
    """The letter of a message as the PDF that was (or will be) attached."""
    link = LINK.search(message.body)
    return letter_pdf(
        letter=RenderedLetter(subject=message.subject, body=message.body),
        letterhead=letterhead(message.practice) | {"date": message.created_at.date()},
        paper=message.practice.paper_size,
        qr=link.group(0).rstrip(".,;)") if link else "",
    )


def _email(message: OutgoingMessage) -> EmailMessage:
    practice = message.practice
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        to=[message.to_email],
        reply_to=[practice.email] if practice.email else None,
    )
    email.attach(message.attachment_name or "letter.pdf", message_pdf(message), "application/pdf")
    return email


@task()
def deliver_message(message_id: int) -> str:
    """Send one queued message. Returns what happened ("sent", "retry", "failed", "skipped")."""
    if not _claim(message_id):
        return "skipped"  # sent, being sent, failed or gone: someone else owns it
    message = OutgoingMessage.objects.select_related("practice").get(pk=message_id)
    try:
        _email(message).send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - any failure of the mail server is retried
        return _failed(message, exc)
    message.status = Status.SENT
    message.sent_at = timezone.now()
    message.error = ""
    message.save(update_fields=["status", "sent_at", "error", "updated_at"])
    log_action(
        practice=message.practice,
        actor=None,
        action="referwell.message.delivered",
        obj=message,
        data={"kind": message.kind, "attempt": message.attempts},
    )
    return "sent"


def _failed(message: OutgoingMessage, exc: Exception) -> str:
    reason = f"{type(exc).__name__}: {exc}"[:500]
    delays = settings.OUTBOX_RETRY_MINUTES
    message.error = reason
    if message.attempts <= len(delays):
        message.status = Status.QUEUED
        message.save(update_fields=["status", "error", "updated_at"])
        later = timezone.now() + dt.timedelta(minutes=delays[message.attempts - 1])
        again = deliver_message
        if again.get_backend().supports_defer:  # the database queue; the test backend runs now
            again = again.using(run_after=later)
        again.enqueue(message.pk)
        log.warning("outbox: message %s not sent (%s); retry at %s", message.pk, reason, later)
        return "retry"
    message.status = Status.FAILED
    message.save(update_fields=["status", "error", "updated_at"])
    log_action(
        practice=message.practice,
        actor=None,
        action="referwell.message.failed",
        obj=message,
        data={"kind": message.kind, "attempts": message.attempts},
    )
    log.error(
        "outbox: message %s failed after %s attempts (%s)", message.pk, message.attempts, reason
    )
    return "failed"


def message_retry(*, message: OutgoingMessage, by: User | None) -> OutgoingMessage:
    """A person sends a failed (or stuck) message again."""
    if message.status not in (Status.FAILED, Status.SENDING):
        raise ValueError("Only a failed message, or one stuck while sending, is sent again.")
    with transaction.atomic():
        OutgoingMessage.objects.filter(pk=message.pk).update(
            status=Status.QUEUED, attempts=0, error="", updated_at=timezone.now()
        )
        log_action(
            practice=message.practice,
            actor=by,
            action="referwell.message.retried",
            obj=message,
            data={"kind": message.kind},
        )
        deliver_message.enqueue(message.pk)
    message.refresh_from_db()
    return message
