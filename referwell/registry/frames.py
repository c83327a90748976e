"""The fast way through a plain NPPES CSV file: polars reads it (in parallel, as a stream of
batches, only the columns we use) and turns the common row into a registry row with vectorised
expressions; `rows.entry_from_values` — the reference — still decides every row that is not
plain (a date or NPI to check, a value outside printable ASCII, a missing name, a deactivation
date…), with the same reasons. The result is the same as `nppes.parse_chunk`'s, row for row,
except for the fingerprint, which is a hash of the columns read instead of the raw line (a file
read once by one path and once by the other is rewritten once).

A file polars refuses (unbalanced quotes, a row with too many values, bytes that are not UTF-8)
raises `PolarsRefused`; the import then reads it with the Python reader, row by row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from operator import itemgetter
from pathlib import Path
from typing import Any

import polars as pl

from referwell.core.geo import zip_table
from referwell.registry.layout import (
    COL_PRIMARY,
    COL_TAXONOMY,
    ENTRY_COLUMNS,
    ENTRY_SCHEMA,
    FIELD_COLUMNS,
    MAX_PROBLEMS,
    TAXONOMY_SLOTS,
    Layout,
    Parsed,
    Problem,
    RowError,
    Selection,
    read_header,
)
from referwell.registry.rows import deactivation_from_values, entry_from_values

BATCH_ROWS = 25_000

# The columns read, by position in the frame: FIELD_COLUMNS, the 15 codes, the 15 switches,
# and the header's last column (a row that ends early has it null).
FIELDS = [f"f{i}" for i in range(len(FIELD_COLUMNS))]
CODES = [f"code{n}" for n in range(1, TAXONOMY_SLOTS + 1)]
SWITCHES = [f"switch{n}" for n in range(1, TAXONOMY_SLOTS + 1)]
READ = [*FIELDS, *CODES, *SWITCHES]
(
    NPI,
    ENTITY,
    ORG,
    LAST,
    FIRST,
    MIDDLE,
    SUFFIX,
    CREDENTIAL,
    LINE1,
    LINE2,
    CITY,
    STATE,
    ZIP,
    PHONE,
    LAST_UPDATE,
    DEACTIVATION,
    REACTIVATION,
) = (pl.col(name) for name in FIELDS)

# The Layout of a frame row (READ's values, in order) for the reference functions.
FRAME_LAYOUT = Layout(
    width=len(READ),
    npi=0,
    entity=1,
    deactivated=FIELD_COLUMNS.index("NPI Deactivation Date"),
    reactivated=FIELD_COLUMNS.index("NPI Reactivation Date"),
    pick=itemgetter(*range(len(FIELDS))),
    pick_codes=itemgetter(*range(len(FIELDS), len(FIELDS) + TAXONOMY_SLOTS)),
    pick_switches=itemgetter(*range(len(FIELDS) + TAXONOMY_SLOTS, len(READ))),
    last_needed=len(READ) - 1,
)


class PolarsRefused(ValueError):
    """polars cannot read this file as CSV; the Python reader will, row by row."""


def entries_frame(entries: list[tuple[Any, ...]]) -> pl.DataFrame:
    """Registry rows made by the reference functions, as a frame."""
    return pl.DataFrame(entries, schema=ENTRY_SCHEMA, orient="row")


def _npi_ok(npi: pl.Expr) -> pl.Expr:
    """Ten digits (a number of ten digits: no sign, no space) with the right check digit (Luhn
    over 80840 + the first nine digits; the prefix adds 24). A value this refuses goes to the
    reference, which says why."""
    number = npi.cast(pl.Int64, strict=False)
    total = pl.lit(24, pl.Int64)
    for k in range(9):
        digit = number // 10 ** (9 - k) % 10
        if k % 2 == 0:  # counted from the right, over the prefixed 14 digits: doubled
            digit = digit * 2 - (digit > 4).cast(pl.Int64) * 9  # its digits' sum
        total = total + digit
    return (
        (npi.str.len_bytes() == 10)
        & (number >= 1_000_000_000)
        & ((10 - total % 10) % 10 == number % 10)
    )


# Per slot, its code as an Enum of the wanted codes (null: not wanted), whose comparisons are
# of integers, not strings.
WANTED = [f"wanted{n}" for n in range(1, TAXONOMY_SLOTS + 1)]


def _first_of_kind(i: int) -> pl.Expr:
    """Slot i's code when it is wanted and not in an earlier slot (else null)."""
    wanted = pl.col(WANTED[i])
    keep = wanted.is_not_null()
    if i:
        earlier = [(wanted != pl.col(WANTED[j])).fill_null(True) for j in range(i)]
        keep = keep & pl.all_horizontal(earlier)
    return pl.when(keep).then(pl.col(CODES[i]))


def _present(value: pl.Expr) -> pl.Expr:
    return pl.when(value != "").then(value)


def _date(value: pl.Expr) -> pl.Expr:
    """MM/DD/YYYY as a date; null when empty or not exactly that."""
    return pl.when(value.str.len_bytes() == 10).then(value.str.to_date("%m/%d/%Y", strict=False))


def _plan(frame: pl.LazyFrame, selection: Selection) -> pl.LazyFrame:
    """Per row of `_candidates`: `kind` (entry or deactivation), `plain` (the vectorised values
    are the reference's), the registry columns, and the values read (for the reference)."""
    by_code = selection.professions_by_code
    wanted = list(by_code)
    state = STATE.str.strip_chars().str.to_uppercase()
    # The primary code (as the Enum of the wanted codes): the first wanted one marked primary,
    # else the first wanted one; its profession by the Enum's index.
    primary = pl.coalesce(
        [
            pl.when(pl.col(switch) == "Y").then(pl.col(flag))
            for switch, flag in zip(SWITCHES, WANTED, strict=True)
        ]
        + [pl.coalesce(WANTED)]
    )
    professions = pl.Series([by_code[code] for code in wanted], dtype=pl.String)
    name = (
        pl.when(ENTITY == "1")
        .then(
            pl.concat_str(
                [_present(FIRST), _present(MIDDLE), _present(LAST), _present(SUFFIX)],
                separator=" ",
                ignore_nulls=True,
            ).str.to_titlecase()
        )
        .otherwise(ORG.str.strip_chars())
    )
    zip_code = ZIP.str.strip_chars()
    zip5 = zip_code.str.slice(0, 5)
    zip_index = pl.when(zip5.str.contains(r"^[0-9]{5}$")).then(zip5.cast(pl.UInt32))
    latitudes, longitudes = zip_table()
    texts = [ORG, LAST, FIRST, MIDDLE, SUFFIX, CREDENTIAL, LINE1, LINE2, CITY, STATE, ZIP, PHONE]
    # Printable ASCII only: Python's and polars' strip, title-case and digits agree on it.
    printable = ~pl.concat_str(texts).str.contains(r"[^ -~]")
    entry_plain = (
        (pl.col("kind") == "entry")
        & pl.col("npi_ok")
        & ENTITY.is_in(["1", "2"])
        & (pl.col("name") != "")
        & ((LAST_UPDATE == "") | pl.col("updated").is_not_null())
        & (DEACTIVATION == "")
    )
    deactivation_plain = (
        (pl.col("kind") == "deactivation")
        & pl.col("npi_ok")
        & ((DEACTIVATION == "") | pl.col("deactivated").is_not_null())
        & (REACTIVATION == "")
    )
    return (
        frame.with_columns(complete=pl.col("tail").is_not_null())
        .with_columns(pl.col(READ).fill_null(""))
        .with_columns(
            pl.col(code).cast(pl.Enum(wanted), strict=False).alias(flag)
            for code, flag in zip(CODES, WANTED, strict=True)
        )
        .with_columns(
            kind=pl.when(_deactivation()).then(pl.lit("deactivation")).otherwise(pl.lit("entry")),
        )
        .with_columns(
            name=name,
            updated=_date(LAST_UPDATE),
            deactivated=_date(DEACTIVATION),
            npi_ok=_npi_ok(NPI),
            zip_index=zip_index,
            codes=pl.concat_str(
                [_first_of_kind(i) for i in range(TAXONOMY_SLOTS)],
                separator='","',
                ignore_nulls=True,
            ),
        )
        .with_columns(
            # Null (a value polars could not convert) is not plain: the reference decides.
            plain=((entry_plain | deactivation_plain) & pl.col("complete") & printable).fill_null(
                False
            )
        )
        .with_columns(
            npi=NPI,
            entity_type=ENTITY.cast(pl.Int64, strict=False),
            credentials=CREDENTIAL.str.strip_chars().str.slice(0, 100),
            taxonomy=primary.cast(pl.String),
            profession=pl.lit(professions).gather(primary.to_physical()),
            taxonomies=pl.concat_str([pl.lit('["'), pl.col("codes"), pl.lit('"]')]),
            address=pl.when(LINE2 != "")
            .then(pl.concat_str([LINE1.str.strip_chars(), LINE2.str.strip_chars()], separator=", "))
            .otherwise(LINE1.str.strip_chars())
            .str.slice(0, 300),
            city=CITY.str.strip_chars().str.slice(0, 100),
            state=state.str.slice(0, 2),
            zip_code=pl.when(zip_code.str.contains(r"^[0-9]{9}$"))
            .then(pl.concat_str([zip_code.str.slice(0, 5), zip_code.str.slice(5)], separator="-"))
            .otherwise(zip_code)
            .str.slice(0, 10),
            phone=pl.when(PHONE.str.contains(r"^[0-9]{10}$"))
            .then(
                pl.concat_str(
                    [PHONE.str.slice(0, 3), PHONE.str.slice(3, 3), PHONE.str.slice(6)],
                    separator="-",
                )
            )
            .otherwise(PHONE)
            .str.slice(0, 20),
            latitude=pl.lit(latitudes).gather(pl.col("zip_index")),
            longitude=pl.lit(longitudes).gather(pl.col("zip_index")),
            last_updated_on=pl.col("updated").dt.to_string("%Y-%m-%d"),
            deactivated_on=pl.col("deactivated").dt.to_string("%Y-%m-%d"),
            fingerprint=pl.lit(0, pl.Int64),  # see store.fingerprinted
        )
        .with_columns(name=pl.col("name").str.slice(0, 300))
    )


def _scan(path: Path) -> tuple[pl.LazyFrame, int]:
    """The columns READ (and `tail`, the last one) of every row, with its line number."""
    with path.open("rb") as stream:
        layout = read_header(stream)  # NppesFormatError for a file that is not an NPPES file
        stream.seek(0)
        text = stream.readline().decode("utf-8-sig", errors="replace").rstrip("\r\n")
    names = next(csv.reader([text]))
    picks = [names.index(name) for name in FIELD_COLUMNS]
    picks += [names.index(COL_TAXONOMY.format(n)) for n in range(1, TAXONOMY_SLOTS + 1)]
    picks += [names.index(COL_PRIMARY.format(n)) for n in range(1, TAXONOMY_SLOTS + 1)]
    scan = pl.scan_csv(
        path,
        has_header=False,
        skip_rows=1,  # the header, read above
        schema={f"c{i}": pl.String for i in range(layout.width)},
        encoding="utf8",
        row_index_name="line",
        row_index_offset=2,  # the header is line 1
        raise_if_empty=False,
    )
    return scan.select(
        "line",
        *(pl.col(f"c{index}").alias(name) for index, name in zip(picks, READ, strict=True)),
        pl.col(f"c{layout.width - 1}").alias("tail"),
    ), layout.width


def _candidates(selection: Selection) -> pl.Expr:
    """The rows `_plan` gives a kind (an entry of the selection, or a deactivation), in terms
    of the values as read, so that polars filters them as it reads the file."""
    wanted = sorted(selection.professions_by_code)
    state = STATE.str.strip_chars().str.to_uppercase()
    in_states = state.is_in(sorted(selection.states)) if selection.states else pl.lit(True)
    entry = pl.any_horizontal([pl.col(code).is_in(wanted) for code in CODES]) & in_states
    return (_deactivation() | entry).fill_null(False)


def _deactivation() -> pl.Expr:
    """A row of only an NPI (no entity type): a deactivation."""
    return ENTITY.fill_null("").eq("") & (NPI.str.len_bytes() == 10)


class FrameReader:
    """The file's rows, read by polars: iterate for (counts, problems and deactivations; the
    registry rows as a frame) per batch of rows, then `finish()` for the rest of the counts.

    What only a pass over the whole file can tell is counted after the last batch, in a thread
    started by `start_counting` while the kept rows are copied into the registry (one core's
    work: the other is free): the rows polars read against the file's lines. A quoted value
    that ran over a line end (in an NPPES file, a broken quote, which would swallow the next
    rows) makes them differ: `finish` then raises PolarsRefused — called before the merge
    commits, it undoes it — and the Python reader, which rejects that line alone, reads the
    file instead."""

    def __init__(self, path: Path, selection: Selection) -> None:
        self.path, self.selection = path, selection
        self.read = 0
        self._scan: pl.LazyFrame | None = None
        self._counting: Future[tuple[int, int]] | None = None

    def __iter__(self) -> Iterator[tuple[Parsed, pl.DataFrame]]:
        try:
            scan, width = _scan(self.path)
            # One query, run by polars' streaming engine: read, filter, convert.
            planned = _plan(scan.filter(_candidates(self.selection)), self.selection)
            for batch in planned.collect_batches(chunk_size=BATCH_ROWS, engine="streaming"):
                parsed, frame = _split(batch, self.selection, width)
                # The rows read so far: up to this batch's last (line 1 is the header).
                last = batch.get_column("line").max()
                last_line = last if isinstance(last, int) and last else 1
                parsed.read = max(last_line - 1 - self.read, 0)
                self.read += parsed.read
                yield parsed, frame
        except pl.exceptions.PolarsError as exc:
            raise PolarsRefused(str(exc).splitlines()[0][:300]) from None
        self._scan = scan

    def start_counting(self) -> Future[tuple[int, int]]:
        """Start the pass that counts the file's rows and lines (after the last batch)."""
        if self._scan is None:
            raise RuntimeError("the counts are for after the last batch")
        if self._counting is None:
            counter = ThreadPoolExecutor(1, thread_name_prefix="nppes-count")
            self._counting = counter.submit(_rows_and_lines, self.path, self._scan)
            counter.shutdown(wait=False)
        return self._counting

    def finish(self) -> Parsed:
        """The rows read after the last one kept; PolarsRefused if the counts differ."""
        try:
            rows, lines = self.start_counting().result()
        except pl.exceptions.PolarsError as exc:
            raise PolarsRefused(str(exc).splitlines()[0][:300]) from None
        if rows != lines:
            raise PolarsRefused(f"{lines} lines but {rows} rows: a quoted value spans a line end")
        return Parsed(read=max(rows - self.read, 0))


def _rows_and_lines(path: Path, scan: pl.LazyFrame) -> tuple[int, int]:
    """The rows polars reads (quotes understood) and the file's lines, header left out."""
    rows = scan.select(pl.len()).collect().item()
    lines = (
        pl.scan_csv(
            path,
            has_header=False,
            skip_rows=1,
            quote_char=None,
            separator="\x1f",
            infer_schema=False,
            truncate_ragged_lines=True,
        )
        .select(pl.len())
        .collect()
        .item()
    )
    return rows, lines


def _split(rows: pl.DataFrame, selection: Selection, width: int) -> tuple[Parsed, pl.DataFrame]:
    """A batch of planned rows: the plain entries as they are, the others by the reference."""
    parsed = Parsed()
    plain = rows.get_column("plain")
    # Each part selects its columns before it filters: a filter copies what it keeps.
    fast = rows.select(ENTRY_COLUMNS).filter(plain & (rows.get_column("kind") == "entry"))
    parsed.kept = fast.height
    parsed.deactivations.extend(
        rows.select("npi", "deactivated_on")
        .filter(
            plain & (rows.get_column("kind") == "deactivation"),
            pl.col("deactivated_on").is_not_null(),
        )
        .iter_rows()
    )
    slow = rows.select("line", "kind", "complete", *READ).filter(~plain)
    entries = []
    for line, kind, complete, *values in slow.iter_rows():
        # A NUL is never data (and PostgreSQL cannot store it): dropped, as the reader does.
        values = [value.replace("\x00", "") for value in values]
        try:
            if not complete:
                raise RowError(f"fewer than {width} columns")
            if kind == "deactivation":
                hit = deactivation_from_values(values, FRAME_LAYOUT)
                if hit is not None:
                    parsed.deactivations.append(hit)
                continue
            entry = entry_from_values(values, FRAME_LAYOUT, selection, 0)
        except RowError as exc:
            parsed.rejected += 1
            if len(parsed.problems) < MAX_PROBLEMS:
                parsed.problems.append(Problem(line, str(exc)))
            continue
        if entry is not None:
            parsed.kept += 1
            entries.append(entry)
    if entries:
        fast = pl.concat([fast, entries_frame(entries)])
    return parsed, fast
