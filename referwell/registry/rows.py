"""The reference functions: what one row of the NPPES file gives the registry, or why it is
rejected. The Python reader (`nppes.parse_chunk`) uses them for every candidate row; the polars
reader (`frames`) for every row that is not plain, so both give the same rows and reasons."""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError

from referwell.core.geo import zip_centroid
from referwell.core.validators import validate_npi
from referwell.registry.layout import Layout, RowError, Selection

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
