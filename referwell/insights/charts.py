"""Small, dependency-free SVG charts for the insights page.

Every function is pure (plain lists and dicts in, markup out) and returns a `SafeString` that
a template can print as it is. The markup is built for phones and for screen readers:

* the `<svg>` has a `viewBox` and `width="100%"` (no height: the browser keeps the viewBox's
  proportions), so it scales to the column it sits in; no `style` attribute (the page's
  Content-Security-Policy allows none). Every function takes a `width`, the viewBox's: 320 reads
  well on a phone, 720 on a wider screen. Fonts are the platform's own (`system-ui`…), never
  downloaded;
* no two pieces of text overlap: text widths are estimated on the widest common sans font
  (DejaVu Sans, Linux's default) by `text_width`, and every layout leaves room by it;
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
    "MAX_GROUPS",
    "MAX_NODES",
    "PALETTE",
    "bar_chart",
    "line_chart",
    "network_picture",
    "nice_ticks",
    "stacked_columns",
    "text_width",
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
MAX_GROUPS = 12  # …in at most this many rows (professions); the smallest are put together
MAX_EDGE = 8.0  # px, the widest edge in the network picture
NARROW = 320.0  # the default viewBox width: a phone's column, text at about its size

# Advance widths as a fraction of the font size, measured on DejaVu Sans (the widest of the
# common system sans fonts) and rounded up; bold is at most 12 % wider.
_WIDTHS = (
    (" 'ijlIJ,.·/\\|", 0.34),
    ("-()[]rtf!:;", 0.43),
    ('"*_`–szcç?', 0.56),
    ("DGOQU&", 0.8),
    ("Mw#+<=>^~", 0.87),
    ("mW%@—…", 1.0),
)
_CHAR_WIDTH = {char: em for chars, em in _WIDTHS for char in chars}
_LOWER_EM, _UPPER_EM, _WIDE_EM = 0.65, 0.75, 1.0  # other characters: digits alike; CJK wide
_BOLD = 1.15  # bold text is at most this much wider
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


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """How wide `text` is drawn at `size` px, at most (see `_WIDTHS`)."""
    ems = 0.0
    for char in text:
        em = _CHAR_WIDTH.get(char)
        if em is None:
            em = _WIDE_EM if ord(char) >= 0x1100 else _UPPER_EM if char.isupper() else _LOWER_EM
        ems += em
    return ems * size * (_BOLD if bold else 1.0)


def _fit(text: str, size: float, room: float, *, bold: bool = False) -> str:
    """`text` on one line at most `room` px wide, cut with "…" when it is wider."""
    text = " ".join(_clean(text).split())
    if text_width(text, size, bold=bold) <= room:
        return text
    while text and text_width(text + "…", size, bold=bold) > room:
        text = text[:-1]
    return text.rstrip() + "…"


def _wrap(text: str, size: float, room: float, *, bold: bool = False, lines: int = 2) -> list[str]:
    """`text` in at most `lines` lines of at most `room` px, split at spaces (a word wider
    than a line is cut), the last line cut with "…" when the rest does not fit."""
    words = " ".join(_clean(text).split()).split(" ")
    out: list[str] = []
    current = ""
    for i, word in enumerate(words):
        joined = f"{current} {word}" if current else word
        if not current or text_width(joined, size, bold=bold) <= room:
            current = joined
            continue
        out.append(_fit(current, size, room, bold=bold))
        if len(out) == lines - 1:
            current = " ".join(words[i:])
            break
        current = word
    out.append(_fit(current, size, room, bold=bold))
    return out


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


def _width(width: float) -> float:
    """A usable viewBox width: at least 280."""
    return max(_num(width), 280.0)


# --------------------------------------------------------------------------------------------
# bar chart


def bar_chart(
    *,
    title: str,
    labels: list[str],
    values: list[float],
    unit: str = "",
    desc: str = "",
    width: float = NARROW,
) -> SafeString:
    """Horizontal bars, one per label, in the order given; the value is printed after each bar.

    Each label sits on its own line above its bar, so long names fit on a phone. Bar lengths
    are proportional to the values (negative values draw no bar but print as they are).
    """
    if len(labels) != len(values):
        raise ValueError(f"bar_chart: {len(labels)} labels but {len(values)} values")
    numbers = [_num(v) for v in values]
    width = _width(width)
    pad, row, top = 8.0, 38.0, 4.0
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
    value_room = max(text_width(t, 12) for t in texts) + 8
    bar_room = max(width - 2 * pad - value_room, width * 0.4)

    parts.append(
        f'<line x1="{_f(pad)}" y1="{_f(top)}" x2="{_f(pad)}" y2="{_f(height - 4)}" '
        f'stroke="{AXIS}" stroke-width="1"/>'
    )
    for i, (label, number, text) in enumerate(zip(labels, numbers, texts, strict=True)):
        y = top + i * row
        length = bar_room * number / peak if peak > 0 and number > 0 else 0.0
        parts.append(
            f'<text class="label" x="{_f(pad + 4)}" y="{_f(y + 13)}" font-size="13" '
            f'fill="{INK}">{escape(_fit(label, 13, width - 2 * pad - 4))}</text>'
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


_MONTH_YEAR = re.compile(r"^(\S.{0,11}?)\s+(\d{4})$")


class _Frame:
    """Plot area geometry for the period charts (columns and lines)."""

    plot_height = 180.0
    top = 10.0
    right = 8.0
    label_size = 12.0

    def __init__(self, periods: list[str], peak: float, integers: bool, width: float) -> None:
        self.width = width
        self.periods = periods
        self.ticks = nice_ticks(peak, integers=integers)
        self.tick_labels = [_fmt_tick(t) for t in self.ticks]
        self.left = max(text_width(t, 11) for t in self.tick_labels) + 12
        self.plot_width = self.width - self.left - self.right
        self.base = self.top + self.plot_height
        self.band = self.plot_width / max(len(periods), 1)
        # "Feb 2026": the month on one line, the year under it where it changes.
        split = [_MONTH_YEAR.match(" ".join(_clean(p).split())) for p in periods]
        if periods and all(split):
            self.names = [m.group(1) for m in split if m]
            self.years = [m.group(2) for m in split if m]
        else:
            self.names = [_cut(p, 12) for p in periods]
            self.years = []
        # Baselines of the label lines (below the "0" tick's label), and the foot of the last.
        self.lines = [self.base + 19, self.base + 34] if self.years else [self.base + 19]
        self.labels_bottom = self.lines[-1] + 3

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
                f'<text class="tick" x="{_f(self.left - 6)}" y="{_f(y + 4)}" text-anchor="end" '
                f'font-size="11" fill="{MUTED}">{label}</text>'
            )

    def period_labels(self, parts: list[str]) -> None:
        """Period names under the plot, thinned to every n-th so that none collide."""
        size = self.label_size
        widest = max(text_width(n, size) for n in [*self.names, *self.years])
        fits = max(int(self.plot_width // (widest + 6)), 1)
        step = max(math.ceil(len(self.names) / fits), 1)
        last_year = ""
        for i, name in enumerate(self.names):
            if i % step:
                continue
            year = self.years[i] if self.years else ""
            shown = [name] + ([year] if year and year != last_year else [])
            last_year = year or last_year
            half = max(text_width(t, size) for t in shown) / 2
            x = min(max(self.x_center(i), half + 2), self.width - half - 2)
            for line, (text, cls) in enumerate(zip(shown, ("period", "year"), strict=False)):
                parts.append(
                    f'<text class="{cls}" x="{_f(x)}" y="{_f(self.lines[line])}" '
                    f'text-anchor="middle" font-size="{_f(size)}" fill="{INK}">'
                    f"{escape(text)}</text>"
                )

    def legend(self, parts: list[str], names: list[str], kind: str) -> float:
        """A legend under the plot, flowing into rows; returns the chart's total height."""
        size, gap, left = 12.0, 14.0, 8.0
        x, y = left, self.labels_bottom + 18
        for i, key in enumerate(names):
            name = _fit(key, size, self.width - 2 * left - 20)
            item = 20 + text_width(name, size)
            if x > left and x + item > self.width - left:
                x, y = left, y + 18
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
                f'<text class="legend" x="{_f(x + 20)}" y="{_f(y)}" font-size="{_f(size)}" '
                f'fill="{INK}">{escape(name)}</text>'
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
    *,
    title: str,
    periods: list[str],
    series: dict[str, list[float]],
    desc: str = "",
    width: float = NARROW,
) -> SafeString:
    """One column per period, the series stacked in the order given (the first at the bottom).

    Negative values count as zero. Period labels are thinned to every n-th when crowded; a
    period written "Feb 2026" shows its year on a second line where the year changes. The
    legend lists the series in stacking order.
    """
    _check_series("stacked_columns", periods, series)
    width = _width(width)
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
        parts = _open("columns", width, 48, title, _join_desc(desc, summary))
        _no_data(parts, width, 48)
        return _close(parts)

    frame = _Frame(periods, peak, _all_integers(v for vs in data.values() for v in vs), width)
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
    *,
    title: str,
    periods: list[str],
    series: dict[str, list[float]],
    desc: str = "",
    width: float = NARROW,
) -> SafeString:
    """One line per series over the periods, y axis from 0 with 3–5 round ticks.

    Negative values are drawn at zero. Lines differ by colour and dash pattern; points get
    small markers when there are few periods (and always when there is only one).
    """
    _check_series("line_chart", periods, series)
    width = _width(width)
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
        parts = _open("line", width, 48, title, _join_desc(desc, summary))
        _no_data(parts, width, 48)
        return _close(parts)

    frame = _Frame(periods, peak, _all_integers(v for vs in data.values() for v in vs), width)
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
_OTHER = "Other"


# A partner as the network picture draws it (`in` is a keyword: the functional form).
_Node = TypedDict(
    "_Node",
    {"label": str, "group": str, "out": float, "in": float, "total": float, "index": int},
)


@dataclass
class _Row:
    """A profession's row: its name, its partners, and where each is drawn."""

    group: str
    members: list[_Node]
    top: float = 0.0
    target: float = 0.0  # y where its edges end
    bottom: float = 0.0

    @property
    def out(self) -> float:
        return sum(m["out"] for m in self.members)

    @property
    def into(self) -> float:
        return sum(m["in"] for m in self.members)


def _rows(nodes: Sequence[Mapping[str, object]]) -> tuple[list[_Row], int, int]:
    """The partners drawn (the `MAX_NODES` largest), in rows by profession (at most
    `MAX_GROUPS`, the smallest together in "Other"); with how many partners and professions
    were left out or put together."""
    partners: list[_Node] = []
    for index, node in enumerate(nodes):
        out, into = max(_num(node.get("out")), 0.0), max(_num(node.get("in")), 0.0)
        group = " ".join(_clean(node.get("group") or "").split()) or _OTHER
        partners.append(
            {
                "label": _clean(node.get("label") or ""),
                "group": group,
                "out": out,
                "in": into,
                "total": out + into,
                "index": index,
            }
        )
    dropped = max(len(partners) - MAX_NODES, 0)
    partners = sorted(partners, key=lambda r: (-r["total"], r["index"]))[:MAX_NODES]
    groups: dict[str, list[_Node]] = {}
    for partner in partners:
        groups.setdefault(partner["group"], []).append(partner)
    order = sorted(groups, key=lambda g: (-sum(r["total"] for r in groups[g]), g.casefold(), g))
    folded = 0
    if len(order) > MAX_GROUPS:
        kept = [g for g in order if g != _OTHER][: MAX_GROUPS - 1]
        rest = [g for g in order if g not in kept]
        folded = len([g for g in rest if g != _OTHER])
        groups[_OTHER] = sorted(
            (m for g in rest for m in groups[g]), key=lambda r: (-r["total"], r["index"])
        )
        order = [*kept, _OTHER]
    return [_Row(g, groups[g]) for g in order], dropped, folded


def _counts(row: _Row) -> str:
    partners = len(row.members)
    return (
        f"{partners} partner{'s' if partners != 1 else ''} · {_fmt(row.out)} sent · "
        f"{_fmt(row.into)} received"
    )


def network_picture(
    *,
    title: str,
    center: str,
    nodes: Sequence[Mapping[str, object]],
    desc: str = "",
    width: float = NARROW,
) -> SafeString:
    """The practice on the left, one row per profession on the right, a line each way between.

    `nodes` are dicts `{"label", "group", "out", "in"}`: `out` counts referrals the practice
    sent to the partner, `in` referrals the partner sent to the practice. Each row holds the
    profession's name, its counts in words, and a dot per partner, whose radius grows with the
    square root of the partner's total (its `<title>` names it). From the practice to each
    row run up to two curves side by side: referrals sent (solid, teal) and received (dashed,
    orange), whose widths grow with the square root of the row's count (the largest count is
    `MAX_EDGE` = 8px wide; a count of 0 draws no line). At most `MAX_NODES` partners are drawn,
    the largest by total (ties: the order given), in at most `MAX_GROUPS` rows (the smallest
    professions together in "Other"); the desc says so.

    Nothing can overlap: the legend sits above the rows, each row below the one before, every
    name is fitted to the row's width (wrapped to two lines, cut with "…"), and the curves stay
    left of the rows.
    """
    width = _width(width)
    pad, size, small = 8.0, 13.0, 12.0
    hub_r, dot_max, dot_min = 11.0, 7.0, 3.0
    hub_x = pad + hub_r
    text_x = max(width * 0.22, 80.0)  # where the rows start; the curves end 8px before
    room = width - pad - text_x

    rows, dropped, folded = _rows(nodes)
    drawn = sum(len(r.members) for r in rows)
    sentences = [desc]
    if not rows:
        sentences.append(f"No data: {_cut(center, 60)} has no partners to show.")
    else:
        sentences.append(
            f"{_cut(center, 60)} and {drawn} partner{'s' if drawn != 1 else ''}, one row per "
            f"profession: {_listing([f'{r.group} ({_counts(r)})' for r in rows], 10)}. Solid "
            "lines are referrals sent to partners, dashed lines referrals received; wider lines "
            "and larger dots mean more referrals."
        )
        if dropped:
            sentences.append(f"Only the {drawn} largest of {drawn + dropped} partners are drawn.")
        if folded:
            sentences.append(f"The {folded} smallest professions are together under Other.")
        if all(r.out + r.into == 0 for r in rows):
            sentences.append("No data: no referrals in either direction yet.")

    body: list[str] = []
    y = _network_legend(body, center, width, pad, bool(rows)) + 10

    # Rows, top to bottom: the name (bold, up to two lines) with its counts after it when they
    # fit on the line, else on the next; then the partners' dots, as many lines as they need.
    step = 2 * dot_max + 4
    per_line = max(int((room + 4) // step), 1)
    biggest = max((m["total"] for r in rows for m in r.members), default=0.0)
    for row in rows:
        row.top = y
        lines = _wrap(row.group, size, room, bold=True)
        counts = _counts(row)
        last = lines[-1]
        after = text_width(last, size, bold=True) + 10
        inline = after + text_width(counts, small) <= room
        for i, line in enumerate(lines):
            body.append(
                f'<text class="group" x="{_f(text_x)}" y="{_f(y + 13 + 17 * i)}" '
                f'font-size="{_f(size)}" font-weight="600" fill="{INK}">{escape(line)}</text>'
            )
        baseline = y + 13 + 17 * (len(lines) - 1)
        if inline:
            counts_x, counts_y = text_x + after, baseline
        else:
            counts_x, counts_y = text_x, baseline + 16
        if not inline and text_width(counts, small) > room:
            counts = _fit(counts, small, room)
        body.append(
            f'<text class="counts" x="{_f(counts_x)}" y="{_f(counts_y)}" '
            f'font-size="{_f(small)}" fill="{MUTED}">{escape(counts)}</text>'
        )
        dots_top = counts_y + 6
        for i, member in enumerate(row.members):
            share = math.sqrt(member["total"] / biggest) if biggest > 0 else 0.0
            radius = dot_min + (dot_max - dot_min) * share
            cx = text_x + dot_max + step * (i % per_line)
            cy = dots_top + dot_max + step * (i // per_line)
            body.append(
                f'<circle class="node" cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(radius)}" '
                f'fill="{MUTED}"><title>{_esc(member["label"], 80)} '
                f"({_esc(member['group'], 40)}): {_fmt(member['out'])} sent, "
                f"{_fmt(member['in'])} received</title></circle>"
            )
        row.target = y + 8
        row.bottom = dots_top + step * math.ceil(len(row.members) / per_line)
        y = row.bottom + 12

    height = max(y, 60.0)
    if rows:
        hub_y = (rows[0].target + rows[-1].target) / 2
        end_x = text_x - 8
        _network_edges(body, rows, hub_x, hub_y, end_x)
    else:
        hub_y = y + hub_r
        body.append(
            f'<text class="counts" x="{_f(hub_x + hub_r + 8)}" y="{_f(hub_y + 4)}" '
            f'font-size="{_f(small)}" fill="{MUTED}">No partners to show yet</text>'
        )
        height = hub_y + hub_r + 10
    body.append(
        f'<circle class="centre" cx="{_f(hub_x)}" cy="{_f(hub_y)}" r="{_f(hub_r)}" '
        f'fill="{INK}"><title>{_esc(center, 80)}</title></circle>'
    )
    parts = _open("network", width, height, title, _join_desc(*sentences))
    parts.extend(body)
    return _close(parts)


def _network_edges(
    parts: list[str], rows: list[_Row], hub_x: float, hub_y: float, end_x: float
) -> None:
    """Two curves side by side from the practice to each row: sent above, received below."""
    biggest = max((max(r.out, r.into) for r in rows), default=0.0)
    middle = (hub_x + end_x) / 2
    for row in rows:
        for direction, count in (("out", row.out), ("in", row.into)):
            if count <= 0 or biggest <= 0:
                continue
            stroke = MAX_EDGE * math.sqrt(count / biggest)
            shift = (stroke / 2 + 0.4) * (-1 if direction == "out" else 1)
            y1, y2 = hub_y + shift, row.target + shift
            if direction == "out":
                path = f"M{_f(hub_x)},{_f(y1)} C{_f(middle)},{_f(y1)} {_f(middle)},{_f(y2)} "
                path += f"{_f(end_x)},{_f(y2)}"
                style = f'stroke="{_OUT_COLOUR}"'
            else:
                path = f"M{_f(end_x)},{_f(y2)} C{_f(middle)},{_f(y2)} {_f(middle)},{_f(y1)} "
                path += f"{_f(hub_x)},{_f(y1)}"
                style = f'stroke="{_IN_COLOUR}" stroke-dasharray="{_IN_DASH}"'
            parts.append(
                f'<path class="edge {direction}" d="{path}" fill="none" {style} '
                f'stroke-width="{_f(stroke)}" stroke-opacity="0.75" data-count="{_f(count)}"/>'
            )


def _network_legend(parts: list[str], center: str, width: float, pad: float, full: bool) -> float:
    """The key above the picture, flowing into lines; returns the y of its last line's foot."""
    size = 12.0
    items = [("centre", _fit(center, size, width - 2 * pad - 20))]
    if full:
        items += [("out", "Referrals sent"), ("in", "Referrals received"), ("node", "A partner")]
    x, y = pad, 14.0
    for kind, text in items:
        item = 20 + text_width(text, size)
        if x > pad and x + item > width - pad:
            x, y = pad, y + 18
        if kind == "centre":
            mark = f'<circle cx="{_f(x + 7)}" cy="{_f(y - 4)}" r="6" fill="{INK}"/>'
        elif kind == "node":
            mark = f'<circle cx="{_f(x + 7)}" cy="{_f(y - 4)}" r="4.5" fill="{MUTED}"/>'
        else:
            colour, dash = (
                (_OUT_COLOUR, "")
                if kind == "out"
                else (_IN_COLOUR, f' stroke-dasharray="{_IN_DASH}"')
            )
            mark = (
                f'<line x1="{_f(x)}" y1="{_f(y - 4)}" x2="{_f(x + 16)}" y2="{_f(y - 4)}" '
                f'stroke="{colour}" stroke-width="3"{dash}/>'
            )
        parts.append(
            mark + f'<text class="legend" x="{_f(x + 20)}" y="{_f(y)}" font-size="{_f(size)}" '
            f'fill="{INK}">{escape(text)}</text>'
        )
        x += item + 14
    return y + 5
