from __future__ import annotations

from dataclasses import dataclass, replace

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from referwell.accounts.http import PracticeRequest
from referwell.accounts.kept import kept_fragment
from referwell.audit.services import log_request
from referwell.clients.selectors import client_get
from referwell.core.decorators import (
    CLINICAL_ONLY,
    clinical_required,
    is_clinical,
    practice_required,
)
from referwell.directory.selectors import partner_get
from referwell.outreach.letters import LetterTemplateError
from referwell.referrals import selectors, services
from referwell.referrals.forms import NoteForm, ReferralForm, TransitionForm, move_for
from referwell.referrals.models import NOTE_MAX_LENGTH, Direction, Referral
from referwell.referrals.states import (
    UNDO_WINDOW,
    Status,
    TransitionError,
    link_refusal,
    move_refusal,
)

REFERRAL_PAGE_SIZE = 50
UNDO_MINUTES = int(UNDO_WINDOW.total_seconds() // 60)


@practice_required
def referral_list(request: PracticeRequest) -> HttpResponse:
    direction = request.GET.get("direction", "")
    direction = direction if direction in Direction.values else ""
    status = request.GET.get("status", "")
    status = status if status in Status.values else ""
    services.referrals_flag_no_response(practice=request.practice)
    query = request.GET.copy()
    query.pop("page", None)

    def results() -> dict[str, object]:
        # Only the columns the list shows: no reason or client intake is read (nor decrypted).
        referrals = selectors.referral_list(
            practice=request.practice, direction=direction, status=status
        ).only(
            "direction",
            "status",
            "created_at",
            "client",
            "client__first_name",
            "client__last_name",
            "partner",
            "partner__name",
            "profession",
            "profession__name",
            "referrer_name",
        )
        page = Paginator(referrals, REFERRAL_PAGE_SIZE).get_page(request.GET.get("page"))
        return {"referrals": page.object_list, "page": page, "query": query.urlencode()}

    html = kept_fragment(
        request, name="referrals", template="referrals/referral_list.html#results", context=results
    )
    if request.htmx:
        return HttpResponse(html)
    return render(
        request,
        "referrals/referral_list.html",
        {
            "results": html,
            "direction": direction,
            "status": status,
            "directions": Direction.choices,
            "statuses": Status.choices,
        },
    )


@practice_required
def referral_detail(request: PracticeRequest, pk: int) -> HttpResponse:
    referral = selectors.referral_get(practice=request.practice, pk=pk)
    log_request(request, action="referwell.referral.viewed", obj=referral)
    new_link = request.session.pop("new_link", None)
    if new_link and new_link.get("referral") != referral.pk:
        new_link = None
    clinical = request.member.sees_clinical
    return render(
        request,
        "referrals/referral_detail.html",
        selectors.referral_detail_context(
            practice=request.practice, referral=referral, user=request.user
        )
        | {
            "form": TransitionForm(referral=referral, clinical=clinical),
            # A note is clinical text: the front desk writes none.
            "note_form": NoteForm() if clinical else None,
            "undo_minutes": UNDO_MINUTES,
            "new_link": new_link,
        },
    )


@clinical_required  # a referral's reasons are clinical text, and required
def referral_create(request: PracticeRequest) -> HttpResponse:
    initial: dict[str, object] = {}
    if client_id := request.GET.get("client"):
        initial["client"] = client_get(practice=request.practice, pk=client_id)
    if partner_id := request.GET.get("partner"):
        initial["partner"] = partner_get(practice=request.practice, pk=partner_id)
    # A suggestion from the guidance engine arrives with its profession and reason filled in.
    if profession := request.GET.get("profession"):
        initial["profession"] = profession
    if reasons := request.GET.get("reasons"):
        initial["reasons"] = reasons[:2000]
    form = ReferralForm(request.POST or None, practice=request.practice, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            referral = services.referral_create(
                practice=request.practice, by=request.user, fields=form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Referral saved as a draft.")
            return redirect("referral_detail", pk=referral.pk)
    return render(request, "referrals/referral_form.html", {"form": form})


@require_POST
@practice_required
def referral_transition(request: PracticeRequest, pk: int) -> HttpResponse:
    """One move, by its own button. A move that ends the referral (decline, close, cancel) is
    made only once confirmed: without `confirm` the page asks first, keeping the note."""
    referral = selectors.referral_get(practice=request.practice, pk=pk)
    form = TransitionForm(request.POST, referral=referral, clinical=request.member.sees_clinical)
    if not form.is_valid():
        if "note" in form.errors and "to" not in form.errors:
            messages.error(request, f"Nothing was moved: {form.errors['note'][0]}")
            return redirect("referral_detail", pk=referral.pk)
        # The state machine's reason when it refuses the move; the steps offered otherwise
        # (sending and reporting back have their own buttons).
        to = request.POST.get("to", "")
        reason = move_refusal(referral.direction, referral.status, to) if to in Status else ""
        messages.error(request, f"Choose one of the next steps offered. {reason}".strip())
        return redirect("referral_detail", pk=referral.pk)
    to = form.cleaned_data["to"]
    if form.needs_confirmation:
        return render(
            request,
            "referrals/referral_confirm.html",
            {
                "referral": referral,
                "move": move_for(referral.direction, to),
                "note": form.cleaned_data.get("note", ""),
                "with_note": "note" in form.fields,
                "note_max_length": NOTE_MAX_LENGTH,
                "undo_minutes": UNDO_MINUTES,
            },
        )
    try:
        services.referral_transition(
            referral=referral,
            to=to,
            by=request.user,
            note=form.cleaned_data.get("note", ""),  # no note field for the front desk
        )
    except TransitionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Referral marked {Status(to).label}.")
    return redirect("referral_detail", pk=referral.pk)


@require_POST
@clinical_required  # a note is clinical text
def referral_note(request: PracticeRequest, pk: int) -> HttpResponse:
    """A note on the timeline: its own action, and it never moves the referral."""
    referral = selectors.referral_get(practice=request.practice, pk=pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"The note was not added: {form.errors['note'][0]}")
        return redirect("referral_detail", pk=referral.pk)
    try:
        services.referral_note(referral=referral, by=request.user, note=form.cleaned_data["note"])
    except ValidationError as exc:
        messages.error(request, _reason(exc))
    else:
        messages.success(request, "Note added; the referral did not move.")
    return redirect("referral_detail", pk=referral.pk)


@require_POST
@practice_required
def referral_undo(request: PracticeRequest, pk: int) -> HttpResponse:
    """Take the last move back (states.undo_refusal says when it may be)."""
    referral = selectors.referral_get(practice=request.practice, pk=pk)
    try:
        referral = services.referral_undo(referral=referral, by=request.user)
    except TransitionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Undone: the referral is back to {referral.get_status_display()}."
        )
    return redirect("referral_detail", pk=referral.pk)


def _reason(exc: Exception) -> str:
    """The person-readable reason of a refused action (ValidationError keeps it in .messages)."""
    if isinstance(exc, LetterTemplateError):
        return (
            f"Nothing was sent: the practice's letter cannot be used ({exc}). Fix it under Letters."
        )
    return exc.messages[0] if isinstance(exc, ValidationError) else str(exc)


def _base_url(request: PracticeRequest) -> str:
    return request.build_absolute_uri("/")


@dataclass(frozen=True)
class _LetterPage:
    """What the page of one kind of letter says: its name, the letter that went before, the
    confirmation another needs, who may send it."""

    name: str  # "Read {name} before it leaves"
    sent: str  # "{sent} went to Dr. X on Dec 3 by e-mail."
    again: str  # the box that confirms another is meant
    done: str  # once sent
    clinical: bool  # only a clinician sends it (its text is clinical)


LETTER_PAGES: dict[str, _LetterPage] = {
    "referral": _LetterPage("the letter", "", "", "Referral sent", clinical=True),
    "thanks_received": _LetterPage(
        "the thank-you", "A thank-you", "Send it again", "Thank-you note sent", clinical=False
    ),
    "thanks_care": _LetterPage(
        "the thank-you", "A thank-you", "Send it again", "Thank-you sent", clinical=False
    ),
    "progress_report": _LetterPage(
        "the progress report",
        "A progress report",
        "Send another report",
        "Progress report sent",
        clinical=True,
    ),
}


@require_http_methods(["GET", "POST"])
@practice_required
def referral_letter(request: PracticeRequest, pk: int, kind: str) -> HttpResponse:
    """Every letter about a referral is read before it leaves; one page for each kind (the
    referral letter, the thank-yous, the progress report). GET: the letter exactly as it will
    leave, its text editable for this one letter. POST: send what was shown — or its PDF, or
    (the referral letter) leave it ready for the front desk, who sends only such a letter."""
    referral = selectors.referral_get(practice=request.practice, pk=pk)
    page = LETTER_PAGES[kind]
    if not is_clinical(request):
        sends = request.method == "POST" and request.POST.get("action", "send") == "send"
        if kind == "referral" and sends and referral.letter_prepared_at:
            return _send_prepared(request, referral)
        if page.clinical:
            raise PermissionDenied(CLINICAL_ONLY)
    if request.method == "GET":
        try:
            draft = services.letter_preview(referral=referral, kind=kind, by=request.user)
        except (TransitionError, ValidationError, LetterTemplateError) as exc:
            messages.error(request, _reason(exc))
            return redirect("referral_detail", pk=referral.pk)
        shown = kind == "referral" and bool(referral.letter_prepared_at)
        if shown and "fresh" not in request.GET:
            # The letter a clinician left ready: read (and sent, or replaced) as it was left.
            draft = replace(draft, subject=referral.letter_subject, body=referral.letter_body)
        else:
            shown = False
        return _letter_page(request, referral, kind, draft, prepared_shown=shown)
    # The preview's form sends its (maybe edited) text; without it, the letter as rendered.
    subject, body = request.POST.get("subject"), request.POST.get("body")
    action = request.POST.get("action", "send")
    try:
        if action == "pdf":
            pdf = services.letter_pdf_preview(
                referral=referral, subject=subject or "", body=body or ""
            )
            response = HttpResponse(pdf, content_type="application/pdf")
            response["Content-Disposition"] = 'inline; filename="letter-preview.pdf"'
            return response
        if action == "ready" and kind == "referral":
            services.referral_letter_prepare(
                referral=referral, by=request.user, subject=subject or "", body=body or ""
            )
            messages.success(request, "The letter is ready: the front desk can send it now.")
            return redirect("referral_detail", pk=referral.pk)
        if kind == "referral":
            result = services.referral_send(
                referral=referral,
                by=request.user,
                base_url=_base_url(request),
                subject=subject,
                body=body,
            )
            request.session["new_link"] = {"referral": referral.pk, "url": result["url"]}
            sent = result["message"]
        else:
            sent = services.letter_send(
                referral=referral,
                kind=kind,
                by=request.user,
                subject=subject,
                body=body,
                text=request.POST.get("text", ""),
                once=not request.POST.get("again"),
            )
    except services.AlreadySent:  # a double click, a form posted again: the page again
        return _letter_page(
            request,
            referral,
            kind,
            None,
            subject=subject or "",
            body=body or "",
            error=f"Nothing was sent: tick “{page.again}” to send another.",
            status=409,
        )
    except ValidationError as exc:  # the edited letter: the page again, with why
        return _letter_page(
            request,
            referral,
            kind,
            None,
            subject=subject or "",
            body=body or "",
            error=_reason(exc),
            status=400,
        )
    except (TransitionError, LetterTemplateError) as exc:
        messages.error(request, _reason(exc))
        return redirect("referral_detail", pk=referral.pk)
    except OSError as exc:  # the mail server could not be reached: nothing was recorded
        messages.error(request, f"The e-mail could not be sent ({exc}); nothing was changed.")
        return redirect("referral_detail", pk=referral.pk)
    messages.success(request, _sent_to(page.done, sent))
    return redirect("referral_detail", pk=referral.pk)


def _send_prepared(request: PracticeRequest, referral: Referral) -> HttpResponse:
    """The front desk sends the referral letter a clinician left ready, never reading it."""
    try:
        result = services.referral_send_prepared(
            referral=referral, by=request.user, base_url=_base_url(request)
        )
    except (TransitionError, ValidationError, LetterTemplateError) as exc:
        messages.error(request, _reason(exc))
        return redirect("referral_detail", pk=referral.pk)
    except OSError as exc:
        messages.error(request, f"The e-mail could not be sent ({exc}); nothing was changed.")
        return redirect("referral_detail", pk=referral.pk)
    messages.success(request, _sent_to(LETTER_PAGES["referral"].done, result["message"]))
    return redirect("referral_detail", pk=referral.pk)


def _sent_to(done: str, sent: services.SentLetter) -> str:
    """What went where, in words (the address is on the page's list of what was sent)."""
    how = "by e-mail" if sent.to_email else "as a letter to print (in the outbox)"
    return f"{done} to {sent.to_name or 'the referrer'} {how}."


def _letter_page(
    request: PracticeRequest,
    referral: Referral,
    kind: str,
    draft: services.LetterDraft | None,
    *,
    subject: str = "",
    body: str = "",
    error: str = "",
    status: int = 200,
    prepared_shown: bool = False,
) -> HttpResponse:
    """The preview of one letter (`draft`), or — refused — the text that was sent back, with
    why (the addressee read anew). `prepared_shown`: the draft is the letter left ready."""
    if draft is None:
        try:
            draft = services.letter_preview(referral=referral, kind=kind, by=request.user)
        except (TransitionError, ValidationError, LetterTemplateError) as exc:
            messages.error(request, _reason(exc))
            return redirect("referral_detail", pk=referral.pk)
        draft = replace(draft, subject=subject, body=body)
    return render(
        request,
        "referrals/letter_preview.html",
        {
            "referral": referral,
            "kind": kind,
            "page": LETTER_PAGES[kind],
            "subject": draft.subject,
            "body": draft.body,
            "to_name": draft.to_name,
            "to_email": draft.to_email,
            "sent_before": selectors.letter_sent_before(
                practice=request.practice, referral=referral, kind=kind
            ),
            "prepared": kind == "referral" and referral.letter_prepared_at is not None,
            "prepared_shown": prepared_shown,
            "link_mark": services.LINK_MARK,
            "report_mark": services.REPORT_MARK,
            "error": error,
        },
        status=status,
    )


@require_POST
@clinical_required
def referral_link_new(request: PracticeRequest, pk: int) -> HttpResponse:
    referral = selectors.referral_get(practice=request.practice, pk=pk)
    if reason := link_refusal(referral.status, referral.direction):
        messages.error(request, reason)
        return redirect("referral_detail", pk=referral.pk)
    _, token = services.link_issue(referral=referral, by=request.user)
    url = _base_url(request).rstrip("/") + f"/l/{token}/"
    request.session["new_link"] = {"referral": referral.pk, "url": url}
    messages.success(request, "A new link was made; the previous one no longer works.")
    return redirect("referral_detail", pk=referral.pk)


@require_POST
@clinical_required
def referral_link_revoke(request: PracticeRequest, pk: int) -> HttpResponse:
    referral = selectors.referral_get(practice=request.practice, pk=pk)
    for link in selectors.referral_links(practice=request.practice, referral=referral):
        services.link_revoke(link=link, by=request.user)
    messages.success(request, "The partner's link no longer works.")
    return redirect("referral_detail", pk=referral.pk)


@require_POST
@practice_required
def referral_followup_done(request: PracticeRequest, pk: int) -> HttpResponse:
    referral = selectors.referral_get(practice=request.practice, pk=pk)
    services.followup_done(referral=referral, by=request.user)
    messages.success(request, "Follow-up with the referring doctor marked done.")
    return redirect("referral_detail", pk=referral.pk)
