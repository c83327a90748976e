"""Small, dependency-free SVG charts for the insights page.

Every function is pure (plain lists and dicts in, markup out) and returns a `SafeString` that
a template can print as it is. The markup is built for phones and for screen readers:

* the `<svg>` has a `viewBox`, `width="100%"` and `height:auto`, so it scales to the column it
  sits in; fonts are the platform's own (`system-ui`…), never downloaded;
* `role="img"` and `aria-labelledby` point at the chart's own `<title>` and `<desc>`; the desc
  says what the chart shows in words (and "No data" when there is nothing to show). The page
  renders a data table next to every chart, so the SVG does not try to carry every number;
* every piece of text that came from the caller goes through `django.utils.html.escape`
  (after characters that XML cannot hold are dropped), so a partner called `<script>` or
  `Smith & Jones` is shown as written and never interpreted;
* colours come from `PALETTE`, each with a contrast of at least 4.5:1 against white; lines
  also differ by dash pattern, so series are told apart without relying on colour alone.

Ids are unique per call (a uuid4 fragment), so several charts can share one page.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import SupportsFloat, SupportsIndex, TypedDict

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

__all__ = [
    "MAX_NODES",
    "PALETTE",
    "bar_chart",
    "line_chart",
    "network_picture",
    "nice_ticks",
    "stacked_columns",
]

# Contrast against white (WCAG): 4.9, 4.7, 6.5, 6.7, 4.9, 5.9, 5.6, 6.7. Series beyond eight
# repeat the colours; callers should fold small series into "Other" long before that.
PALETTE = (
    "#2f7d6d",  # teal (the site's accent)
    "#b25e09",  # orange-brown
    "#3b5ba9",  # blue
    "#6b4c9a",  # purple
    "#8a6d00",  # ochre
    "#c2185b",  # magenta
    "#5b6b70",  # slate
    "#a8322d",  # red
)
DASHES = ("", "6 3", "2 3", "8 3 2 3")  # line patterns, cycled alongside the colours

INK = "#1f2a2e"
MUTED = "#5b6b70"
GRID = "#e3e9ea"
AXIS = "#9aa8ac"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

MAX_NODES = 60  # the network picture draws at most this many partners
MAX_EDGE = 8.0  # px, the widest edge in the network picture

# Rough advance width of one character, as a fraction of the font size (system sans fonts).
_CHAR_EM = 0.6
_BOLD_EM = 0.66  # the same, for bold text
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# --------------------------------------------------------------------------------------------
# helpers


def _clean(value: object) -> str:
    """The caller's text as a str without characters XML 1.0 cannot hold."""
    return _NOT_XML.sub("", str(value))


def _cut(value: object, max_chars: int) -> str:
    text = " ".join(_clean(value).split())
    if max_chars >= 1 and len(text) > max_chars:
        return text[: max(max_chars - 1, 1)].rstrip() + "…"
    return text


def _esc(value: object, max_chars: int = 0) -> str:
    """Clean, shorten (0 = no limit) and XML-escape a label."""
    return escape(_cut(value, max_chars) if max_chars else _clean(value))


def _num(value: object) -> float:
    """A finite float; None, NaN, infinities and junk count as 0."""
    if not isinstance(value, (str, bytes, bytearray, SupportsFloat, SupportsIndex)):
        return 0.0  # what float() refuses
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _f(number: float) -> str:
    """A coordinate for an attribute."""
    text = f"{number:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _fmt(number: float) -> str:
    """A value for people: 1,234 or 12.5."""
    if float(number).is_integer():
        return f"{int(number):,}"
    return f"{number:,.1f}"


_CURRENCIES = frozenset("$€£¥₹")


def _with_unit(number: float, unit: str) -> str:
    """`12 days`, `40%`, `$1,234` / `$12.50` (currency symbols go first)."""
    unit = _clean(unit).strip()
    if unit in _CURRENCIES:
        money = f"{abs(number):,.0f}" if float(number).is_integer() else f"{abs(number):,.2f}"
        return f"{'-' if number < 0 else ''}{unit}{money}"
    text = _fmt(number)
    if not unit:
        return text
    return f"{text} {unit}" if unit[0].isalnum() else f"{text}{unit}"


def _text_width(text: str, size: float) -> float:
    return len(text) * size * _CHAR_EM


def _all_integers(values: Iterable[float]) -> bool:
    return all(float(v).is_integer() for v in values)


def nice_ticks(max_value: float, *, integers: bool = False) -> list[float]:
    """3 to 5 round ticks from 0 to at least `max_value` ("nice numbers": 1, 2, 2.5, 5 × 10ⁿ).

    With `integers`, steps below 1 (and 2.5) are skipped, so counts get whole-number ticks.
    """
    top = _num(max_value)
    if top <= 0:
        top = 1.0
    exponent = math.floor(math.log10(top / 4))
    for power in range(exponent - 1, exponent + 3):
        for mantissa in (1, 2, 2.5, 5):
            step = mantissa * 10.0**power
            if integers and (step < 1 or not step.is_integer()):
                continue
            intervals = math.ceil(top / step - 1e-9)
            if intervals <= 4:
                intervals = max(intervals, 2)
                return [round(i * step, 10) for i in range(intervals + 1)]
    raise AssertionError("unreachable: a step of 10 × top always fits")  # pragma: no cover


def _fmt_tick(value: float) -> str:
    return f"{value:,.6g}"


def _open(kind: str, width: float, height: float, title: str, desc: str) -> list[str]:
    """The `<svg>` start tag with its `<title>` and `<desc>`, as a list to append to."""
    uid = f"chart-{uuid.uuid4().hex[:12]}"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{uid}" class="chart chart-{kind}" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" width="100%" '
        f'style="height:auto;max-width:{_f(width * 1.6)}px;display:block" '
        f'role="img" aria-labelledby="{uid}-title {uid}-desc" '
        f'font-family="{FONT}" font-size="12">',
        f'<title id="{uid}-title">{_esc(title)}</title>',
        f'<desc id="{uid}-desc">{_esc(desc)}</desc>',
    ]


def _close(parts: list[str]) -> SafeString:
    parts.append("</svg>")
    # Every caller-supplied string above went through _esc (django's escape); the rest is
    # markup and numbers formatted here.
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703


def _join_desc(*sentences: str) -> str:
    return " ".join(s.strip() for s in sentences if s and s.strip())


def _no_data(parts: list[str], width: float, height: float) -> None:
    parts.append(
        f'<text x="{_f(width / 2)}" y="{_f(height / 2 + 5)}" text-anchor="middle" '
        f'font-size="14" fill="{MUTED}">No data</text>'
    )


def _listing(names: Sequence[str], limit: int = 6) -> str:
    shown = [_cut(n, 40) for n in names[:limit]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


# --------------------------------------------------------------------------------------------
# bar chart


def bar_chart(
    *, title: str, labels: list[str], values: list[float], unit: str = "", desc: str = ""
) -> SafeString:
    """Horizontal bars, one per label, in the order given; the value is printed after each bar.

    Each label sits on its own line above its bar, so long names fit on a phone. Bar lengths
    are proportional to the values (negative values draw no bar but print as they are).
    """
    if len(labels) != len(values):
        raise ValueError(f"bar_chart: {len(labels)} labels but {len(values)} values")
    numbers = [_num(v) for v in values]
    width, pad, row, top = 360.0, 8.0, 38.0, 4.0
    peak = max((v for v in numbers if v > 0), default=0.0)

    if not numbers:
        summary = "No data: there is nothing to show."
    elif peak == 0:
        summary = f"No data: all {len(numbers)} values are zero."
    else:
        best = max(range(len(numbers)), key=lambda i: numbers[i])
        summary = (
            f"{len(numbers)} bar{'s' if len(numbers) != 1 else ''}; the largest is "
            f"{_cut(labels[best], 60)} with {_with_unit(numbers[best], unit)}."
        )

    height = top + row * len(numbers) + 6 if numbers else 48.0
    parts = _open("bar", width, height, title, _join_desc(desc, summary))
    if not numbers:
        _no_data(parts, width, height)
        return _close(parts)

    texts = [_with_unit(v, unit) for v in numbers]
    value_room = max(_text_width(t, 12) for t in texts) + 8
    bar_room = max(width - 2 * pad - value_room, width * 0.4)
    label_chars = int((width - 2 * pad) / (13 * _CHAR_EM))

    parts.append(
        f'<line x1="{_f(pad)}" y1="{_f(top)}" x2="{_f(pad)}" y2="{_f(height - 4)}" '
        f'stroke="{AXIS}" stroke-width="1"/>'
    )
    for i, (label, number, text) in enumerate(zip(labels, numbers, texts, strict=True)):
        y = top + i * row
        length = bar_room * number / peak if peak > 0 and number > 0 else 0.0
        parts.append(
            f'<text x="{_f(pad + 2)}" y="{_f(y + 13)}" font-size="13" fill="{INK}">'
            f"{_esc(label, label_chars)}</text>"
            f'<rect class="bar" x="{_f(pad)}" y="{_f(y + 18)}" width="{_f(length)}" '
            f'height="13" fill="{PALETTE[0]}"/>'
            f'<text class="value" x="{_f(pad + length + 5)}" y="{_f(y + 29)}" '
            f'fill="{INK}">{_esc(text)}</text>'
        )
    return _close(parts)


# --------------------------------------------------------------------------------------------
# time charts: shared frame (y axis from 0, period labels, legend)


def _check_series(name: str, periods: list[str], series: dict[str, list[float]]) -> None:
    for key, values in series.items():
        if len(values) != len(periods):
            raise ValueError(
                f"{name}: series {key!r} has {len(values)} values for {len(periods)} periods"
            )


class _Frame:
    """Plot area geometry for the period charts (columns and lines)."""

    width = 360.0
    plot_height = 180.0
    top = 10.0
    right = 8.0

    def __init__(self, periods: list[str], peak: float, integers: bool) -> None:
        self.periods = periods
        self.ticks = nice_ticks(peak, integers=integers)
        self.tick_labels = [_fmt_tick(t) for t in self.ticks]
        self.left = max(_text_width(t, 11) for t in self.tick_labels) + 12
        self.plot_width = self.width - self.left - self.right
        self.base = self.top + self.plot_height
        self.band = self.plot_width / max(len(periods), 1)

    def y(self, value: float) -> float:
        return self.base - self.plot_height * value / self.ticks[-1]

    def x_center(self, index: int) -> float:
        return self.left + self.band * (index + 0.5)

    def axes(self, parts: list[str]) -> None:
        for tick, label in zip(self.ticks, self.tick_labels, strict=True):
            y = self.y(tick)
            colour = AXIS if tick == 0 else GRID
            parts.append(
                f'<line x1="{_f(self.left)}" y1="{_f(y)}" x2="{_f(self.width - self.right)}" '
                f'y2="{_f(y)}" stroke="{colour}" stroke-width="1"/>'
                f'<text x="{_f(self.left - 6)}" y="{_f(y + 4)}" text-anchor="end" '
                f'font-size="11" fill="{MUTED}">{label}</text>'
            )

    def period_labels(self, parts: list[str]) -> None:
        """Period names under the plot, thinned to every n-th when they would collide."""
        size = 11.0
        names = [_cut(p, 12) for p in self.periods]
        widest = max((len(n) * size * 0.56 for n in names), default=0.0)
        fits = max(int(self.plot_width // (widest + 4)), 1)
        step = max(math.ceil(len(names) / fits), 1)
        for i, name in enumerate(names):
            if i % step:
                continue
            half = _text_width(name, size) / 2
            x = min(max(self.x_center(i), half + 2), self.width - half - 2)
            parts.append(
                f'<text class="period" x="{_f(x)}" y="{_f(self.base + 16)}" '
                f'text-anchor="middle" font-size="{_f(size)}" fill="{INK}">{escape(name)}</text>'
            )

    def legend(self, parts: list[str], names: list[str], kind: str) -> float:
        """A legend under the plot, flowing into rows; returns the chart's total height."""
        x, y, size, gap = 8.0, self.base + 32, 12.0, 14.0
        for i, key in enumerate(names):
            name = _cut(key, 28)
            item = 22 + _text_width(name, size)
            if x > 8 and x + item > self.width - 4:
                x, y = 8.0, y + 18
            colour = PALETTE[i % len(PALETTE)]
            if kind == "line":
                dash = DASHES[i % len(DASHES)]
                dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
                parts.append(
                    f'<line x1="{_f(x)}" y1="{_f(y - 4)}" x2="{_f(x + 16)}" y2="{_f(y - 4)}" '
                    f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>'
                )
            else:
                parts.append(
                    f'<rect x="{_f(x + 3)}" y="{_f(y - 9)}" width="10" height="10" '
                    f'fill="{colour}"/>'
                )
            parts.append(
                f'<text x="{_f(x + 20)}" y="{_f(y)}" font-size="{_f(size)}" fill="{INK}">'
                f"{escape(name)}</text>"
            )
            x += item + gap
        return y + 8


def _period_summary(periods: list[str], names: list[str]) -> str:
    span = (
        f"1 period, {_cut(periods[0], 40)}"
        if len(periods) == 1
        else f"{len(periods)} periods from {_cut(periods[0], 40)} to {_cut(periods[-1], 40)}"
    )
    return f"{span}; series: {_listing(names)}."


def stacked_columns(
    *, title: str, periods: list[str], series: dict[str, list[float]], desc: str = ""
) -> SafeString:
    """One column per period, the series stacked in the order given (the first at the bottom).

    Negative values count as zero. Period labels are thinned to every n-th when crowded; the
    legend lists the series in stacking order.
    """
    _check_series("stacked_columns", periods, series)
    names = list(series)
    data = {k: [max(_num(v), 0.0) for v in vs] for k, vs in series.items()}
    totals = [sum(data[k][i] for k in names) for i in range(len(periods))]
    peak = max(totals, default=0.0)

    if not periods or not names:
        summary = "No data: there is nothing to show."
    elif peak == 0:
        summary = _period_summary(periods, names) + " No data: every value is zero."
    else:
        best = max(range(len(periods)), key=lambda i: totals[i])
        summary = (
            _period_summary(periods, names)
            + f" The highest total is {_fmt(totals[best])} in {_cut(periods[best], 40)}."
        )

    if not periods or not names:
        parts = _open("columns", 360, 48, title, _join_desc(desc, summary))
        _no_data(parts, 360, 48)
        return _close(parts)

    frame = _Frame(periods, peak, _all_integers(v for vs in data.values() for v in vs))
    body: list[str] = []
    frame.axes(body)
    column = min(frame.band * 0.72, 40.0)
    for i in range(len(periods)):
        x = frame.x_center(i) - column / 2
        below = 0.0
        for s, key in enumerate(names):
            value = data[key][i]
            if value <= 0:
                continue
            y_top, y_bottom = frame.y(below + value), frame.y(below)
            body.append(
                f'<rect class="segment s{s}" x="{_f(x)}" y="{_f(y_top)}" width="{_f(column)}" '
                f'height="{_f(y_bottom - y_top)}" fill="{PALETTE[s % len(PALETTE)]}" '
                f'stroke="#fff" stroke-width="0.75"/>'
            )
            below += value
    frame.period_labels(body)
    height = frame.legend(body, names, "columns")

    parts = _open("columns", frame.width, height, title, _join_desc(desc, summary))
    parts.extend(body)
    return _close(parts)


def line_chart(
    *, title: str, periods: list[str], series: dict[str, list[float]], desc: str = ""
) -> SafeString:
    """One line per series over the periods, y axis from 0 with 3–5 round ticks.

    Negative values are drawn at zero. Lines differ by colour and dash pattern; points get
    small markers when there are few periods (and always when there is only one).
    """
    _check_series("line_chart", periods, series)
    names = list(series)
    data = {k: [max(_num(v), 0.0) for v in vs] for k, vs in series.items()}
    peak = max((v for vs in data.values() for v in vs), default=0.0)

    if not periods or not names:
        summary = "No data: there is nothing to show."
    elif peak == 0:
        summary = _period_summary(periods, names) + " No data: every value is zero."
    else:
        summary = _period_summary(periods, names) + f" The highest value is {_fmt(peak)}."

    if not periods or not names:
        parts = _open("line", 360, 48, title, _join_desc(desc, summary))
        _no_data(parts, 360, 48)
        return _close(parts)

    frame = _Frame(periods, peak, _all_integers(v for vs in data.values() for v in vs))
    body: list[str] = []
    frame.axes(body)
    markers = len(periods) <= 12
    for s, key in enumerate(names):
        colour = PALETTE[s % len(PALETTE)]
        dash = DASHES[s % len(DASHES)]
        points = [(frame.x_center(i), frame.y(v)) for i, v in enumerate(data[key])]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(
            f'<polyline class="line s{s}" fill="none" stroke="{colour}" stroke-width="2.5" '
            f'stroke-linejoin="round" stroke-linecap="round"{dash_attr} points="'
            + " ".join(f"{_f(x)},{_f(y)}" for x, y in points)
            + '"/>'
        )
        if markers:
            body.extend(
                f'<circle cx="{_f(x)}" cy="{_f(y)}" r="3" fill="{colour}"/>' for x, y in points
            )
    frame.period_labels(body)
    height = frame.legend(body, names, "line")

    parts = _open("line", frame.width, height, title, _join_desc(desc, summary))
    parts.extend(body)
    return _close(parts)


# --------------------------------------------------------------------------------------------
# network picture

_OUT_COLOUR = PALETTE[0]
_IN_COLOUR = PALETTE[1]
_IN_DASH = "5 3"


# A partner as the network picture draws it (`in` is a keyword: the functional form).
_Node = TypedDict(
    "_Node",
    {"label": str, "group": str, "out": float, "in": float, "total": float, "index": int},
)


def network_picture(
    *, title: str, center: str, nodes: Sequence[Mapping[str, object]], desc: str = ""
) -> SafeString:
    """The practice in the middle, its partners on a ring around it, grouped by profession.

    `nodes` are dicts `{"label", "group", "out", "in"}`: `out` counts referrals the practice
    sent to the partner, `in` referrals the partner sent to the practice. Each partner gets up
    to two straight edges side by side — centre → partner for `out` (solid, teal) and
    partner → centre for `in` (dashed, orange) — whose widths grow with the square root of the
    count (the largest count is `MAX_EDGE` = 8px wide; a count of 0 draws no edge). A circle's
    radius grows with the square root of the partner's total. At most `MAX_NODES` partners are
    drawn: the largest by total (ties: the order given), and the desc says so. Partner names
    are not drawn (they would not fit on a phone); each circle carries a hover `<title>` and
    the page's table lists them.
    """
    width, height = 420.0, 376.0
    cx, cy, ring = 210.0, 178.0, 104.0
    label_ring = ring + 19

    rows: list[_Node] = []
    for index, node in enumerate(nodes):
        out, into = max(_num(node.get("out")), 0.0), max(_num(node.get("in")), 0.0)
        group = _clean(node.get("group") or "").strip() or "Other"
        rows.append(
            {
                "label": _clean(node.get("label") or ""),
                "group": group,
                "out": out,
                "in": into,
                "total": out + into,
                "index": index,
            }
        )
    dropped = max(len(rows) - MAX_NODES, 0)
    rows = sorted(rows, key=lambda r: (-r["total"], r["index"]))[:MAX_NODES]

    groups: dict[str, list[_Node]] = {}
    for row in rows:
        groups.setdefault(row["group"], []).append(row)
    order = sorted(groups, key=lambda g: (-sum(r["total"] for r in groups[g]), g.casefold(), g))

    sentences = [desc]
    if not rows:
        sentences.append(f"No data: {_cut(center, 60)} has no partners to show.")
    else:
        sentences.append(
            f"{_cut(center, 60)} in the middle with {len(rows)} partner"
            f"{'s' if len(rows) != 1 else ''} around it in {len(order)} group"
            f"{'s' if len(order) != 1 else ''} ({_listing(order)}). Solid edges are referrals "
            "sent to a partner, dashed edges referrals received; wider edges and larger "
            "circles mean more referrals."
        )
        if dropped:
            sentences.append(
                f"Only the {len(rows)} largest of {len(rows) + dropped} partners are drawn."
            )
        if all(r["total"] == 0 for r in rows):
            sentences.append("No data: no referrals in either direction yet.")
    parts = _open("network", width, height, title, _join_desc(*sentences))

    if not rows:
        parts.append(f'<circle class="centre" cx="{_f(cx)}" cy="{_f(cy)}" r="16" fill="{INK}"/>')
        _centre_label(parts, center, cx, cy + 32)
        return _close(parts)

    # Slots round the ring: one per partner, plus an empty slot between groups.
    gap = 1 if len(order) > 1 else 0
    slots = len(rows) + gap * len(order)
    crowded = len(rows) > 24
    biggest_total = max(r["total"] for r in rows)
    biggest_count = max(max(r["out"], r["in"]) for r in rows)
    r_min, r_max = 2.5, (7.0 if crowded else 10.0)

    placed: list[tuple[_Node, float, float, float]] = []  # row, x, y, radius
    group_angles: list[tuple[str, float]] = []  # group, angle of the sector's middle
    slot = 0
    for group in order:
        members = sorted(groups[group], key=lambda r: (-r["total"], r["index"]))
        first = slot
        for row in members:
            angle = -math.pi / 2 + 2 * math.pi * (slot + 0.5) / slots
            radius = ring - (18 if crowded and slot % 2 else 0)
            share = math.sqrt(row["total"] / biggest_total) if biggest_total > 0 else 0.0
            size = r_min + (r_max - r_min) * share
            placed.append((row, cx + radius * math.cos(angle), cy + radius * math.sin(angle), size))
            slot += 1
        mid = -math.pi / 2 + 2 * math.pi * ((first + slot) / 2) / slots
        group_angles.append((group, mid))
        slot += gap

    # Edges first, so circles sit on top of them: two straight lanes side by side, `out`
    # (centre → partner) on one side of the spoke and `in` (partner → centre) on the other.
    for row, x, y, _size in placed:
        length = math.hypot(x - cx, y - cy) or 1.0
        nx, ny = -(y - cy) / length, (x - cx) / length  # unit normal to the spoke
        for direction, count in (("out", row["out"]), ("in", row["in"])):
            if count <= 0 or biggest_count <= 0:
                continue
            stroke = MAX_EDGE * math.sqrt(count / biggest_count)
            shift = (stroke / 2 + 0.4) * (1 if direction == "out" else -1)
            ends = [(cx + nx * shift, cy + ny * shift), (x + nx * shift, y + ny * shift)]
            if direction == "out":
                style = f'stroke="{_OUT_COLOUR}"'
            else:
                ends.reverse()
                style = f'stroke="{_IN_COLOUR}" stroke-dasharray="{_IN_DASH}"'
            (x1, y1), (x2, y2) = ends
            parts.append(
                f'<path class="edge {direction}" d="M{_f(x1)},{_f(y1)} L{_f(x2)},{_f(y2)}" '
                f'fill="none" {style} stroke-width="{_f(stroke)}" stroke-opacity="0.6" '
                f'data-count="{_f(count)}"/>'
            )

    for row, x, y, size in placed:
        parts.append(
            f'<circle class="node" cx="{_f(x)}" cy="{_f(y)}" r="{_f(size)}" fill="{MUTED}" '
            f'stroke="#fff" stroke-width="1"><title>{_esc(row["label"], 80)} '
            f"({_esc(row['group'], 40)}): {_fmt(row['out'])} sent, "
            f"{_fmt(row['in'])} received</title></circle>"
        )

    _group_labels(parts, group_angles, cx, cy, label_ring, width, height)
    parts.append(f'<circle class="centre" cx="{_f(cx)}" cy="{_f(cy)}" r="16" fill="{INK}"/>')
    _centre_label(parts, center, cx, cy + 32)
    _network_legend(parts, height)
    return _close(parts)


def _centre_label(parts: list[str], center: str, x: float, y: float) -> None:
    parts.append(
        f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="middle" font-size="13" font-weight="600" '
        f'fill="{INK}" stroke="#fff" stroke-width="3" stroke-linejoin="round" '
        f'paint-order="stroke">{_esc(center, 26)}</text>'
    )


def _wrap(text: str, chars: int) -> list[str]:
    """At most two lines of at most `chars` characters, split at spaces, cut with "…"."""
    words = " ".join(text.split()).split(" ")
    lines: list[str] = []
    current = ""
    for word in words:
        if current and len(current) + 1 + len(word) > chars:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    lines.append(current)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    return [_cut(line, chars) for line in lines]


@dataclass
class _Label:
    """A group's name beside the ring: its lines, where it is anchored, its first baseline."""

    lines: list[str]
    x: float
    y: float


def _group_labels(
    parts: list[str],
    groups: list[tuple[str, float]],
    cx: float,
    cy: float,
    radius: float,
    width: float,
    height: float,
) -> None:
    """Group names just outside the ring (up to two lines), nudged apart on each side."""
    size, line = 12.0, 13.0
    placed: dict[str, list[_Label]] = {"start": [], "end": [], "middle": []}
    for name, angle in groups:
        cos, sin = math.cos(angle), math.sin(angle)
        x = cx + radius * cos
        anchor = "start" if cos > 0.35 else "end" if cos < -0.35 else "middle"
        room = {"start": width - 4 - x, "end": x - 4, "middle": 2 * min(x - 4, width - 4 - x)}
        chars = max(min(int(room[anchor] / (size * _BOLD_EM)), 20), 4)
        lines = _wrap(_clean(name), chars)
        # First baseline: hanging below the ring at the bottom, standing above it at the top,
        # centred on it at the sides.
        extra = (len(lines) - 1) * line
        y = cy + radius * sin + size * (0.35 + 0.55 * sin) - extra * (0.5 - 0.5 * sin)
        placed[anchor].append(_Label(lines, x, y))
    for anchor, labels in placed.items():
        labels.sort(key=lambda item: item.y)
        bottom = -math.inf  # last baseline used on this side
        for item in labels:
            if anchor != "middle":
                item.y = max(item.y, bottom + line + 1)
            bottom = item.y + (len(item.lines) - 1) * line
            lines, x, y = item.lines, item.x, item.y
            y = min(y, height - 30 - (len(lines) - 1) * line)
            inner: str
            if len(lines) == 1:
                inner = escape(lines[0])
            else:
                inner = "".join(
                    f'<tspan x="{_f(x)}" dy="{_f(0 if i == 0 else line)}">{escape(t)}</tspan>'
                    for i, t in enumerate(lines)
                )
            parts.append(
                f'<text class="group" x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" '
                f'font-size="{_f(size)}" font-weight="600" fill="{INK}">{inner}</text>'
            )


def _network_legend(parts: list[str], height: float) -> None:
    y = height - 10
    parts.append(
        f'<line x1="8" y1="{_f(y - 4)}" x2="30" y2="{_f(y - 4)}" stroke="{_OUT_COLOUR}" '
        f'stroke-width="3"/>'
        f'<text x="35" y="{_f(y)}" fill="{INK}">Referrals sent</text>'
        f'<line x1="140" y1="{_f(y - 4)}" x2="162" y2="{_f(y - 4)}" stroke="{_IN_COLOUR}" '
        f'stroke-width="3" stroke-dasharray="{_IN_DASH}"/>'
        f'<text x="167" y="{_f(y)}" fill="{INK}">Referrals received</text>'
    )
