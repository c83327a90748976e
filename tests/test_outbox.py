"""The outbox and its worker: a request writes the message and a task row in its transaction
and returns; the worker sends it outside any lock, retries with back-off, and sends each message
once — even when two workers reach it at the same moment."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocMemBackend
from django.core.management import call_command
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from referwell.outreach.delivery import deliver_message
from referwell.outreach.models import OutgoingMessage
from referwell.outreach.services import letter_render, message_send
from referwell.referrals.services import referral_create, referral_transition
from referwell.referrals.states import Status
from tests.test_referral_lifecycle import consent

QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def queue(settings):
    settings.TASKS = QUEUE


@pytest.fixture
def silent_smtp(settings):
    """A mail server that accepts the connection and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.getsockname()[1]
    settings.EMAIL_TIMEOUT = 1
    yield server
    server.close()


def _pending_connections(server: socket.socket) -> int:
    server.setblocking(False)
    n = 0
    while True:
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return n
        conn.close()
        n += 1


@pytest.fixture
def consented(elm_grove, alice, client_alice_jones, partner):
    partner.email = "dana@spine.example"
    partner.save()
    referral = referral_create(
        practice=elm_grove,
        by=alice.user,
        fields={"client": client_alice_jones, "partner": partner, "reasons": "Whiplash, 3 weeks"},
    )
    consent(client_alice_jones, partner)
    referral_transition(referral=referral, to=Status.CONSENTED, by=alice.user)
    return referral


def test_sending_a_referral_never_talks_to_the_mail_server(
    queue, silent_smtp, alice_http, consented
):
    response = alice_http.post(reverse("referral_send", args=[consented.pk]))
    assert response.status_code == 302
    consented.refresh_from_db()
    assert consented.status == Status.SENT
    message = OutgoingMessage.objects.get()
    assert message.status == "queued" and message.attempts == 0
    # The task is a row of the same database, committed with the referral.
    (task,) = DBTaskResult.objects.all()
    assert task.task_path.endswith("deliver_message") and task.status == "READY"
    # The request did not so much as open a connection to the (silent) mail server.
    assert _pending_connections(silent_smtp) == 0
    assert not mail.outbox


# The worker closes its database connections between tasks, as in production.
@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_it_once(queue, settings, alice_http, consented):
    alice_http.post(reverse("referral_send", args=[consented.pk]))
    call_command("worker", batch=True, verbosity=0)
    message = OutgoingMessage.objects.get()
    assert message.status == "sent" and message.sent_at and message.attempts == 1
    (email,) = mail.outbox
    assert email.to == ["dana@spine.example"]
    ((_, content, mimetype),) = email.attachments
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")
    # Running the worker again, or the task again, sends nothing more.
    call_command("worker", batch=True, verbosity=0)
    assert deliver_message.call(message.pk) == "skipped"
    assert len(mail.outbox) == 1


# The worker closes its database connections between tasks, as in production.
@pytest.mark.django_db(transaction=True)
def test_a_silent_mail_server_is_tried_again_later_then_the_message_fails(
    queue, silent_smtp, settings, alice_http, consented
):
    settings.OUTBOX_RETRY_MINUTES = (1,)
    alice_http.post(reverse("referral_send", args=[consented.pk]))
    call_command("worker", batch=True, verbosity=0)
    message = OutgoingMessage.objects.get()
    assert message.status == "queued" and message.attempts == 1
    assert message.plain_error == "The mail server did not answer in time."
    later = DBTaskResult.objects.filter(status="READY").get()
    assert later.run_after > timezone.now()  # not before a minute from now
    # A minute later the worker tries again; with no retries left it is failed, with why.
    DBTaskResult.objects.filter(pk=later.pk).update(
        run_after=timezone.now() - dt.timedelta(seconds=1)
    )
    call_command("worker", batch=True, verbosity=0)
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == 2
    assert not mail.outbox


def test_nothing_is_queued_when_the_change_that_caused_it_is_rolled_back(
    queue, elm_grove, alice, partner
):
    from django.db import transaction

    partner.email = "dana@spine.example"
    partner.save()
    letter = letter_render(practice=elm_grove, kind="introduction", context={})
    with pytest.raises(RuntimeError), transaction.atomic():
        message_send(
            practice=elm_grove,
            kind="introduction",
            letter=letter,
            to_name=partner.name,
            to_email=partner.email,
            by=alice.user,
            partner=partner,
        )
        raise RuntimeError("the caller failed after queueing")
    assert not OutgoingMessage.objects.exists() and not DBTaskResult.objects.exists()


class SlowBackend(LocMemBackend):
    """A mail server that takes its time: two workers would both be inside send() at once."""

    def send_messages(self, messages):
        import time

        time.sleep(0.3)
        return super().send_messages(messages)


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_a_message_once(settings, elm_grove, alice, partner):
    settings.TASKS = QUEUE
    settings.EMAIL_BACKEND = "tests.test_outbox.SlowBackend"
    partner.email = "dana@spine.example"
    partner.save()
    letter = letter_render(practice=elm_grove, kind="introduction", context={})
    message = message_send(
        practice=elm_grove,
        kind="introduction",
        letter=letter,
        to_name=partner.name,
        to_email=partner.email,
        by=alice.user,
        partner=partner,
    )
    results: list[str] = []
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait()
            # SQLite's in-memory test database (shared cache) answers "table is locked" at
            # once instead of waiting, as a file database does: a worker tries again, as the
            # queue would retry the task.
            for _ in range(20):
                try:
                    results.append(deliver_message.call(message.pk))
                    return
                except OperationalError as exc:
                    if "locked" not in str(exc):
                        raise
                    time.sleep(0.05)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["sent", "skipped"]
    assert len(mail.outbox) == 1
    assert OutgoingMessage.objects.get().status == "sent"


@pytest.fixture
def failed(settings, elm_grove, alice, partner):
    """An introduction the mail server refused (port 9): failed after its retries (the test
    queue runs them at once); the mail server is then back."""
    partner.email = "dana@spine.example"
    partner.save()
    letter = letter_render(practice=elm_grove, kind="introduction", context={})
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    message = message_send(
        practice=elm_grove,
        kind="introduction",
        letter=letter,
        to_name=partner.name,
        to_email=partner.email,
        by=alice.user,
        partner=partner,
    )
    message.refresh_from_db()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return message


def test_the_outbox_shows_what_waits_and_what_failed_and_sends_it_again(alice_http, failed):
    message = failed
    assert message.status == "failed"  # the test queue runs the retries at once
    page = alice_http.get(reverse("outbox")).content.decode()
    assert "1 failed" in page and "refused the connection" in page and "Send again" in page
    response = alice_http.post(reverse("outbox_retry", args=[message.pk]))
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == "sent" and len(mail.outbox) == 1
    # A sent message is not sent again.
    alice_http.post(reverse("outbox_retry", args=[message.pk]))
    assert len(mail.outbox) == 1


def test_front_desk_and_another_practice_cannot_read_or_resend_a_clinical_letter(
    bob_http, charlie_http, failed
):
    message = failed
    OutgoingMessage.objects.filter(pk=message.pk).update(kind="referral")
    assert bob_http.post(reverse("outbox_retry", args=[message.pk])).status_code == 403
    assert bob_http.get(reverse("outbox_pdf", args=[message.pk])).status_code == 403
    assert (
        reverse("outbox_pdf", args=[message.pk])
        not in bob_http.get(reverse("outbox")).content.decode()
    )
    assert charlie_http.post(reverse("outbox_retry", args=[message.pk])).status_code == 404
    assert charlie_http.get(reverse("outbox_pdf", args=[message.pk])).status_code == 404
    message.refresh_from_db()
    assert message.status == "failed" and not mail.outbox


def test_the_front_desk_reads_back_and_resends_what_it_may_send(bob_http, failed):
    """A thank-you or an introduction carries nothing clinical: the front desk, who may send
    it, may read it again and send it again (a referral letter or a report it may not)."""
    message = failed  # an introduction
    assert (
        reverse("outbox_pdf", args=[message.pk]) in bob_http.get(reverse("outbox")).content.decode()
    )
    pdf = bob_http.get(reverse("outbox_pdf", args=[message.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert bob_http.post(reverse("outbox_retry", args=[message.pk])).status_code == 302
    message.refresh_from_db()
    assert message.status == "sent" and len(mail.outbox) == 1
