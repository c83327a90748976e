"""Bounds on what a request or an imported file may make the server read (issue #20).

- `RequestSizeLimitMiddleware`: a request whose Content-Length is above REQUEST_MAX_BYTES is
  answered 413 with a plain sentence before anything reads its body (Django's own
  DATA_UPLOAD_MAX_MEMORY_SIZE leaves out the files of a multipart form; they were read, then
  refused by the form).
- `json_too_deep()`: JSON nested deeper than a limit, found without parsing it (Python's parser
  recurses, and a file of 100,000 `[` ends in RecursionError).
- `read_zip_member()`: one member of a zip, read through a bounded stream: never more than its
  declared size nor a cap, so a zip bomb is refused instead of filling the memory.
- `private_dir()` / `private_file()`: var/ and what it holds, readable by its owner only.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse

MB = 1024 * 1024


def megabytes(size: int) -> str:
    return f"{size / MB:.0f} MB" if size >= MB else f"{size / 1024:.0f} KB"


class RequestSizeLimitMiddleware:
    """413 for a request announcing a body above settings.REQUEST_MAX_BYTES; the body is left
    unread. (A body without Content-Length is not read by Django at all.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.REQUEST_MAX_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit and length > limit:
            return HttpResponse(
                f"This upload is too large ({megabytes(length)}): a request may carry at most "
                f"{megabytes(limit)}. Send fewer or smaller files.\n",
                status=413,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


# Strings (with their escapes) removed first: a bracket inside a string does not nest.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def json_too_deep(text: str, limit: int) -> bool:
    """Whether arrays and objects are nested more than `limit` deep somewhere in `text`."""
    depth = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class ZipMemberTooLarge(ValueError):
    """A zip member larger than allowed, or than it says it is; the message is for a person."""


def read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """The member's bytes, refused (ZipMemberTooLarge) when its declared size is above `cap`
    or when it decompresses to more than its declared size; at most cap + 64 KB is read."""
    if info.file_size > cap:
        raise ZipMemberTooLarge(
            f"{info.filename} would unpack to {megabytes(info.file_size)}, "
            f"more than the {megabytes(cap)} allowed."
        )
    chunks: list[bytes] = []
    size = 0
    with archive.open(info) as stream:
        while chunk := stream.read(64 * 1024):
            size += len(chunk)
            if size > info.file_size or size > cap:
                raise ZipMemberTooLarge(
                    f"{info.filename} unpacks to more than the size it declares: "
                    "the archive is damaged or forged."
                )
            chunks.append(chunk)
    return b"".join(chunks)


def private_dir(path: Path) -> Path:
    """Create the directory (and its missing parents, each of mode 700) if need be; mode 700
    either way when it is ours."""
    missing = []
    ancestor = path
    while not ancestor.exists():
        missing.append(ancestor)
        ancestor = ancestor.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
    except OSError:
        pass  # not ours to change: the operator's choice
    return path


def private_file(path: str | Path) -> None:
    """Create the file empty with mode 600 if it does not exist; make it 600 if it does."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
        except OSError:
            pass  # not ours to change
    except OSError:
        pass  # no such directory, say: whoever opens the file next reports it
    else:
        os.close(fd)
