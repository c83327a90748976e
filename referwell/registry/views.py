from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from referwell.accounts.http import PracticeRequest
from referwell.accounts.operators import is_operator, operator_required
from referwell.core.decorators import owner_required, practice_required
from referwell.core.geo import zip_centroid, zip_place
from referwell.core.jobs import ImportJob, recent, render_job, under_way
from referwell.core.limits import megabytes
from referwell.registry import jobs, selectors, services
from referwell.registry.layout import NppesFormatError
from referwell.registry.models import ImportRun, ImportStatus

MILES_CHOICES = (5, 10, 25, 50, 100)


class RegistrySearchForm(forms.Form):
    profession = forms.ChoiceField()
    zip = forms.CharField(label="ZIP code", max_length=10)
    miles = forms.TypedChoiceField(
        coerce=int, choices=[(m, f"{m} miles") for m in MILES_CHOICES], initial=10
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = list(selectors.registry_professions().items())
        profession = self.fields["profession"]
        if isinstance(profession, forms.ChoiceField):
            profession.choices = [("", "Choose a profession")] + choices

    def clean_zip(self) -> str:
        value: str = self.cleaned_data["zip"].strip()
        if zip_centroid(value) is None:
            raise ValidationError(f"'{value}' is not a US ZIP code we know.")
        return value[:5]


@require_GET
@practice_required
def registry_search(request: PracticeRequest) -> HttpResponse:
    """Find professionals near a ZIP code in the public registry (NPPES)."""
    practice = request.practice
    form = RegistrySearchForm(
        request.GET or None, initial={"zip": practice.zip_code[:5], "miles": 10}
    )
    hits: list[selectors.RegistryHit] = []
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        hits = selectors.registry_search(
            profession=data["profession"], zip_code=data["zip"], miles=data["miles"]
        )
    in_network = selectors.network_npis(practice=practice, npis=[h.entry.npi for h in hits])
    names = selectors.registry_professions()
    rows = [
        (hit, in_network.get(hit.entry.npi), names.get(hit.entry.profession, "")) for hit in hits
    ]
    near = form.cleaned_data.get("zip") if form.is_bound and form.is_valid() else None
    near = near or practice.zip_code[:5]
    place = zip_place(near) if near else None
    template = "registry/search.html"
    if request.htmx:
        template += "#results"
    return render(
        request,
        template,
        {
            "form": form,
            "rows": rows,
            "searched": form.is_bound and form.is_valid(),
            "near": f"{place[0]}, {place[1]}" if place else near,
            "imported": selectors.registry_has_entries(),
            "operator": is_operator(request),
        },
    )


@require_POST
@practice_required
def registry_add(request: PracticeRequest, npi: str) -> HttpResponse:
    """One click: the registry entry becomes a prospect of the practice (or links to the
    partner with that NPI it already has)."""
    entry = selectors.registry_entry_get(npi=npi)
    try:
        partner, created = services.registry_entry_add_to_network(
            practice=request.practice, by=request.user, entry=entry
        )
    except ValidationError as exc:
        messages.error(request, f"{entry.name} could not be added: {' '.join(exc.messages)}")
        return redirect("registry_search")
    if request.htmx:
        return render(
            request, "registry/search.html#in_network", {"partner_id": partner.pk, "new": created}
        )
    if created:
        messages.success(request, f"{partner.name} is now a prospect in your network.")
    else:
        messages.info(request, f"{partner.name} is already in your network.")
    return redirect("partner_detail", pk=partner.pk)


# --------------------------------------------------------------------------- the import

IMPORTS = "imports the provider registry"


class NppesUploadForm(forms.Form):
    file = forms.FileField(
        label="NPPES file",
        help_text="CMS's npidata_pfile_….csv — the weekly update or the monthly file — or "
        "the .zip CMS distributes it in.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.zip"}),
    )

    def clean_file(self) -> UploadedFile[bytes]:
        upload: UploadedFile[bytes] = self.cleaned_data["file"]
        if not (upload.name or "").lower().endswith((".csv", ".zip")):
            raise ValidationError(
                "Choose the provider file (npidata_pfile_….csv) or the .zip it came in."
            )
        return upload


@operator_required(IMPORTS)
def registry_import(request: PracticeRequest) -> HttpResponse:
    """Upload CMS's NPPES file: it is imported by the worker, followed on the job's page."""
    form = NppesUploadForm(request.POST or None, request.FILES or None)
    running = under_way(jobs.KIND)
    if request.method == "POST" and form.is_valid():
        if running is not None:
            form.add_error(None, "An import of the registry is under way: wait for it to end.")
        else:
            try:
                job = jobs.nppes_job_start(
                    practice=request.practice, by=request.user, upload=form.cleaned_data["file"]
                )
            except NppesFormatError as exc:
                form.add_error("file", f"{exc}.")
            else:
                return redirect("registry_job", pk=job.pk)
    last = ImportRun.objects.filter(status=ImportStatus.DONE).order_by("-started_at").first()
    return render(
        request,
        "registry/import.html",
        {
            "form": form,
            "running": running,
            "jobs": recent(practice_id=request.practice.pk, kind=jobs.KIND),
            "last": last,
            "limit": megabytes(settings.REQUEST_MAX_BYTES),
        },
    )


@owner_required(IMPORTS)
@require_GET
def registry_job(request: PracticeRequest, pk: int) -> HttpResponse:
    """An import of the registry and how far it has gone (another practice's: 404)."""
    job = get_object_or_404(ImportJob, pk=pk, kind=jobs.KIND, practice=request.practice)
    return render_job(
        request,
        job,
        title="Importing the provider registry",
        back_url=reverse("registry_import"),
        back_label="Registry imports",
        on_failure="The registry is as it was: nothing of this file was imported.",
        notes_title="Rows rejected, and why",
    )
