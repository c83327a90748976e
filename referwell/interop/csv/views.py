"""CSV in (partners and clients, in four steps) and out (every list of the app).

The import: upload → map the columns → dry run (each row's fate) → confirm. Between steps the
file waits in the store of pending uploads (referwell/core/pending.py: encrypted under
VAR_DIR/imports, behind a signed address that expires within the hour, the member's own:
anyone else gets a 404, and so does a page of the business cards' import); it is removed once
imported or cancelled.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from referwell.accounts.http import PracticeRequest
from referwell.accounts.models import Role
from referwell.audit.services import log_action, request_ip
from referwell.clients import selectors as client_selectors
from referwell.clients.models import Client, Stream
from referwell.clients.services import client_create
from referwell.core import pending
from referwell.core.decorators import practice_required
from referwell.core.pending import PendingUpload
from referwell.directory import selectors as directory_selectors
from referwell.directory.forms import PartnerFilterForm
from referwell.directory.models import Partner, Profession
from referwell.directory.services import partner_create
from referwell.interop.csv import exporter, importer
from referwell.outreach.models import OutgoingMessage
from referwell.referrals import selectors as referral_selectors
from referwell.referrals.models import Direction
from referwell.referrals.states import Status

# --------------------------------------------------------------------------- the waiting file

# `referwell sweep` deletes the expired uploads through this name.
sweep_pending_imports = pending.sweep_pending_imports


def _pending(request: PracticeRequest, signed: str) -> PendingUpload:
    """The member's own waiting CSV file, or 404 (pending.pending_get)."""
    return pending.pending_get(
        signed,
        practice_id=request.practice.pk,
        member_id=request.member.pk,
        kinds=importer.KINDS,
    )


def _mapping(upload: PendingUpload) -> list[str] | None:
    mapping: list[str] | None = upload.state.get("mapping")
    return mapping


def _table(upload: PendingUpload) -> importer.Table:
    return importer.read_table(upload.text())


def _importer_only(request: PracticeRequest) -> None:
    if request.member.role == Role.FRONT_DESK:
        raise PermissionDenied("Only owners and therapists import partners and clients.")


# --------------------------------------------------------------------------- step 1: upload


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label="The file holds",
        choices=list(importer.KINDS.items()),
        widget=forms.RadioSelect,
        initial=importer.PARTNERS,
    )
    file = forms.FileField(
        label="CSV file",
        help_text="At most 2 MB, with a header row. UTF-8 (Excel: “CSV UTF-8”) or Excel's "
        "plain “CSV” on Windows; commas or semicolons.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> UploadedFile[bytes]:
        upload: UploadedFile[bytes] = self.cleaned_data["file"]
        # FileField refuses a file without a name; an upload knows its size.
        assert upload.name is not None and upload.size is not None
        if not upload.name.lower().endswith(".csv"):
            raise ValidationError("Choose a .csv file (in Excel: File → Save As → CSV UTF-8).")
        if upload.size > importer.MAX_BYTES:
            raise ValidationError("The file is larger than 2 MB: split it into smaller files.")
        try:
            text = importer.decode(upload.read())
            importer.read_table(text)
        except importer.CsvProblem as exc:
            raise ValidationError(str(exc)) from None
        self.cleaned_data["text"] = text
        return upload


@practice_required
def csv_import(request: PracticeRequest) -> HttpResponse:
    _importer_only(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        signed = pending.pending_store(
            practice_id=request.practice.pk,
            member_id=request.member.pk,
            kind=form.cleaned_data["kind"],
            filename=form.cleaned_data["file"].name,
            text=form.cleaned_data["text"],
        )
        return redirect("csv_import_map", token=signed)
    return render(request, "interop/csv_upload.html", {"form": form})


# --------------------------------------------------------------------------- step 2: mapping


def _field_choices(kind: str) -> list[tuple[str, str]]:
    return [("", "— ignore this column —")] + [
        (f.key, f"{f.label} (required)" if f.required else f.label)
        for f in importer.fields_for(kind)
    ]


@practice_required
def csv_import_map(request: PracticeRequest, token: str) -> HttpResponse:
    _importer_only(request)
    upload = _pending(request, token)
    table = _table(upload)
    kind = upload.kind
    known = {f.key for f in importer.fields_for(kind)}
    mapping = _mapping(upload) or importer.guess_mapping(kind, table.headers)
    errors: list[str] = []
    if request.method == "POST":
        mapping = [request.POST.get(f"column_{i}", "") for i in range(len(table.headers))]
        mapping = [key if key in known else "" for key in mapping]
        errors = importer.mapping_errors(kind, table.headers, mapping)
        if not errors:
            upload.save_state({**upload.state, "mapping": mapping})
            return redirect("csv_import_preview", token=upload.signed)
    columns = [
        {"index": i, "header": header, "field": mapping[i], "samples": table.samples(i)}
        for i, header in enumerate(table.headers)
    ]
    return render(
        request,
        "interop/csv_map.html",
        {
            "pending": upload,
            "kind_label": importer.KINDS[kind],
            "columns": columns,
            "choices": _field_choices(kind),
            "errors": errors,
            "row_count": len(table.rows),
            "professions": Profession.objects.filter(is_provider=True).order_by("name"),
        },
    )


# --------------------------------------------------------------------------- step 3: dry run


def _existing(request: PracticeRequest, kind: str) -> list[importer.Known]:
    practice = request.practice
    if kind == importer.PARTNERS:
        return [
            importer.Known(
                label=f"{name} (partner #{pk})",
                name=name,
                city=city,
                email=email,
                phone=phone,
                npi=npi,
            )
            for pk, name, city, email, phone, npi in Partner.objects.for_practice(
                practice
            ).values_list("pk", "name", "city", "email", "phone", "npi")
        ]
    return [
        importer.Known(
            label=f"{first} {last} (client #{pk})",
            first_name=first,
            last_name=last,
            email=email,
            date_of_birth=born,
        )
        for pk, first, last, email, born in Client.objects.for_practice(practice).values_list(
            "pk", "first_name", "last_name", "email", "date_of_birth"
        )
    ]


def _plan(request: PracticeRequest, upload: PendingUpload) -> list[importer.RowFate]:
    lookup = importer.ProfessionLookup.from_pairs(
        Profession.objects.filter(is_provider=True).values_list("slug", "name")
    )
    return importer.plan(
        upload.kind,
        _table(upload),
        _mapping(upload) or [],
        existing=_existing(request, upload.kind),
        professions=lookup,
    )


def _preview_context(
    upload: PendingUpload, fates: list[importer.RowFate], error: str = ""
) -> dict[str, Any]:
    return {
        "pending": upload,
        "kind_label": importer.KINDS[upload.kind],
        "fates": fates,
        "counts": importer.summary(fates),
        "error": error,
        "CREATE": importer.CREATE,
        "DUPLICATE": importer.DUPLICATE,
        "REJECT": importer.REJECT,
    }


@require_GET
@practice_required
def csv_import_preview(request: PracticeRequest, token: str) -> HttpResponse:
    _importer_only(request)
    upload = _pending(request, token)
    if not _mapping(upload):
        return redirect("csv_import_map", token=upload.signed)
    fates = _plan(request, upload)
    return render(request, "interop/csv_preview.html", _preview_context(upload, fates))


# --------------------------------------------------------------------------- step 4: import


class RowFailed(Exception):
    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"row {number}: {reason}")


def _reason(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{k.replace('_', ' ')}: {' '.join(v)}" for k, v in exc.message_dict.items()
        )
    return " ".join(exc.messages)


@require_POST
@practice_required
def csv_import_confirm(request: PracticeRequest, token: str) -> HttpResponse:
    """The good rows in one transaction: all of them, or — if one cannot be saved — none.
    The plan is made again, so rows added since the dry run are still caught as duplicates."""
    _importer_only(request)
    upload = _pending(request, token)
    if not _mapping(upload):
        return redirect("csv_import_map", token=upload.signed)
    fates = _plan(request, upload)
    good = [f for f in fates if f.is_created]
    slugs = {slug for f in good for slug in f.professions}
    professions = Profession.objects.in_bulk(list(slugs))
    practice, by = request.practice, request.user
    created: list[tuple[importer.RowFate, Partner | Client]] = []
    try:
        with transaction.atomic():
            for fate in good:
                row: Partner | Client
                try:
                    if upload.kind == importer.PARTNERS:
                        row = partner_create(
                            practice=practice,
                            by=by,
                            fields=fate.fields,
                            professions=[professions[s] for s in fate.professions],
                        )
                    else:
                        row = client_create(practice=practice, by=by, fields=fate.fields)
                except ValidationError as exc:
                    raise RowFailed(fate.number, _reason(exc)) from exc
                except DatabaseError as exc:
                    raise RowFailed(
                        fate.number, f"could not be saved ({type(exc).__name__})"
                    ) from exc
                created.append((fate, row))
            counts = importer.summary(fates)
            log_action(
                practice=practice,
                actor=by,
                action="referwell.csv.imported",
                data={
                    "kind": upload.kind,
                    "created": counts["create"],
                    "duplicates": counts["duplicate"],
                    "rejected": counts["reject"],
                },
            )
    except RowFailed as exc:
        error = f"Nothing was imported: {exc}. Correct the file and upload it again."
        return render(
            request, "interop/csv_preview.html", _preview_context(upload, fates, error=error)
        )
    upload.remove()
    return render(
        request,
        "interop/csv_result.html",
        {
            "kind": upload.kind,
            "kind_label": importer.KINDS[upload.kind],
            "created": created,
            "skipped": [f for f in fates if not f.is_created],
            "counts": importer.summary(fates),
        },
    )


@require_POST
@practice_required
def csv_import_cancel(request: PracticeRequest, token: str) -> HttpResponse:
    _importer_only(request)
    _pending(request, token).remove()
    messages.info(request, "Import cancelled; the uploaded file is deleted.")
    return redirect("csv_import")


# --------------------------------------------------------------------------- lists out


def _partners(request: PracticeRequest) -> exporter.CsvTable:
    form = PartnerFilterForm(request.GET or None, practice=request.practice)
    filters = directory_selectors.PartnerFilters()
    if form.is_valid():
        filters = directory_selectors.PartnerFilters(
            **{k: v for k, v in form.cleaned_data.items() if v}
        )
    partners = directory_selectors.partner_list(practice=request.practice, filters=filters)
    return exporter.partners_table(partners)


def _clients(request: PracticeRequest) -> exporter.CsvTable:
    stream = request.GET.get("stream", "")
    clients = client_selectors.client_list(
        practice=request.practice,
        q=request.GET.get("q", "").strip(),
        stream=stream if stream in Stream.values else "",
    )
    return exporter.clients_table(clients)


def _referrals(request: PracticeRequest) -> exporter.CsvTable:
    direction = request.GET.get("direction", "")
    status = request.GET.get("status", "")
    referrals = referral_selectors.referral_list(
        practice=request.practice,
        direction=direction if direction in Direction.values else "",
        status=status if status in Status.values else "",
    )
    return exporter.referrals_table(referrals)


def _outbox(request: PracticeRequest) -> exporter.CsvTable:
    sent = OutgoingMessage.objects.for_practice(request.practice).select_related("by")
    return exporter.outbox_table(sent)


TABLES = {
    "partners": _partners,
    "clients": _clients,
    "referrals": _referrals,
    "outbox": _outbox,
}


@require_GET
@practice_required
def csv_export(request: PracticeRequest, kind: str) -> HttpResponse:
    """One of the app's lists as a CSV file, with the filters the list page had."""
    build = TABLES.get(kind)
    if build is None:
        raise Http404("No such list.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"{request.practice.slug}-{kind}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    rows = exporter.write_csv(response, build(request))
    log_action(
        practice=request.practice,
        actor=request.user,
        action="referwell.list.exported",
        data={"list": kind, "rows": rows},
        ip_address=request_ip(request),
    )
    return response
