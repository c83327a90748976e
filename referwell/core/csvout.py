"""The one way the app writes CSV: every file it hands out goes through `writer`.

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before one)
as a formula, and names typed by strangers reach the files (the public referral form's
referrer name, a partner's or a client's name): `=HYPERLINK("http://evil", "x")` would
become a link, or worse, when the owner opens the file. Such a text cell is written with a
leading apostrophe, as OWASP recommends, so it shows as typed and runs nothing. Numbers the
app computes (ints, floats, Decimals) are written as numbers, negative ones included; only
text is neutralised, so a negative number that arrives as text gets the apostrophe too.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet shows and does not run: None as empty, formula text quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer's writerow and writerows, with every cell passed through `safe_cell`."""

    def __init__(self, out: IO[str] | Any, **kwargs: Any) -> None:
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: IO[str] | Any, **kwargs: Any) -> SafeWriter:
    """A CSV writer on `out` (a file or an HttpResponse) that neutralises formulas."""
    return SafeWriter(out, **kwargs)
