"""Figures as people write them, for the insights page; the CSV keeps the plain values.

A month is "Feb 2026", money "$4,605" or "$12.50" (the same as the charts write it), a
percentage "67%" (whole percents), counts "1,234", a balance "+2" / "-3", days "2.5".
Nothing here reads the database.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import dateformat

from referwell.insights.selectors import (
    COUNT,
    DAYS,
    MONEY,
    MONTH,
    PERCENT,
    SIGNED,
    TEXT,
    Table,
)

EMPTY = "—"  # a figure that cannot be told (no visit, no answer yet)


def month(key: object) -> str:
    """ "2026-02" → "Feb 2026"; anything else as it is."""
    text = str(key)
    try:
        day = dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        return text
    return dateformat.format(day, "M Y")


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def number(value: object) -> str:
    """1,234 or 2.5 (at most one decimal); None as a dash."""
    amount = _decimal(value)
    if amount is None:
        return EMPTY if value is None else str(value)
    rounded = amount.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if rounded == rounded.to_integral_value():
        return f"{int(rounded):,}"
    return f"{rounded:,.1f}"


def money(value: object, symbol: str = "$") -> str:
    """$4,605 for whole amounts, $12.50 otherwise; -$3 below zero."""
    amount = _decimal(value)
    if amount is None:
        return EMPTY if value is None else str(value)
    cents = abs(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = f"{int(cents):,}" if cents == cents.to_integral_value() else f"{cents:,.2f}"
    return f"{'-' if amount < 0 and cents else ''}{symbol}{text}"


def percent(value: object) -> str:
    """67% (whole percents, halves up)."""
    amount = _decimal(value)
    if amount is None:
        return EMPTY if value is None else str(value)
    return f"{int(amount.quantize(Decimal('1'), rounding=ROUND_HALF_UP)):,}%"


def signed(value: object) -> str:
    """+2, 0, -3."""
    amount = _decimal(value)
    text = number(value)
    return f"+{text}" if amount is not None and amount > 0 else text


FORMATS = {
    MONTH: month,
    COUNT: number,
    SIGNED: signed,
    MONEY: money,
    PERCENT: percent,
    DAYS: number,
}


def cell(value: object, kind: str = TEXT) -> str:
    """One value of a column of that kind, written for people."""
    if value is None:
        return EMPTY
    formatter = FORMATS.get(kind)
    if formatter is not None:
        return formatter(value)
    if isinstance(value, float) and not math.isfinite(value):
        return EMPTY
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return number(value)
    return str(value)


def header(text: str, kind: str = TEXT) -> str:
    """A column's name on the page: "Acknowledged %" → "Acknowledged" (its cells say %)."""
    if kind == PERCENT and text.endswith(" %"):
        return text[:-2]
    return text


@dataclass(frozen=True)
class Cell:
    label: str  # the column's name, for the stacked layout on a phone
    text: str


@dataclass(frozen=True)
class ShownTable:
    key: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]


def shown(table: Table) -> ShownTable:
    """The table as the page shows it: every value written for people, every cell labelled."""
    kinds: Sequence[str] = table.kinds or ()
    columns = [kinds[i] if i < len(kinds) else TEXT for i in range(len(table.headers))]
    headers = [header(h, k) for h, k in zip(table.headers, columns, strict=True)]
    rows = [
        [
            Cell(
                headers[i] if i < len(headers) else "",
                cell(v, columns[i] if i < len(columns) else TEXT),
            )
            for i, v in enumerate(row)
        ]
        for row in table.rows
    ]
    return ShownTable(table.key, table.title, headers, rows)
