"""Long work started from a page — an import that takes minutes — as a task the worker runs,
with a record the page follows (`ImportJob`).

    the page (an owner)   keeps the uploaded file (`store_upload`: mode 600 in var/jobs, a
                          folder of 700), creates the job (queued) and enqueues the app's task
                          with the job's id
    the worker            the task calls `job_run`: it claims the job (queued → running, one
                          conditional UPDATE: two workers never both run it) and runs the work,
                          which reports its progress (`ImportJob.report`: done, total, a
                          sentence); then the job is done, with what came of it (counts and
                          notes), or failed, with a plain reason — never a traceback, which goes
                          to the log; the uploaded file is removed either way
    the job's page        `ImportJob.live()`: what the page shows, asked again every 2 seconds
                          while the job runs

Progress reported inside a transaction (an import that is all or nothing) is seen by no other
connection before the commit, so it is also written to a small file beside the uploads
(var/jobs/<id>.progress, mode 600), which the page reads while the job runs.

The kernel knows no domain: an app names its kind (a string of its own), words its messages,
and runs its own work (`referwell.registry.jobs`, `referwell.interop.export.jobs`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from referwell.core import crypto
from referwell.core.limits import private_dir

log = logging.getLogger(__name__)

# A running job with no news for this long was stopped (its worker killed, the server
# restarted): the page says so, and it no longer blocks a new one.
STALE_AFTER = dt.timedelta(minutes=30)
# A job still queued after this long: the page says the worker may not be running.
SLOW_START = dt.timedelta(minutes=2)
STOPPED = (
    "It stopped without finishing: the worker that ran it was stopped (a restart of the "
    "server, say). Nothing of it was kept; start it again."
)


class JobRefused(Exception):
    """The work cannot be done; the message is one plain sentence for the job's page."""


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """One long piece of work started from a page, and how far it has gone."""

    # Named by the app that runs it ("registry.nppes", "interop.restore").
    kind = models.CharField(max_length=40)
    # The practice whose owners follow the job; empty for work started outside any practice.
    practice = models.ForeignKey(
        "accounts.Practice", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    file_name = models.CharField(max_length=200, blank=True, help_text="As it was uploaded.")
    # Where the uploaded file waits (var/jobs); empty once it is removed.
    path = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    done = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(null=True, blank=True, help_text="Empty: not known.")
    unit = models.CharField(max_length=20, default="rows", help_text="What done and total count.")
    message = models.CharField(max_length=300, blank=True, help_text="What it is doing now.")
    error = models.TextField(blank=True, help_text="Why it failed, in plain words.")
    # What came of it: [label, number] pairs in order, and sentences for the owner.
    counts = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "core"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["kind", "status"], name="core_job_kind_status")]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)

    # ------------------------------------------------------------------------ progress

    def report(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """How far the work has gone: written to the job's row at once (and to its progress
        file when inside a transaction, whose writes no one else sees before the commit)."""
        self.done = max(done, 0)
        if total is not None:
            self.total = max(total, self.done)
        if message is not None:
            self.message = message[:300]
        self.updated_at = timezone.now()
        ImportJob.objects.filter(pk=self.pk).update(
            done=self.done, total=self.total, message=self.message, updated_at=self.updated_at
        )
        if connection.in_atomic_block:
            _write_progress(
                self.pk, {"done": self.done, "total": self.total, "message": self.message}
            )

    def live(self) -> JobView:
        """What the job's page shows: the row, with the progress file's newer figures while
        the job runs; a running job with no news for STALE_AFTER is marked failed."""
        view = JobView(
            status=self.status,
            done=self.done,
            total=self.total,
            message=self.message,
            news_at=self.updated_at,
        )
        if self.status == JobStatus.RUNNING:
            newer = _read_progress(self.pk)
            if newer is not None and newer[0] > self.updated_at:
                view.news_at, values = newer
                view.done = int(values.get("done") or 0)
                view.total = values.get("total")
                view.message = str(values.get("message") or "")
            if timezone.now() - view.news_at > STALE_AFTER:
                _fail(self, STOPPED)
                view.status = JobStatus.FAILED
        view.slow_start = (
            self.status == JobStatus.QUEUED and timezone.now() - self.created_at > SLOW_START
        )
        return view


@dataclass
class JobView:
    status: str
    done: int
    total: int | None
    message: str
    news_at: dt.datetime
    slow_start: bool = False

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


@dataclass
class Outcome:
    """What came of a job's work: for its page."""

    message: str
    counts: list[tuple[str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- the files


def jobs_dir() -> Path:
    """var/jobs: the uploaded files waiting for their job, readable by their owner only."""
    return private_dir(Path(settings.VAR_DIR) / "jobs")


def store_upload(upload: UploadedFile[bytes], *, suffix: str, encrypt: bool = False) -> Path:
    """The uploaded file in var/jobs under a random name, created with mode 600; encrypted with
    the clinical text's key (Fernet) when it holds client information."""
    path = jobs_dir() / f"{secrets.token_urlsafe(18)}{suffix}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            upload.seek(0)
            if encrypt:
                out.write(crypto.fernet().encrypt(b"".join(upload.chunks())))
            else:
                for chunk in upload.chunks():
                    out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def uploaded_file(job: ImportJob) -> Path:
    """The job's uploaded file; JobRefused when it is not on this machine."""
    path = Path(job.path) if job.path else None
    if path is None or not path.is_file():
        raise JobRefused(
            "The uploaded file is not on the machine that ran the job (with several app "
            "servers, the worker must see the same var/jobs folder); upload it again."
        )
    return path


def read_stored(path: str | Path) -> bytes:
    """The bytes of a file stored with encrypt=True; JobRefused when they cannot be decrypted."""
    try:
        return crypto.fernet().decrypt(Path(path).read_bytes())
    except InvalidToken:
        raise JobRefused(
            "The uploaded file cannot be decrypted: the server's encryption keys changed "
            "since it was uploaded. Upload it again."
        ) from None


def remove_file(job: ImportJob) -> None:
    """The job's uploaded file and its progress file, removed."""
    if job.path:
        Path(job.path).unlink(missing_ok=True)
        job.path = ""
        ImportJob.objects.filter(pk=job.pk).update(path="")
    _progress_path(job.pk).unlink(missing_ok=True)


def _progress_path(pk: int) -> Path:
    return Path(settings.VAR_DIR) / "jobs" / f"{pk}.progress"


def _write_progress(pk: int, values: dict[str, Any]) -> None:
    path = _progress_path(pk)
    partial = path.with_suffix(".partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(values, out)
        os.replace(partial, path)
    except OSError:
        log.warning("job %s: cannot write its progress file %s", pk, path, exc_info=True)


def _read_progress(pk: int) -> tuple[dt.datetime, dict[str, Any]] | None:
    path = _progress_path(pk)
    try:
        at = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (at, values) if isinstance(values, dict) else None


# ---------------------------------------------------------------------------- the run


def job_create(
    *,
    kind: str,
    practice_id: int | None,  # an accounts.Practice's (the kernel imports no app)
    by_id: int | None,  # an accounts.User's
    path: Path,
    file_name: str,
    unit: str,
    message: str,
) -> ImportJob:
    return ImportJob.objects.create(
        kind=kind,
        practice_id=practice_id,
        started_by_id=by_id,
        path=str(path),
        file_name=file_name[:200],
        unit=unit,
        message=message,
    )


def under_way(kind: str) -> ImportJob | None:
    """A job of this kind that is queued or running (and not stopped long ago), if any."""
    now = timezone.now()
    for job in ImportJob.objects.filter(
        kind=kind, status__in=(JobStatus.QUEUED, JobStatus.RUNNING)
    ):
        if job.status == JobStatus.QUEUED and now - job.created_at < STALE_AFTER:
            return job
        if job.status == JobStatus.RUNNING and job.live().status == JobStatus.RUNNING:
            return job
    return None


def recent(*, practice_id: int, kind: str, limit: int = 5) -> list[ImportJob]:
    """The practice's latest jobs of a kind, newest first."""
    return list(ImportJob.objects.filter(practice_id=practice_id, kind=kind)[:limit])


def job_run(
    job_id: int,
    work: Callable[[ImportJob], Outcome],
    *,
    refused: tuple[type[Exception], ...] = (),
    unexpected: str,
) -> str:
    """Run a queued job: claim it, do the work, record its outcome; returns "done", "failed"
    or "skipped" (the job is not queued: another worker has it, or it is gone).

    An exception of `refused` fails the job with its own message (one plain sentence); any
    other fails it with `unexpected`, and goes to the log with its traceback."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, updated_at=now
    )
    if claimed != 1:
        return "skipped"
    job = ImportJob.objects.get(pk=job_id)
    plain: tuple[type[Exception], ...] = (JobRefused, *refused)
    try:
        outcome = work(job)
    except plain as exc:
        _fail(job, str(exc) or unexpected)
        return "failed"
    except Exception:
        log.exception("job %s (%s) failed", job.pk, job.kind)
        _fail(job, unexpected)
        return "failed"
    finally:
        remove_file(job)
    job.status = JobStatus.DONE
    job.message = outcome.message[:300]
    job.counts = [[label, number] for label, number in outcome.counts]
    job.notes = list(outcome.notes)
    if job.total is not None:
        job.done = job.total
    job.finished_at = timezone.now()
    job.save(
        update_fields=[
            "status",
            "message",
            "counts",
            "notes",
            "done",
            "finished_at",
            "updated_at",
        ]
    )
    return "done"


def _fail(job: ImportJob, reason: str) -> None:
    job.status = JobStatus.FAILED
    job.error = reason[:2000]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "updated_at"])
    remove_file(job)


# ---------------------------------------------------------------------------- the page


def render_job(
    request: HttpRequest,
    job: ImportJob,
    *,
    title: str,
    back_url: str,
    back_label: str,
    on_failure: str = "",
    notes_title: str = "",
) -> HttpResponse:
    """The job's page; its status part alone for htmx's poll (every 2 s while it runs).
    `on_failure`: a sentence shown under a failure's reason (what became of the data);
    `notes_title`: the heading of the outcome's notes."""
    template = "core/job.html"
    if getattr(request, "htmx", False):
        template += "#status"
    return render(
        request,
        template,
        {
            "job": job,
            "view": job.live(),
            "title": title,
            "back_url": back_url,
            "back_label": back_label,
            "on_failure": on_failure,
            "notes_title": notes_title,
        },
    )
