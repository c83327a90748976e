"""The NPPES import as a job (referwell/core/jobs.py): an owner uploads a provider file on the
registry's import page; the worker imports it with `nppes.nppes_import` — the function
`referwell import-nppes` runs — and the job's page follows it, batch by batch.

The file waits in var/jobs (mode 600, in a folder of 700) and is removed when the job ends. It
is checked when it arrives (a provider file's header; for a zip, a provider file that does not
unpack to more than UPLOAD_RATIO times the zip), so that a wrong file is refused on the form;
what only reading the whole file tells (a damaged zip, say) fails the job with its reason.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django_tasks import task

from referwell.accounts.models import Practice, User
from referwell.core.jobs import (
    ImportJob,
    JobRefused,
    Outcome,
    job_create,
    job_run,
    store_upload,
    uploaded_file,
)
from referwell.registry import nppes
from referwell.registry.layout import Counts, NppesFormatError, read_header

KIND = "registry.nppes"
# CMS's provider file compresses about ten to one; a zip that would unpack to far more is not
# one (a zip bomb), and would keep the worker busy for nothing.
UPLOAD_RATIO = 100
SHOWN_PROBLEMS = 20
COUNT_BLOCK = 8 << 20
UNEXPECTED = (
    "The import stopped on an error of the server; the registry is as it was. The error is "
    "in the server's log."
)


def check_upload(path: Path, name: str) -> None:
    """NppesFormatError, in a sentence naming the file as uploaded, for a file that is not an
    NPPES provider file (by its header) or a zip that would unpack to too much."""
    try:
        with nppes.damaged_zip_refused(path):
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    member = nppes.provider_member(archive, path.name)
                size = path.stat().st_size
                if member.file_size > UPLOAD_RATIO * max(size, 1):
                    raise NppesFormatError(
                        f"{path.name}: {Path(member.filename).name} would unpack to "
                        f"{member.file_size:,} bytes from {size:,}, far more than a provider "
                        "file packs into; it is not one"
                    )
            with nppes.open_nppes(path) as stream:
                read_header(stream)
    except RuntimeError as exc:  # zipfile: a member protected by a password
        raise NppesFormatError(f"{name}: the zip file cannot be read ({exc})") from None
    except NppesFormatError as exc:
        raise NppesFormatError(_named(str(exc), path, name)) from None


def _named(message: str, path: Path, name: str) -> str:
    """A message about the stored file, naming it as it was uploaded."""
    message = message.replace(path.name, name)
    return message if message.startswith(name) else f"{name}: {message}"


def count_rows(path: Path) -> int:
    """The rows of the provider file (its lines but the header), read once to show the
    progress against them."""
    lines, last = 0, b"\n"
    with nppes.damaged_zip_refused(path), nppes.open_nppes(path) as stream:
        while block := stream.read(COUNT_BLOCK):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1  # the last row lacks its line end
    return max(lines - 1, 0)


def nppes_job_start(*, practice: Practice, by: User, upload: UploadedFile[bytes]) -> ImportJob:
    """Keep the uploaded file (checked: NppesFormatError) and queue its import."""
    name = Path(upload.name or "npidata.csv").name
    suffix = ".zip" if name.lower().endswith(".zip") else ".csv"
    path = store_upload(upload, suffix=suffix)
    try:
        check_upload(path, name)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    job = job_create(
        kind=KIND,
        practice_id=practice.pk,
        by_id=by.pk,
        path=path,
        file_name=name,
        unit="rows",
        message="Waiting for the worker",
    )
    nppes_job.enqueue(job.pk)
    return job


@task()
def nppes_job(job_id: int) -> str:
    """Import the job's file into the registry (the worker runs it)."""
    return job_run(job_id, _import, refused=(NppesFormatError,), unexpected=UNEXPECTED)


def _import(job: ImportJob) -> Outcome:
    path = uploaded_file(job)
    job.report(0, None, "Counting the rows of the file")
    try:
        total = count_rows(path)
        job.report(0, total, "Reading the file")

        def progress(counts: Counts) -> None:
            message = (
                f"Reading the file: {counts.kept:,} kept so far"
                if counts.read < total
                else "Writing the registry"
            )
            job.report(counts.read, max(total, counts.read), message)

        run = nppes.nppes_import(path, progress=progress)
    except NppesFormatError as exc:
        raise NppesFormatError(_named(str(exc), path, job.file_name)) from None
    except OSError as exc:
        raise JobRefused(f"{job.file_name} could not be read ({exc.strerror or exc}).") from None
    notes = [f"Line {p['line']}: {p['reason']}" for p in run.problems[:SHOWN_PROBLEMS]]
    if run.rejected > len(notes):
        notes.append(f"… and {run.rejected - len(notes):,} more rows rejected.")
    return Outcome(
        message=(
            f"{run.read:,} rows read, {run.kept:,} kept (the professions of the knowledge "
            "base): the registry is up to date with this file."
        ),
        counts=[
            ("Rows read", run.read),
            ("Kept", run.kept),
            ("New in the registry", run.created),
            ("Updated", run.updated),
            ("Unchanged", run.unchanged),
            ("Deactivated", run.deactivated),
            ("Rejected", run.rejected),
        ],
        notes=notes,
    )
