"""The owner's "Download everything": the same archive as `referwell export-practice`."""

from __future__ import annotations

import tempfile

from django.http import FileResponse, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from referwell.accounts.http import PracticeRequest
from referwell.core.decorators import owner_required
from referwell.interop.export import archive


@owner_required("exports the practice's records")
def practice_export(request: PracticeRequest) -> HttpResponse:
    if request.method == "POST":
        # On disk, not in memory: a large practice's archive holds every letter as a PDF.
        out = tempfile.TemporaryFile()  # closed by the FileResponse once sent
        archive.export_practice(request.practice, out, by=request.user, via="web")
        out.seek(0)
        filename = f"{request.practice.slug}-export-{timezone.localdate():%Y-%m-%d}.zip"
        return FileResponse(
            out, as_attachment=True, filename=filename, content_type="application/zip"
        )
    return render(
        request,
        "interop/practice_export.html",
        {"tables": archive.TABLES, "not_exported": archive.NOT_EXPORTED},
    )
