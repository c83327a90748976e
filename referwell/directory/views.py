from __future__ import annotations

import dataclasses
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from referwell.accounts.http import PracticeRequest
from referwell.accounts.kept import kept_fragment
from referwell.accounts.models import Practice
from referwell.core.decorators import practice_required
from referwell.core.pending import PendingUpload, pending_get, pending_store
from referwell.directory import selectors, services, vcard
from referwell.directory.duplicates import find_duplicates, partner_links
from referwell.directory.forms import PartnerFilterForm, PartnerForm, TouchpointForm
from referwell.directory.models import Partner
from referwell.referrals.selectors import referral_list


@practice_required
def partner_list(request: PracticeRequest) -> HttpResponse:
    form = PartnerFilterForm(request.GET or None, practice=request.practice)
    filters = selectors.PartnerFilters()
    if form.is_valid():
        filters = selectors.PartnerFilters(**{k: v for k, v in form.cleaned_data.items() if v})
    query = request.GET.copy()
    query.pop("page", None)

    def results() -> dict[str, object]:
        page = selectors.partner_page(
            practice=request.practice, filters=filters, number=request.GET.get("page")
        )
        return {
            "form": form,
            "partners": page.object_list,
            "page": page,
            "query": query.urlencode(),
            "with_distance": bool(filters.near_zip),
        }

    html = kept_fragment(
        request, name="partners", template="directory/partner_list.html#results", context=results
    )
    if request.htmx:
        return HttpResponse(html)
    return render(request, "directory/partner_list.html", {"form": form, "results": html})


@practice_required
def partner_detail(request: PracticeRequest, pk: int) -> HttpResponse:
    partner = selectors.partner_get(practice=request.practice, pk=pk)
    touchpoints = selectors.touchpoint_list(practice=request.practice, partner=partner)
    referrals = referral_list(practice=request.practice, partner_id=partner.pk)[:20]
    form = TouchpointForm(initial={"date": timezone.localdate()})
    stats = selectors.responsiveness_for(practice=request.practice, partner_ids=[partner.pk])
    return render(
        request,
        "directory/partner_detail.html",
        {
            "partner": partner,
            "touchpoints": touchpoints,
            "referrals": referrals,
            "form": form,
            "stats": stats[partner.pk],
        },
    )


@practice_required
def partner_create(request: PracticeRequest) -> HttpResponse:
    form = PartnerForm(request.POST or None, practice=request.practice)
    duplicates: list[Partner] = []
    if request.method == "POST" and form.is_valid():
        if not request.POST.get("create_anyway"):
            data = form.cleaned_data
            duplicates = find_duplicates(
                practice=request.practice,
                name=data["name"],
                city=data["city"],
                email=data["email"],
                phone=data["phone"],
                npi=data["npi"],
            )
        if not duplicates:
            try:
                partner = services.partner_create(
                    practice=request.practice, by=request.user, **form.service_kwargs()
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"{partner.name} is now in your network.")
                return redirect("partner_detail", pk=partner.pk)
    return render(
        request,
        "directory/partner_form.html",
        {"form": form, "partner": None, "duplicates": duplicates},
    )


@practice_required
def partner_edit(request: PracticeRequest, pk: int) -> HttpResponse:
    partner = selectors.partner_get(practice=request.practice, pk=pk)
    form = PartnerForm(request.POST or None, instance=partner, practice=request.practice)
    if request.method == "POST" and form.is_valid():
        try:
            services.partner_update(partner=partner, by=request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("partner_detail", pk=partner.pk)
    return render(request, "directory/partner_form.html", {"form": form, "partner": partner})


@require_POST
@practice_required
def touchpoint_add(request: PracticeRequest, pk: int) -> HttpResponse:
    partner = selectors.partner_get(practice=request.practice, pk=pk)
    form = TouchpointForm(request.POST)
    if form.is_valid():
        services.touchpoint_create(partner=partner, by=request.user, **form.cleaned_data)
        messages.success(request, "Touchpoint logged.")
        form = TouchpointForm(initial={"date": timezone.localdate()})
    context = {
        "partner": partner,
        "touchpoints": selectors.touchpoint_list(practice=request.practice, partner=partner),
        "form": form,
    }
    if request.htmx:
        return render(request, "directory/partner_detail.html#touchpoints", context)
    if form.errors:
        messages.error(request, "The touchpoint was not saved: " + form.errors.as_text())
    return redirect("partner_detail", pk=partner.pk)


@require_POST
@practice_required
def partner_letter(request: PracticeRequest, pk: int) -> HttpResponse:
    from referwell.outreach.letters import LetterTemplateError
    from referwell.outreach.services import PARTNER_LETTERS, partner_letter_send

    partner = selectors.partner_get(practice=request.practice, pk=pk)
    kind = request.POST.get("kind", "")
    if kind not in PARTNER_LETTERS:
        messages.error(request, "Choose a letter.")
        return redirect("partner_detail", pk=partner.pk)
    try:
        message = partner_letter_send(partner=partner, kind=kind, by=request.user)
    except LetterTemplateError as exc:
        messages.error(
            request,
            f"Nothing was sent: the practice's letter cannot be used ({exc}). "
            "Fix it under Letters.",
        )
    except OSError as exc:
        messages.error(request, f"The e-mail could not be sent ({exc}); nothing was changed.")
    else:
        how = f"e-mailed to {message.to_email}" if message.to_email else "ready to print"
        messages.success(request, f"“{message.subject}” {how} (see the outbox).")
    return redirect("partner_detail", pk=partner.pk)


# ------------------------------------------------------------------ business cards

MAX_VCARD_BYTES = 2 * 1024 * 1024
# One upload at most: each card takes a few milliseconds to compare with the network.
MAX_VCARD_FILES = 10
MAX_VCARD_CARDS = 1000
# Reading costs by the line: 1,000 real cards are about 15,000 lines; this bounds a request to
# a few seconds whatever the cards hold (900 e-mail addresses each, say).
MAX_VCARD_LINES = 30_000
VCARD_EXTENSIONS = (".vcf", ".vcard")
# A name typed on the preview for a card without one (Partner.name holds 200 characters).
MAX_TYPED_NAME = 300


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe); cleans to a list."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        # An empty file is reported by the import, card by card, like any unreadable file.
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile[bytes]]:
        if not isinstance(data, list | tuple):
            return [super().clean(data, initial)]
        if not data:
            return [super().clean(None, initial)]
        cleaned = []
        for item in data:
            cleaned.append(super().clean(item, initial))
        return cleaned


class VCardImportForm(forms.Form):
    # A declared field: the form's metaclass moves it to base_fields, self.files stays the uploads.
    files = MultipleFileField(  # type: ignore[assignment]  # the stubs see BaseForm.files
        label="vCard files",
        help_text="One or more .vcf or .vcard files (at most 10, 2 MB each and 1,000 cards in "
        "all), as exported by a phone or a mail program; a file may hold many cards.",
        widget=MultipleFileInput(attrs={"accept": ".vcf,.vcard,text/vcard,text/x-vcard"}),
    )

    def clean_files(self) -> list[UploadedFile[bytes]]:
        files: list[UploadedFile[bytes]] = self.cleaned_data["files"]
        if len(files) > MAX_VCARD_FILES:
            raise ValidationError(
                f"You chose {len(files)} files; at most {MAX_VCARD_FILES} are imported at a "
                "time. Import the others afterwards."
            )
        problems = []
        for upload in files:
            # FileField refuses a file without a name; an upload knows its size.
            assert upload.name is not None and upload.size is not None
            if not upload.name.lower().endswith(VCARD_EXTENSIONS):
                problems.append(
                    f"“{upload.name}” is not a vCard file: choose .vcf or .vcard files."
                )
            elif upload.size > MAX_VCARD_BYTES:
                problems.append(
                    f"“{upload.name}” is {upload.size / 1024 / 1024:.1f} MB; "
                    "each file may be 2 MB at most."
                )
        if problems:
            raise ValidationError(problems)
        cards = lines = 0
        for upload in files:
            raw = upload.read()
            cards += vcard.count_cards(raw)
            lines += vcard.count_properties(raw)
            upload.seek(0)
        if lines > MAX_VCARD_LINES:
            raise ValidationError(
                f"These files hold {lines:,} lines of contact details; at most "
                f"{MAX_VCARD_LINES:,} are read at a time. Split them into smaller files."
            )
        if cards > MAX_VCARD_CARDS:
            raise ValidationError(
                f"These files hold {cards:,} cards; at most {MAX_VCARD_CARDS:,} are imported at "
                "a time. Split them into smaller files."
            )
        return files


# Between the preview and the import the cards wait in the store of pending uploads
# (referwell/core/pending.py), as the CSV import's files do: encrypted under VAR_DIR/imports,
# readable by the member who uploaded them only, behind a signed address that expires within
# the hour. What waits is the cards as read (vcard.dump_files), never the files with their
# photos and notes.
VCARD_KIND = "vcards"


@practice_required
def partner_import(request: PracticeRequest) -> HttpResponse:
    """Step 1 of 2: the vCard files, read and kept for the preview; nothing is imported yet."""
    bound = request.method == "POST"
    form = VCardImportForm(request.POST if bound else None, request.FILES if bound else None)
    if bound and form.is_valid():
        uploads = form.cleaned_data["files"]
        files = services.read_vcard_files([(upload.name, upload.read()) for upload in uploads])
        signed = pending_store(
            practice_id=request.practice.pk,
            member_id=request.member.pk,
            kind=VCARD_KIND,
            filename=", ".join(upload.name for upload in uploads),
            text=vcard.dump_files(files),
        )
        return redirect("partner_import_preview", token=signed)
    return render(request, "directory/partner_import.html", {"form": form})


def _vcard_pending(
    request: PracticeRequest, token: str
) -> tuple[PendingUpload, list[tuple[str, vcard.ParsedFile]]]:
    """The member's own waiting upload and its read files, or 404 (another member's or
    practice's, expired, already imported or cancelled, or a CSV import's)."""
    pending = pending_get(
        token, practice_id=request.practice.pk, member_id=request.member.pk, kinds=(VCARD_KIND,)
    )
    try:
        files = vcard.load_files(pending.text())
    except ValueError:
        raise Http404("No such import (the link may have expired).") from None
    return pending, files


@require_GET
@practice_required
def partner_import_preview(request: PracticeRequest, token: str) -> HttpResponse:
    """Step 2 of 2: each card as it would be imported, with its possible duplicates; the cards
    to import are ticked (all those with a name and no likely duplicate, to begin with)."""
    pending, files = _vcard_pending(request, token)
    previews = services.vcards_preview(practice=request.practice, files=files)
    cards = [p for p in previews if p.number]
    return render(
        request,
        "directory/partner_import_preview.html",
        {
            "pending": pending,
            "cards": cards,
            "problems": [p for p in previews if not p.number],
            "counts": {
                "cards": len(cards),
                "checked": sum(p.checked for p in cards),
                "nameless": sum(p.nameless for p in cards),
                "duplicates": sum(p.likely_duplicate for p in cards),
                "unreadable": sum(not p.readable for p in cards),
            },
        },
    )


@require_POST
@practice_required
def partner_import_confirm(request: PracticeRequest, token: str) -> HttpResponse:
    """The ticked cards imported (a nameless one under the name typed for it), the others
    skipped; then every card's outcome."""
    pending, files = _vcard_pending(request, token)
    choices = {
        key: request.POST.get(f"name-{key}", "")[:MAX_TYPED_NAME]
        for key in request.POST.getlist("pick")[:MAX_VCARD_CARDS]
    }
    pending.remove()  # first: a second click finds nothing to import again
    result = services.vcards_import(
        practice=request.practice, parsed=files, by=request.user, choices=choices
    )
    return render(request, "directory/partner_import_result.html", {"result": result})


@require_POST
@practice_required
def partner_import_cancel(request: PracticeRequest, token: str) -> HttpResponse:
    pending, _files = _vcard_pending(request, token)
    pending.remove()
    messages.info(request, "Import cancelled; the uploaded cards are deleted.")
    return redirect("partner_import")


# What a card says that a partner does not hold as a field of its own.
NOT_PARTNER_FIELDS = {"professions", "title", "phone_preferred", "other_phones"}


@require_GET
@practice_required
def partner_vcard(request: PracticeRequest, pk: int) -> HttpResponse:
    """The partner as a vCard 3.0 file, for a phone's or a mail program's address book."""
    partner = selectors.partner_get(practice=request.practice, pk=pk)
    fields = {
        name: getattr(partner, name)
        for name in (f.name for f in dataclasses.fields(vcard.CardData))
        if name not in NOT_PARTNER_FIELDS
    }
    card = vcard.CardData(**fields, professions=tuple(p.slug for p in partner.professions.all()))
    response = HttpResponse(vcard.card_to_vcard(card), content_type="text/vcard; charset=utf-8")
    filename = f"{slugify(partner.name, allow_unicode=True) or 'partner'}.vcf"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


class PartnerMergeForm(forms.Form):
    duplicate = forms.ModelChoiceField(
        queryset=Partner.objects.none(),
        label="The duplicate",
        empty_label="Choose a partner…",
        help_text="It is merged into this partner, then deleted.",
    )

    def __init__(self, *args: Any, practice: Practice, keep: Partner, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        duplicate = cast("forms.ModelChoiceField[Partner]", self.fields["duplicate"])
        duplicate.queryset = (
            Partner.objects.for_practice(practice).exclude(pk=keep.pk).order_by("name")
        )


@practice_required
def partner_merge(request: PracticeRequest, pk: int) -> HttpResponse:
    """Choose a duplicate of this partner, see what moves, confirm: one partner remains."""
    keep = selectors.partner_get(practice=request.practice, pk=pk)
    data = request.POST if request.method == "POST" else request.GET
    bound = request.method == "POST" or "duplicate" in request.GET
    form = PartnerMergeForm(data if bound else None, practice=request.practice, keep=keep)
    duplicate = form.cleaned_data["duplicate"] if form.is_valid() else None
    if request.method == "POST" and duplicate is not None:
        try:
            kept = services.partner_merge(keep=keep, duplicate=duplicate, by=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
            duplicate = None
        else:
            messages.success(
                request,
                f"{duplicate.name} was merged into {kept.name}: one partner, all their history.",
            )
            return redirect("partner_detail", pk=kept.pk)
    suggestions = find_duplicates(
        practice=request.practice,
        name=keep.name,
        city=keep.city,
        email=keep.email,
        phone=keep.phone,
        npi=keep.npi,
        exclude_pk=keep.pk,
    )
    return render(
        request,
        "directory/partner_merge.html",
        {
            "partner": keep,
            "form": form,
            "duplicate": duplicate,
            "suggestions": suggestions,
            "keep_links": partner_links(keep),
            "duplicate_links": partner_links(duplicate) if duplicate else {},
        },
    )
