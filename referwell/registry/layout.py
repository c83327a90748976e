"""The NPPES provider file and the registry's row, as every part of the import sees them: the
columns read, where they are (`Layout`), which rows are kept (`Selection`), the registry's
columns and their types, and what a chunk or a whole import gave (`Parsed`, `Counts`).

The readers (`nppes`, the Python one; `frames`, polars) and the writer (`store`) import it; it
imports none of them, so the arrows between the import's modules point one way:
`nppes` → `frames`, `store` → `rows` → `layout`.
"""

from __future__ import annotations

import csv
import json
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import IO, Any

import polars as pl

from referwell.guidance import kb

MAX_PROBLEMS = 100
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


def read_header(stream: IO[bytes]) -> Layout:
    header = stream.readline(1 << 20)
    if not header.strip():
        raise NppesFormatError("the file is empty")
    return Layout.from_header(header)


# ---------------------------------------------------------------------------- the registry's row

# The registry's values as polars types, in ENTRY_COLUMNS' order.
ENTRY_SCHEMA: dict[str, Any] = {
    "npi": pl.String,
    "entity_type": pl.Int64,
    "name": pl.String,
    "credentials": pl.String,
    "profession": pl.String,
    "taxonomy": pl.String,
    "taxonomies": pl.String,
    "address": pl.String,
    "city": pl.String,
    "state": pl.String,
    "zip_code": pl.String,
    "phone": pl.String,
    "latitude": pl.Float64,
    "longitude": pl.Float64,
    "last_updated_on": pl.String,
    "deactivated_on": pl.String,
    "fingerprint": pl.Int64,
}
assert tuple(ENTRY_SCHEMA) == ENTRY_COLUMNS


# ---------------------------------------------------------------------------- results


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
