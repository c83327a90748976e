"""The owner's "Download everything": the same archive as `referwell export-practice`; and its
restore from a page, as a job the worker runs (`referwell import-practice` on the server)."""

from __future__ import annotations

import tempfile
import zipfile

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from referwell.accounts.http import PracticeRequest
from referwell.accounts.operators import is_operator, operator_required
from referwell.core.decorators import owner_required
from referwell.core.jobs import ImportJob, recent, render_job
from referwell.core.limits import megabytes
from referwell.interop.export import archive, jobs

RESTORES = "restores a practice from its export"


@owner_required("exports the practice's records")
def practice_export(request: PracticeRequest) -> HttpResponse:
    if request.method == "POST":
        # On disk, not in memory: a large practice's archive holds every letter as a PDF.
        out = tempfile.TemporaryFile()  # closed by the FileResponse once sent
        archive.export_practice(request.practice, out, by=request.user, via="web")
        out.seek(0)
        filename = f"{request.practice.slug}-export-{timezone.localdate():%Y-%m-%d}.zip"
        # A FileResponse streams (not an HttpResponse); core.decorators' types name only the latter.
        return FileResponse(  # type: ignore[return-value]
            out, as_attachment=True, filename=filename, content_type="application/zip"
        )
    return render(
        request,
        "interop/practice_export_page.html",
        {
            "tables": archive.TABLES,
            "not_exported": archive.NOT_EXPORTED,
            "operator": is_operator(request),
        },
    )


class RestoreForm(forms.Form):
    file = forms.FileField(
        label="Export file",
        help_text="The .zip that “Download everything” made, as it was downloaded.",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )

    def clean_file(self) -> UploadedFile[bytes]:
        upload: UploadedFile[bytes] = self.cleaned_data["file"]
        if not (upload.name or "").lower().endswith(".zip") or not zipfile.is_zipfile(upload):
            raise ValidationError(
                "This is not a zip file: choose the .zip that “Download everything” made."
            )
        return upload


@operator_required(RESTORES)
def practice_restore(request: PracticeRequest) -> HttpResponse:
    """Upload a practice's export: the worker restores it, followed on the job's page."""
    form = RestoreForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = jobs.restore_job_start(
            practice=request.practice, by=request.user, upload=form.cleaned_data["file"]
        )
        return redirect("practice_restore_job", pk=job.pk)
    return render(
        request,
        "interop/practice_restore.html",
        {
            "form": form,
            "jobs": recent(practice_id=request.practice.pk, kind=jobs.KIND),
            "limit": megabytes(settings.REQUEST_MAX_BYTES),
        },
    )


@owner_required(RESTORES)
@require_GET
def practice_restore_job(request: PracticeRequest, pk: int) -> HttpResponse:
    """A restore and how far it has gone (another practice's: 404)."""
    job = get_object_or_404(ImportJob, pk=pk, kind=jobs.KIND, practice=request.practice)
    return render_job(
        request,
        job,
        title="Restoring a practice",
        back_url=reverse("practice_restore"),
        back_label="Restores",
        on_failure="Nothing of the practice was restored.",
        notes_title="What to do next",
    )
