"""A practice restored from its export, as a job (referwell/core/jobs.py): an owner uploads the
zip "Download everything" made; the worker restores it with `archive.import_practice` — the
function `referwell import-practice` runs, with every check it makes (the size the zip would
unpack to, each member read through a bounded stream, JSON nesting, the slug not taken) — and
the job's page follows it, table by table.

The zip holds clients' health information: it waits in var/jobs encrypted with the clinical
text's key (mode 600, in a folder of 700), and is removed when the job ends.
"""

from __future__ import annotations

import io
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django_tasks import task

from referwell.accounts.models import Practice, User
from referwell.core.jobs import (
    ImportJob,
    Outcome,
    job_create,
    job_run,
    read_stored,
    store_upload,
    uploaded_file,
)
from referwell.interop.export.archive import TABLES, ArchiveError, import_practice

KIND = "interop.restore"
UNEXPECTED = (
    "The restore stopped on an error of the server; nothing of the practice was restored. "
    "The error is in the server's log."
)


def restore_job_start(*, practice: Practice, by: User, upload: UploadedFile[bytes]) -> ImportJob:
    """Keep the uploaded export (encrypted) and queue its restore."""
    path = store_upload(upload, suffix=".zip.enc", encrypt=True)
    job = job_create(
        kind=KIND,
        practice_id=practice.pk,
        by_id=by.pk,
        path=path,
        file_name=Path(upload.name or "export.zip").name,
        unit="tables",
        message="Waiting for the worker",
    )
    restore_job.enqueue(job.pk)
    return job


@task()
def restore_job(job_id: int) -> str:
    """Restore the job's export as a practice of its own (the worker runs it)."""
    return job_run(job_id, _restore, refused=(ArchiveError,), unexpected=UNEXPECTED)


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _restore(job: ImportJob) -> Outcome:
    data = read_stored(uploaded_file(job))
    result = import_practice(io.BytesIO(data), progress=job.report)
    created = result["created"]
    slug = result["practice"]
    practice = Practice.objects.filter(slug=slug).first()
    name = practice.name if practice is not None else slug
    records = sum(created.get(table.name, 0) for table in TABLES)
    notes = [
        f"New account {email}: no one knows its password; its owner sets one with “Forgot "
        "your password?” on the login page."
        for email in result["new_users"]
    ]
    notes.append(
        "API tokens, calendar feed addresses and partners' links are not in an export: "
        "issue new ones in the restored practice."
    )
    return Outcome(
        message=(
            f"“{name}” ({slug}) is restored as a practice of its own on this server: "
            f"{records:,} records."
        ),
        counts=[(_label(table.name), created.get(table.name, 0)) for table in TABLES]
        + [("New accounts", created.get("users", 0))],
        notes=notes,
    )
