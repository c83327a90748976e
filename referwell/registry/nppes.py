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

The reference functions (`entry_from_values`, `deactivation_from_values`) decide what a row
gives or why it is rejected; the polars reader uses them for every row that is not plain.
`referwell.registry.store` stages the rows and merges them in one transaction: an import is
all or nothing. `bench/nppes_bench.py` measures the whole on a generated one-million-row file.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import json
import multiprocessing
import os
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from referwell.core.geo import zip_centroid
from referwell.core.validators import validate_npi

if TYPE_CHECKING:
    from referwell.registry.models import ImportRun

CHUNK_SIZE = 8 << 20
WRITE_BATCH = 20_000
PARALLEL_ABOVE = 64 << 20  # files smaller than this are read in the same process
MAX_PROBLEMS = 100
MAX_LINE = 64 << 20
TAXONOMY_SLOTS = 15

COL_NPI = "NPI"
COL_ENTITY = "Entity Type Code"
COL_ORG_NAME = "Provider Organization Name (Legal Business Name)"
COL_LAST = "Provider Last Name (Legal Name)"
COL_FIRST = "Provider First Name"
COL_MIDDLE = "Provider Middle Name"
COL_SUFFIX = "Provider Name Suffix Text"
COL_CREDENTIAL = "Provider Credential Text"
COL_LINE1 = "Provider First Line Business Practice Location Address"
COL_LINE2 = "Provider Second Line Business Practice Location Address"
COL_CITY = "Provider Business Practice Location Address City Name"
COL_STATE = "Provider Business Practice Location Address State Name"
COL_ZIP = "Provider Business Practice Location Address Postal Code"
COL_PHONE = "Provider Business Practice Location Address Telephone Number"
COL_LAST_UPDATE = "Last Update Date"
COL_DEACTIVATED = "NPI Deactivation Date"
COL_REACTIVATED = "NPI Reactivation Date"
COL_TAXONOMY = "Healthcare Provider Taxonomy Code_{}"
COL_PRIMARY = "Healthcare Provider Primary Taxonomy Switch_{}"

# The registry table's columns, in the order of the tuples `parse_chunk` makes.
ENTRY_COLUMNS = (
    "npi",
    "entity_type",
    "name",
    "credentials",
    "profession",
    "taxonomy",
    "taxonomies",
    "address",
    "city",
    "state",
    "zip_code",
    "phone",
    "latitude",
    "longitude",
    "last_updated_on",
    "deactivated_on",
    "fingerprint",
)

# A deactivated NPI's row: `"1234567890","",` — the NPI, then an empty Entity Type Code.
DEACTIVATED_SIGNATURE = b'","",'
CODE_END = b'X"'  # every NUCC code ends in X


class NppesFormatError(ValueError):
    """The file is not an NPPES provider file (or not one we can read); one-line message."""


class RowError(ValueError):
    """One row cannot be used; the message says why."""


# ---------------------------------------------------------------------------- what to keep


@dataclass(frozen=True)
class Selection:
    """Which rows to keep: the NUCC codes of the knowledge base's professions, some states."""

    professions_by_code: dict[str, str]
    states: frozenset[str] = frozenset()
    code_bytes: frozenset[bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        codes = frozenset(code.encode("ascii") for code in self.professions_by_code)
        object.__setattr__(self, "code_bytes", codes)

    @classmethod
    def from_knowledge_base(cls, states: Iterable[str] = ()) -> Selection:
        from referwell.guidance import kb

        by_code: dict[str, str] = {}
        for slug, profession in kb.load().professions.items():
            if not profession.is_provider:
                continue
            for code in profession.nucc:
                by_code.setdefault(code, slug)  # a code shared by two professions: the first
        return cls(by_code, frozenset(s.strip().upper() for s in states))

    @property
    def seed(self) -> int:
        """Part of every fingerprint, so that a change of the codes rewrites the rows."""
        return zlib.crc32(json.dumps(sorted(self.professions_by_code.items())).encode())


# The columns read for each kept row, in this order (see `Layout.pick`).
FIELD_COLUMNS = (
    COL_NPI,
    COL_ENTITY,
    COL_ORG_NAME,
    COL_LAST,
    COL_FIRST,
    COL_MIDDLE,
    COL_SUFFIX,
    COL_CREDENTIAL,
    COL_LINE1,
    COL_LINE2,
    COL_CITY,
    COL_STATE,
    COL_ZIP,
    COL_PHONE,
    COL_LAST_UPDATE,
    COL_DEACTIVATED,
    COL_REACTIVATED,
)


@dataclass(frozen=True)
class Layout:
    """Where the columns we read are, from the header line (V1 and V2 layouts both work)."""

    width: int
    npi: int
    entity: int
    deactivated: int
    reactivated: int
    pick: Callable[[list[str]], tuple[str, ...]]  # the FIELD_COLUMNS of a row
    pick_codes: Callable[[list[str]], tuple[str, ...]]  # Taxonomy Code_1 … _15
    pick_switches: Callable[[list[str]], tuple[str, ...]]  # Primary Taxonomy Switch_1 … _15
    last_needed: int

    @classmethod
    def from_header(cls, raw: bytes) -> Layout:
        text = raw.decode("utf-8-sig", errors="replace").rstrip("\r\n")
        try:
            names = next(csv.reader([text]), [])
        except csv.Error as exc:  # a field over csv's size limit, a NUL…
            raise NppesFormatError(
                f"not an NPPES provider file: the header is not CSV ({exc})"
            ) from None
        index = {name.strip(): i for i, name in enumerate(names)}
        if names[:2] != [COL_NPI, COL_ENTITY]:
            raise NppesFormatError(
                "not an NPPES provider file: the header does not start with "
                f'"{COL_NPI}","{COL_ENTITY}"'
            )

        def col(name: str) -> int:
            try:
                return index[name]
            except KeyError:
                raise NppesFormatError(f'not an NPPES provider file: no "{name}" column') from None

        fields = [col(name) for name in FIELD_COLUMNS]
        slots = range(1, TAXONOMY_SLOTS + 1)
        codes = [col(COL_TAXONOMY.format(n)) for n in slots]
        switches = [col(COL_PRIMARY.format(n)) for n in slots]
        return cls(
            width=len(names),
            npi=col(COL_NPI),
            entity=col(COL_ENTITY),
            deactivated=col(COL_DEACTIVATED),
            reactivated=col(COL_REACTIVATED),
            pick=itemgetter(*fields),
            pick_codes=itemgetter(*codes),
            pick_switches=itemgetter(*switches),
            last_needed=max(fields + codes + switches),
        )


# ---------------------------------------------------------------------------- values


_dates: dict[str, str] = {}


def iso_date(value: str) -> str | None:
    """NPPES's MM/DD/YYYY as YYYY-MM-DD; None when empty; RowError when not a date."""
    if not value:
        return None
    hit = _dates.get(value)
    if hit is None:
        try:
            month, day, year = (int(part) for part in value.split("/"))
            hit = dt.date(year, month, day).isoformat()
        except (ValueError, OverflowError):  # OverflowError: a year of twenty digits
            raise RowError(f"'{value}' is not a date (MM/DD/YYYY)") from None
        if len(_dates) < 100_000:
            _dates[value] = hit
    return hit


def check_npi(npi: str) -> None:
    if not npi:
        raise RowError("no NPI")
    if not (npi.isascii() and npi.isdigit()):  # validate_npi's int() fails on "²"
        raise RowError(f"NPI '{npi}': not 10 digits")
    try:
        validate_npi(npi)
    except ValidationError as exc:
        raise RowError(f"NPI '{npi}': {exc.messages[0]}") from None


# ---------------------------------------------------------------------------- rows


def split_row(line: bytes, layout: Layout) -> list[str]:
    """The row's values (at least up to the last column we read), or RowError."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("latin-1")  # older files and some mirrors are Latin-1
    if "\x00" in text:
        # A NUL is never data (and PostgreSQL cannot store it in text or JSON): dropped.
        text = text.replace("\x00", "")
    if (
        text.count('"') == 2 * layout.width
        and text.count('","') == layout.width - 1
        and text[0] == '"'
        and text[-1] == '"'
    ):
        # No quote inside any value: splitting on "," is exact.
        return text[1:].split('","', layout.last_needed + 1)
    try:
        values = next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration):
        raise RowError("malformed CSV (unbalanced quotes)") from None
    if len(values) != layout.width:
        raise RowError(f"{len(values)} columns instead of {layout.width}")
    return values


def entry_from_values(
    values: list[str], layout: Layout, selection: Selection, row_fingerprint: int
) -> tuple[Any, ...] | None:
    """The registry row (ENTRY_COLUMNS) for a provider, or None when not in the selection."""
    by_code = selection.professions_by_code
    all_codes = layout.pick_codes(values)
    codes = [code for code in all_codes if code in by_code]
    if not codes:
        return None
    (
        npi,
        entity,
        org_name,
        last,
        first,
        middle,
        suffix,
        credential,
        line1,
        line2,
        city,
        state,
        zip_code,
        phone,
        last_update,
        deactivation,
        reactivation,
    ) = layout.pick(values)
    state = state.strip().upper()
    if selection.states and state not in selection.states:
        return None
    primary = codes[0]
    if len(codes) > 1:
        codes = list(dict.fromkeys(codes))
        for code, switch in zip(all_codes, layout.pick_switches(values), strict=True):
            if switch == "Y" and code in by_code:
                primary = code
                break
    check_npi(npi)
    if entity == "1":
        name = " ".join(filter(None, (first, middle, last, suffix))).title()
    elif entity == "2":
        name = org_name.strip()
    else:
        raise RowError(f"NPI {npi}: Entity Type Code '{entity}' is neither 1 nor 2")
    if not name:
        raise RowError(f"NPI {npi}: no name")
    try:
        last_updated_on = _dates.get(last_update) or iso_date(last_update)
        deactivated_on = iso_date(deactivation)
        if deactivated_on and reactivation and (iso_date(reactivation) or "") >= deactivated_on:
            deactivated_on = None
    except RowError as exc:
        raise RowError(f"NPI {npi}: {exc}") from None
    point = zip_centroid(zip_code)
    zip_code = zip_code.strip()
    if len(zip_code) == 9 and zip_code.isdigit():
        zip_code = f"{zip_code[:5]}-{zip_code[5:]}"
    if len(phone) == 10 and phone.isdigit():
        phone = f"{phone[:3]}-{phone[3:6]}-{phone[6:]}"
    return (
        npi,
        int(entity),
        name[:300],
        credential.strip()[:100],
        by_code[primary],
        primary,
        '["' + '","'.join(codes) + '"]',
        f"{line1.strip()}, {line2.strip()}"[:300] if line2 else line1.strip()[:300],
        city.strip()[:100],
        state[:2],
        zip_code[:10],
        phone[:20],
        point[0] if point else None,
        point[1] if point else None,
        last_updated_on,
        deactivated_on,
        row_fingerprint,
    )


def deactivation_from_values(values: list[str], layout: Layout) -> tuple[str, str] | None:
    """(NPI, date) for a deactivated NPI's row; None when it was reactivated since."""
    npi = values[layout.npi].strip()
    check_npi(npi)
    try:
        deactivated_on = iso_date(values[layout.deactivated])
        reactivated_on = iso_date(values[layout.reactivated])
    except RowError as exc:
        raise RowError(f"NPI {npi}: {exc}") from None
    if not deactivated_on or (reactivated_on and reactivated_on >= deactivated_on):
        return None
    return npi, deactivated_on


@dataclass
class Problem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class Parsed:
    """What one chunk of the file gave."""

    read: int = 0
    kept: int = 0  # rows of the selection (deactivations are counted by the writer)
    rejected: int = 0
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    deactivations: list[tuple[str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


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
            members = [
                info
                for info in archive.infolist()
                if info.filename.lower().endswith(".csv")
                and "fileheader" not in info.filename.lower()
            ]
            wanted = [m for m in members if Path(m.filename).name.startswith("npidata_pfile")]
            chosen = wanted or members
            if not chosen:
                raise NppesFormatError(f"{path.name}: no npidata_pfile_*.csv in this zip")
            member = max(chosen, key=lambda info: info.file_size)
            with archive.open(member) as stream:
                yield stream
    else:
        with path.open("rb") as stream:
            yield stream


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


def read_header(stream: IO[bytes]) -> Layout:
    header = stream.readline(1 << 20)
    if not header.strip():
        raise NppesFormatError("the file is empty")
    return Layout.from_header(header)


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
    try:
        with open_nppes(path) as stream:
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
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        # A damaged zip fails as it is read (a bad CRC, a cut or corrupt deflate stream, a
        # compression method flipped to one zipfile does not know).
        raise NppesFormatError(
            f"{Path(path).name}: the zip file is damaged or cannot be read ({exc})"
        ) from None


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


@dataclass
class Counts:
    read: int = 0
    kept: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    rejected: int = 0
    problems: list[Problem] = field(default_factory=list)

    def reset(self) -> None:
        self.__dict__.update(Counts().__dict__)

    def as_json(self) -> dict[str, int]:
        return {
            "read": self.read,
            "kept": self.kept,
            "created": self.created,
            "updated": self.updated,
            "deactivated": self.deactivated,
            "rejected": self.rejected,
        }


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
    from django.utils import timezone

    from referwell.registry.models import ImportRun, ImportStatus

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
    from referwell.registry import frames
    from referwell.registry.store import Staging, fingerprinted

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
        from referwell.registry import frames

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
