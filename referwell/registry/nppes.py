"""CMS's NPPES monthly file (`npidata_pfile_*.csv`, ~9 GB, 330 quoted columns), kept to the
knowledge base's professions and upserted into the registry by NPI.

Two readers, one result:

- `referwell.registry.frames` — polars, for a plain CSV file: batches of rows, vectorised;
- the Python reader here — for the zip CMS distributes (its member decompressed as it is read)
  and for a file polars refuses (a quote left open, a row too long, not UTF-8). The file is
  read in binary chunks of whole lines (8 MB); a row is looked at only when a byte search
  finds one of the wanted NUCC codes followed by its closing quote (`111N00000X"`), or when
  its Entity Type Code is empty (a deactivated NPI); a candidate row is split on `","`, or by
  the csv module when a value holds a quote; on a big file, worker processes parse the chunks
  (two chunks per worker in flight at most: bounded memory).

The reference functions (`referwell.registry.rows`) decide what a row gives or why it is
rejected; the polars reader uses them for every row that is not plain. The columns, the layout
and the results are `referwell.registry.layout`'s. `referwell.registry.store` stages the rows
and merges them in one transaction: an import is all or nothing. `bench/nppes_bench.py`
measures the whole on a generated one-million-row file.
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import multiprocessing
import os
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.utils import timezone

from referwell.core.geo import zip_centroid
from referwell.registry import frames
from referwell.registry.layout import (
    MAX_PROBLEMS,
    Counts,
    Layout,
    NppesFormatError,
    Parsed,
    Problem,
    RowError,
    Selection,
    read_header,
)
from referwell.registry.models import ImportRun, ImportStatus
from referwell.registry.rows import deactivation_from_values, entry_from_values, split_row
from referwell.registry.store import Staging, fingerprinted

CHUNK_SIZE = 8 << 20
WRITE_BATCH = 20_000
PARALLEL_ABOVE = 64 << 20  # files smaller than this are read in the same process
MAX_LINE = 64 << 20

# A deactivated NPI's row: `"1234567890","",` — the NPI, then an empty Entity Type Code.
DEACTIVATED_SIGNATURE = b'","",'
CODE_END = b'X"'  # every NUCC code ends in X


# ---------------------------------------------------------------------------- the chunks


def _candidates(chunk: bytes, codes: frozenset[bytes]) -> tuple[list[tuple[int, int]], int]:
    """(start, end) of the lines that contain a wanted code in quotes, or a deactivation;
    and the number of lines."""
    spans = []
    find, rfind = chunk.find, chunk.rfind
    i = find(CODE_END)
    while i != -1:
        if chunk[i - 9 : i + 1] in codes and chunk[i - 10 : i - 9] == b'"':
            start = rfind(b"\n", 0, i) + 1
            end = find(b"\n", i)
            if end == -1:
                end = len(chunk)
            spans.append((start, end))
            i = find(CODE_END, end)
        else:
            i = find(CODE_END, i + 2)
    start = lines = 0
    while True:
        lines += 1
        end = find(b"\n", start)
        if chunk[start + 11 : start + 16] == DEACTIVATED_SIGNATURE and (
            end == -1 or end >= start + 16  # within this line, not the next one
        ):
            spans.append((start, len(chunk) if end == -1 else end))
        if end == -1:
            return spans, lines
        start = end + 1


def parse_chunk(chunk: bytes, layout: Layout, selection: Selection) -> Parsed:
    """Parse the candidate rows of a chunk of whole lines. A problem's line number counts
    from the chunk's first line (0); `number_lines` makes it the file's."""
    chunk = chunk.rstrip(b"\r\n")  # blank lines at the end are no rows
    if not chunk:
        return Parsed()
    spans, lines = _candidates(chunk, selection.code_bytes)
    parsed = Parsed(read=lines)
    for start, end in sorted(set(spans)):
        line = chunk[start:end]
        if line.endswith(b"\r"):
            line = line[:-1]
        try:
            values = split_row(line, layout)
            if line[11:16] == DEACTIVATED_SIGNATURE and not values[layout.entity]:
                hit = deactivation_from_values(values, layout)
                if hit is not None:
                    parsed.deactivations.append(hit)
                continue
            entry = entry_from_values(values, layout, selection, 0)
        except RowError as exc:
            parsed.rejected += 1
            if len(parsed.problems) < MAX_PROBLEMS:
                parsed.problems.append(Problem(chunk.count(b"\n", 0, start), str(exc)))
            continue
        if entry is not None:
            parsed.kept += 1
            parsed.entries.append(entry)
    return parsed


# ---------------------------------------------------------------------------- the stream


@contextmanager
def open_nppes(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """The provider file as a binary stream: the file itself, or the npidata_pfile_*.csv
    member of the zip CMS distributes (decompressed as it is read, never extracted)."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            with archive.open(provider_member(archive, path.name)) as stream:
                yield stream
    else:
        with path.open("rb") as stream:
            yield stream


def provider_member(archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    """The provider file in the zip CMS distributes: the largest npidata_pfile_*.csv (not its
    _fileheader.csv), or else the largest CSV file."""
    members = [
        info
        for info in archive.infolist()
        if info.filename.lower().endswith(".csv") and "fileheader" not in info.filename.lower()
    ]
    wanted = [m for m in members if Path(m.filename).name.startswith("npidata_pfile")]
    chosen = wanted or members
    if not chosen:
        raise NppesFormatError(f"{name}: no npidata_pfile_*.csv in this zip")
    return max(chosen, key=lambda info: info.file_size)


@contextmanager
def damaged_zip_refused(path: str | os.PathLike[str]) -> Iterator[None]:
    """A damaged zip fails as it is read (a bad CRC, a cut or corrupt deflate stream, a
    compression method flipped to one zipfile does not know): NppesFormatError, one line."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise NppesFormatError(
            f"{Path(path).name}: the zip file is damaged or cannot be read ({exc})"
        ) from None


def read_chunks(stream: IO[bytes], size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Chunks of whole lines (the last one may lack its line end)."""
    rest = b""
    while True:
        block = stream.read(size)
        if not block:
            if rest.strip():
                yield rest
            return
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            rest += block
            if len(rest) > MAX_LINE:
                raise NppesFormatError(f"a line longer than {MAX_LINE >> 20} MB: not a CSV file")
            continue
        yield rest + block[:cut]
        rest = block[cut:]


def number_lines(parsed_chunks: Iterable[Parsed]) -> Iterator[Parsed]:
    """Turn the problems' line numbers into the file's (the header is line 1)."""
    line = 2
    for parsed in parsed_chunks:
        for problem in parsed.problems:
            problem.line += line
        line += parsed.read
        yield parsed


def iter_parsed(
    stream: IO[bytes], selection: Selection, chunk_size: int = CHUNK_SIZE
) -> Iterator[Parsed]:
    """Parse a whole provider file, chunk by chunk, in this process."""
    layout = read_header(stream)
    chunks = read_chunks(stream, chunk_size)
    yield from number_lines(parse_chunk(chunk, layout, selection) for chunk in chunks)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Parsing makes millions of short-lived lists and tuples and no reference cycle: the
    cyclic garbage collector would only rescan them (it doubled the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# A worker process's state: set once by _start_worker.
_worker: dict[str, Any] = {}


def _start_worker(layout: Layout, selection: Selection, path: str | None) -> None:
    gc.disable()
    _worker.update(layout=layout, selection=selection)
    if path is not None:
        _worker["fd"] = os.open(path, os.O_RDONLY)


def _parse_in_worker(task: bytes | tuple[int, int]) -> Parsed:
    """Parse a chunk: given as bytes, or as a byte range of the file for the worker to read."""
    if isinstance(task, tuple):
        start, end = task
        task = os.pread(_worker["fd"], end - start, start)
    return parse_chunk(task, _worker["layout"], _worker["selection"])


def byte_ranges(stream: IO[bytes], size: int = CHUNK_SIZE) -> Iterator[tuple[int, int]]:
    """(start, end) of chunks of whole lines, from the stream's position to its end; only the
    line across each boundary is read."""
    start = stream.tell()
    total = os.fstat(stream.fileno()).st_size
    while start < total:
        stream.seek(min(start + size, total))
        stream.readline(MAX_LINE)
        end = stream.tell()
        yield start, end
        start = end


def default_workers(path: str | os.PathLike[str]) -> int:
    """0 (parse in this process) for a small file, else one per CPU, up to 4."""
    if Path(path).stat().st_size < PARALLEL_ABOVE:
        return 0
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))


def parsed_from_file(
    path: str | os.PathLike[str], selection: Selection, workers: int | None = None
) -> Iterator[Parsed]:
    """The file's chunks, parsed, in order. With workers > 0, worker processes parse the
    chunks — reading their byte ranges themselves for a plain file, receiving them from this
    process for a zip — while this process writes to the database; at most two chunks per
    worker are in flight (bounded memory)."""
    if workers is None:
        workers = default_workers(path)
    with damaged_zip_refused(path), open_nppes(path) as stream:
        if not workers:
            yield from iter_parsed(stream, selection)
            return
        layout = read_header(stream)
        plain = isinstance(stream, io.BufferedReader)
        tasks: Iterable[bytes | tuple[int, int]] = (
            byte_ranges(stream) if plain else read_chunks(stream)
        )
        yield from number_lines(
            _parse_in_pool(tasks, layout, selection, workers, str(path) if plain else None)
        )


def _parse_in_pool(
    tasks: Iterable[bytes | tuple[int, int]],
    layout: Layout,
    selection: Selection,
    workers: int,
    path: str | None,
) -> Iterator[Parsed]:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    zip_centroid("")  # build the ZIP index once, before the fork
    pool = ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(layout, selection, path),
    )
    pending: deque[Future[Parsed]] = deque()
    try:
        for task in tasks:
            pending.append(pool.submit(_parse_in_worker, task))
            if len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------- the upsert


def nppes_import(
    path: str | os.PathLike[str],
    *,
    states: Iterable[str] = (),
    progress: Callable[[Counts], None] | None = None,
    workers: int | None = None,
) -> ImportRun:
    """Import (or re-import) a provider file into the registry; returns the recorded run.

    Upserts by NPI: a new NPI is created, a changed one updated, an unchanged one left alone;
    a deactivated NPI that is in the registry is marked deactivated. All or nothing: the rows
    are staged, then merged in one transaction. Raises NppesFormatError for a file that is not
    an NPPES provider file; a bad row is only counted (`rejected`)."""
    states = sorted({s.strip().upper() for s in states})
    # A run still "running" was stopped (killed, a power cut) before it could record its end;
    # it wrote nothing (the merge is one transaction).
    ImportRun.objects.filter(status=ImportStatus.RUNNING).update(
        status=ImportStatus.FAILED,
        finished_at=timezone.now(),
        error="Interrupted before it finished; nothing of it was written.",
    )
    run = ImportRun.objects.create(file_name=str(path)[-500:], states=states)
    counts = Counts()
    try:
        selection = Selection.from_knowledge_base(states)
        with gc_paused():
            _load(Path(path), selection, counts, progress, workers)
    except BaseException as exc:
        run.status = ImportStatus.FAILED
        run.error = str(exc)[:2000] or type(exc).__name__
        _finish(run, counts, timezone.now())
        raise
    run.status = ImportStatus.DONE
    _finish(run, counts, timezone.now())
    return run


def _load(
    path: Path,
    selection: Selection,
    counts: Counts,
    progress: Callable[[Counts], None] | None,
    workers: int | None,
) -> None:
    """Stage the file's rows — read by polars, or by the Python reader for a zip and for a
    file polars refuses — then merge them."""
    readers: list[Callable[[], Any]] = [lambda: _PythonReader(path, selection, workers)]
    if not zipfile.is_zipfile(path):
        readers.insert(0, lambda: frames.FrameReader(path, selection))

    for make in readers:
        reader = make()
        staging = Staging()
        deactivations: dict[str, str] = {}

        def finish_reading(reader: Any = reader) -> None:
            counts.read += reader.finish().read
            if progress is not None:
                progress(counts)

        try:
            try:
                for parsed, frame in reader:
                    counts.read += parsed.read
                    counts.kept += parsed.kept
                    counts.rejected += parsed.rejected
                    room = MAX_PROBLEMS - len(counts.problems)
                    counts.problems.extend(parsed.problems[: max(room, 0)])
                    deactivations.update(parsed.deactivations)
                    staging.add(fingerprinted(frame, selection.seed))
                    if progress is not None:
                        progress(counts)
                staging.merge(
                    deactivations,
                    counts,
                    while_writing=reader.start_counting,
                    before_commit=finish_reading,
                )
            except frames.PolarsRefused:
                # Not CSV as polars reads it (unbalanced quotes, a row too long, not UTF-8):
                # start again with the Python reader, which judges row by row. (A refusal
                # found during the merge undid it.)
                counts.reset()
                continue
            return
        finally:
            staging.close()


class _PythonReader:
    """The file's rows, read by the Python reader (a zip, or a file polars refuses)."""

    def __init__(self, path: Path, selection: Selection, workers: int | None) -> None:
        self.path, self.selection, self.workers = path, selection, workers

    def __iter__(self) -> Iterator[tuple[Parsed, Any]]:
        for parsed in parsed_from_file(self.path, self.selection, workers=self.workers):
            yield parsed, frames.entries_frame(parsed.entries)

    def start_counting(self) -> None:
        pass  # every row is counted as it is read

    def finish(self) -> Parsed:
        return Parsed()


def _finish(run: ImportRun, counts: Counts, now: dt.datetime) -> None:
    for name in ("read", "kept", "created", "updated", "unchanged", "deactivated", "rejected"):
        setattr(run, name, getattr(counts, name))
    run.problems = [{"line": p.line, "reason": p.reason} for p in counts.problems]
    run.finished_at = now
    run.save()
