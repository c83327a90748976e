from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from referwell.accounts.http import PracticeRequest
from referwell.audit.services import log_request
from referwell.core.decorators import (
    CLINICAL_ONLY,
    is_clinical,
    owner_required,
    practice_required,
)
from referwell.outreach import services
from referwell.outreach.delivery import message_pdf, message_retry
from referwell.outreach.letters import (
    CLINICAL_KINDS,
    LETTER_KINDS,
    LetterTemplateError,
    render_letter,
)
from referwell.outreach.models import OutgoingMessage

SAMPLE = {
    "practice": {"name": "Your practice", "phone": "262-555-0100", "email": "you@example.com",
                 "address": "1 Main Street"},
    "therapist": {"name": "You"},
    "partner": {"name": "Dr. Sample Partner", "clinic": "Sample Clinic"},
    "client": {"first_name": "Sam", "last_name": "Sample"},
    "referral": {"reasons": "Rear-ended three weeks ago; neck and low-back pain."},
    "report": {"text": "Six sessions; neck rotation much improved.", "visits": 6},
    "referrer": {"name": "Dr. Sample Partner", "is_professional": True},
    "client_agreed_to_be_named": False,
    "link": "https://referwell.example/l/…/",
}  # fmt: skip


@practice_required
def outbox(request: PracticeRequest) -> HttpResponse:
    mine = OutgoingMessage.objects.for_practice(request.practice)
    sent = list(mine.select_related("referral", "partner", "by")[:200])
    for message in sent:  # the front desk reads back what it may send: no clinical letter
        message.readable = request.member.sees_clinical or message.kind not in CLINICAL_KINDS
    Status = OutgoingMessage.Status
    waiting = {
        row["status"]: row["n"]
        for row in mine.filter(status__in=(Status.QUEUED, Status.SENDING, Status.FAILED))
        .values("status")
        .annotate(n=Count("id"))
    }
    return render(
        request,
        "outreach/outbox.html",
        {
            "sent": sent,
            "waiting_n": waiting.get(Status.QUEUED, 0) + waiting.get(Status.SENDING, 0),
            "failed_n": waiting.get(Status.FAILED, 0),
        },
    )


def _readable_message(request: PracticeRequest, pk: int) -> OutgoingMessage:
    """The practice's message, or 404; a letter with clinical text (CLINICAL_KINDS) is the
    clinical roles' to read or send again: the front desk gets 403 (CLINICAL_ONLY)."""
    message = OutgoingMessage.objects.for_practice(request.practice).filter(pk=pk).first()
    if message is None:
        raise Http404("No such message.")
    if message.kind in CLINICAL_KINDS and not is_clinical(request):
        raise PermissionDenied(CLINICAL_ONLY)
    return message


@practice_required  # who may send a letter may send it again
@require_POST
def outbox_retry(request: PracticeRequest, pk: int) -> HttpResponse:
    message = _readable_message(request, pk)
    try:
        message_retry(message=message, by=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"“{message.subject}” is queued to be sent again.")
    return redirect("outbox")


@practice_required  # a referral letter or a report is for the clinical roles (CLINICAL_KINDS)
def outbox_pdf(request: PracticeRequest, pk: int) -> HttpResponse:
    message = _readable_message(request, pk)
    log_request(request, action="referwell.message.pdf", obj=message)
    response = HttpResponse(message_pdf(message), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{message.attachment_name}"'
    return response


@practice_required
def letters(request: PracticeRequest) -> HttpResponse:
    kinds = [
        (kind, label, services.template_for(practice=request.practice, kind=kind))
        for kind, label in LETTER_KINDS.items()
    ]
    return render(request, "outreach/letters.html", {"kinds": kinds})


@owner_required("edits the practice's letters")
def letter_edit(request: PracticeRequest, kind: str) -> HttpResponse:
    if kind not in LETTER_KINDS:
        raise Http404("No such letter.")
    subject, body = services.template_for(practice=request.practice, kind=kind)
    error, preview = "", None
    if request.method == "POST":
        subject, body = request.POST.get("subject", ""), request.POST.get("body", "")
        try:
            if "save" in request.POST:
                services.letter_template_save(
                    practice=request.practice,
                    kind=kind,
                    subject=subject,
                    body=body,
                    by=request.user,
                )
                messages.success(request, "Letter saved.")
                return redirect("letters")
            preview = render_letter(
                kind=kind, context=SAMPLE, subject_template=subject, body_template=body
            )
        except LetterTemplateError as exc:
            error = str(exc)
    else:
        try:  # a template saved before today's rules may be refused: say so, do not fail
            preview = render_letter(
                kind=kind, context=SAMPLE, subject_template=subject, body_template=body
            )
        except LetterTemplateError as exc:
            error = str(exc)
    return render(
        request,
        "outreach/letter_edit.html",
        {
            "kind": kind,
            "label": LETTER_KINDS[kind],
            "subject": subject,
            "body": body,
            "preview": preview,
            "error": error,
        },
        status=400 if error else 200,
    )
