"""The insights page's SVG charts: well-formed, accessible, escaped, and drawn to scale."""

import math
import random
import re
import xml.etree.ElementTree as ET

import pytest
from django.utils.safestring import SafeString

from referwell.insights.charts import (
    MAX_EDGE,
    MAX_GROUPS,
    PALETTE,
    bar_chart,
    line_chart,
    network_picture,
    nice_ticks,
    stacked_columns,
    text_width,
)

NS = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script> Smith & Jones'


def parse(svg):
    assert isinstance(svg, SafeString)
    return ET.fromstring(str(svg))


def by_class(root, tag, cls):
    return [el for el in root.iter(NS + tag) if cls in el.get("class", "").split()]


def desc_of(root):
    return root.find(NS + "desc").text or ""


def nodes(n, group="Chiropractor"):
    return [{"label": f"P{i}", "group": group, "out": i + 1, "in": 0} for i in range(n)]


ALL_CHARTS = [
    lambda title: bar_chart(title=title, labels=["a", "b"], values=[3, 5]),
    lambda title: stacked_columns(
        title=title, periods=["Jan", "Feb"], series={"Out": [1, 2], "In": [3, 0]}
    ),
    lambda title: line_chart(title=title, periods=["Jan", "Feb"], series={"Out": [1, 2]}),
    lambda title: network_picture(
        title=title, center="Elm Grove", nodes=[{"label": "A", "group": "GP", "out": 2, "in": 1}]
    ),
]


@pytest.mark.parametrize("make", ALL_CHARTS)
def test_every_chart_is_accessible_well_formed_xml(make):
    root = parse(make("Referrals & more"))
    assert root.tag == NS + "svg"
    assert root.get("role") == "img"
    assert root.get("viewBox")
    assert root.get("width") == "100%"
    assert root.get("height") is None  # the browser keeps the viewBox's proportions
    assert root.get("style") is None  # the Content-Security-Policy allows no style attribute
    title = root.find(NS + "title")
    assert title is not None and title.text == "Referrals & more"
    assert root.find(NS + "desc") is not None
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    labelled_by = root.get("aria-labelledby").split()
    assert len(labelled_by) == 2
    assert all(ref in ids for ref in labelled_by)
    assert title.get("id") == labelled_by[0]
    assert root.find(NS + "desc").get("id") == labelled_by[1]
    assert "url(" not in str(make("x")) and "@import" not in str(make("x"))  # no web fonts


@pytest.mark.parametrize("make", ALL_CHARTS)
def test_ids_are_unique_per_call(make):
    first, second = parse(make("A")), parse(make("A"))
    ids_first = {el.get("id") for el in first.iter() if el.get("id")}
    ids_second = {el.get("id") for el in second.iter() if el.get("id")}
    assert ids_first and not ids_first & ids_second


def test_bar_lengths_are_proportional():
    root = parse(bar_chart(title="T", labels=["a", "b", "c"], values=[10, 40, 0], unit="days"))
    widths = [float(r.get("width")) for r in by_class(root, "rect", "bar")]
    assert len(widths) == 3
    assert widths[1] == pytest.approx(4 * widths[0], rel=0.01)
    assert widths[2] == 0
    values = [t.text for t in by_class(root, "text", "value")]
    assert values == ["10 days", "40 days", "0 days"]


def test_bar_chart_handles_forty_bars_and_decimals():
    labels = [f"Partner {i}" for i in range(40)]
    root = parse(bar_chart(title="T", labels=labels, values=[i / 3 for i in range(40)], unit="%"))
    assert len(by_class(root, "rect", "bar")) == 40
    assert by_class(root, "text", "value")[-1].text == "13%"
    assert by_class(root, "text", "value")[-2].text == "12.7%"


def test_currency_units_come_first():
    root = parse(bar_chart(title="T", labels=["a", "b"], values=[1234, 12.5], unit="$"))
    assert [t.text for t in by_class(root, "text", "value")] == ["$1,234", "$12.50"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: bar_chart(title=EVIL, labels=[EVIL], values=[1], unit="&", desc=EVIL),
        lambda: stacked_columns(title=EVIL, periods=[EVIL], series={EVIL: [1]}, desc=EVIL),
        lambda: line_chart(title=EVIL, periods=[EVIL], series={EVIL: [1]}, desc=EVIL),
        lambda: network_picture(
            title=EVIL, center=EVIL, nodes=[{"label": EVIL, "group": EVIL, "out": 1, "in": 1}]
        ),
    ],
)
def test_labels_are_escaped(make):
    svg = str(make())
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "&amp;" in svg
    root = parse(svg)
    assert root.find(NS + "title").text == EVIL
    assert not list(root.iter(NS + "script")) and not list(root.iter("script"))


def test_control_characters_cannot_break_the_xml():
    parse(bar_chart(title="a\x00b\x1b", labels=["x\x07"], values=[1]))


@pytest.mark.parametrize(
    "make",
    [
        lambda: bar_chart(title="T", labels=[], values=[]),
        lambda: bar_chart(title="T", labels=["a", "b"], values=[0, 0]),
        lambda: stacked_columns(title="T", periods=[], series={}),
        lambda: stacked_columns(title="T", periods=["Jan"], series={}),
        lambda: stacked_columns(title="T", periods=["Jan", "Feb"], series={"a": [0, 0]}),
        lambda: line_chart(title="T", periods=[], series={}),
        lambda: line_chart(title="T", periods=["Jan", "Feb"], series={"a": [0, 0]}),
        lambda: network_picture(title="T", center="Elm Grove", nodes=[]),
        lambda: network_picture(
            title="T", center="Elm Grove", nodes=[{"label": "A", "group": "", "out": 0, "in": 0}]
        ),
    ],
)
def test_empty_and_all_zero_inputs_render_and_say_no_data(make):
    root = parse(make())
    assert "no data" in desc_of(root).lower()


def test_bar_chart_says_what_it_shows():
    root = parse(bar_chart(title="T", labels=["a", "b"], values=[1, 5], desc="Last 90 days."))
    text = desc_of(root)
    assert text.startswith("Last 90 days.")
    assert "b with 5" in text
    assert "no data" not in text.lower()


def test_mismatched_lengths_are_a_caller_error():
    with pytest.raises(ValueError):
        bar_chart(title="T", labels=["a"], values=[1, 2])
    with pytest.raises(ValueError):
        stacked_columns(title="T", periods=["Jan", "Feb"], series={"a": [1]})
    with pytest.raises(ValueError):
        line_chart(title="T", periods=["Jan"], series={"a": [1, 2]})


def test_stacked_columns_stack():
    root = parse(
        stacked_columns(title="T", periods=["Jan", "Feb"], series={"Out": [2, 4], "In": [3, 1]})
    )
    first, second = by_class(root, "rect", "s0"), by_class(root, "rect", "s1")
    assert len(first) == len(second) == 2
    for bottom, top in zip(first, second, strict=True):
        assert bottom.get("x") == top.get("x")  # same column
        top_y, top_h = float(top.get("y")), float(top.get("height"))
        bottom_y = float(bottom.get("y"))
        assert top_y < bottom_y  # series 2 sits above series 1
        assert top_y + top_h == pytest.approx(bottom_y, abs=0.02)  # …right on top of it
    # Heights are to scale: Jan's "In" (3) is 1.5 × Jan's "Out" (2).
    assert float(second[0].get("height")) == pytest.approx(
        1.5 * float(first[0].get("height")), rel=0.01
    )
    legend = [t.text for t in root.iter(NS + "text")]
    assert "Out" in legend and "In" in legend


def test_stacked_columns_thin_crowded_period_labels():
    periods = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 13)]
    periods += [f"2026-{m:02d}" for m in range(1, 13)]
    root = parse(stacked_columns(title="T", periods=periods, series={"a": list(range(36))}))
    shown = by_class(root, "text", "period")
    assert 2 <= len(shown) < 36
    assert shown[0].text == "2024-01"
    one = parse(stacked_columns(title="T", periods=["Jan 2025"], series={"a": [3]}))
    assert [t.text for t in by_class(one, "text", "period")] == ["Jan"]
    assert [t.text for t in by_class(one, "text", "year")] == ["2025"]


def test_month_names_show_the_year_under_the_month_where_it_changes():
    periods = ["Nov 2025", "Dec 2025", "Jan 2026", "Feb 2026"]
    root = parse(line_chart(title="T", periods=periods, series={"a": [1, 2, 3, 4]}, width=720))
    assert [t.text for t in by_class(root, "text", "period")] == ["Nov", "Dec", "Jan", "Feb"]
    years = by_class(root, "text", "year")
    assert [t.text for t in years] == ["2025", "2026"]
    months = {t.get("x"): t.text for t in by_class(root, "text", "period")}
    assert [months[y.get("x")] for y in years] == ["Nov", "Jan"]  # under the month it starts
    assert "4 periods from Nov 2025 to Feb 2026" in desc_of(root)


def test_line_chart_draws_one_polyline_per_series_from_zero():
    root = parse(
        line_chart(
            title="T",
            periods=["Jan", "Feb", "Mar"],
            series={"Sent": [0, 7, 3], "Received": [1, 2, 3]},
        )
    )
    lines = list(root.iter(NS + "polyline"))
    assert len(lines) == 2
    sent = [tuple(map(float, p.split(","))) for p in lines[0].get("points").split()]
    assert len(sent) == 3
    assert sent[1][1] < sent[2][1] < sent[0][1]  # 7 highest on screen, 0 lowest
    # The 0 point sits on the lowest tick: the y axis starts at 0.
    assert sent[0][1] == pytest.approx(190, abs=0.01)
    assert lines[0].get("stroke") != lines[1].get("stroke")


@pytest.mark.parametrize(
    ("peak", "integers"),
    [
        (0, True),
        (1, True),
        (1, False),
        (3, True),
        (7, True),
        (9, True),
        (23, True),
        (0.4, False),
        (99, True),
        (101, True),
        (12345, True),
        (0.07, False),
        (2.5, False),
    ],
)
def test_nice_ticks(peak, integers):
    ticks = nice_ticks(peak, integers=integers)
    assert 3 <= len(ticks) <= 5
    assert ticks[0] == 0 and ticks[-1] >= peak
    step = ticks[1]
    assert all(b - a == pytest.approx(step) for a, b in zip(ticks, ticks[1:], strict=False))
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 2.5, 5)
    if integers:
        assert all(float(t).is_integer() for t in ticks)


def test_network_edges_scale_with_the_square_root_and_skip_zero():
    root = parse(
        network_picture(
            title="T",
            center="Elm Grove",
            nodes=[
                {"label": "A", "group": "GP", "out": 16, "in": 4},
                {"label": "B", "group": "Physio", "out": 1, "in": 0},
            ],
        )
    )
    out_edges = {
        e.get("data-count"): float(e.get("stroke-width")) for e in by_class(root, "path", "out")
    }
    in_edges = {
        e.get("data-count"): float(e.get("stroke-width")) for e in by_class(root, "path", "in")
    }
    assert out_edges["16"] == pytest.approx(MAX_EDGE)
    assert out_edges["1"] == pytest.approx(MAX_EDGE / 4, abs=0.01)  # sqrt(1/16)
    assert in_edges == {"4": pytest.approx(MAX_EDGE / 2, abs=0.01)}  # sqrt(4/16)
    assert len(by_class(root, "path", "edge")) == 3  # B's "in" of 0 draws nothing
    groups = {t.text for t in by_class(root, "text", "group")}
    assert groups == {"GP", "Physio"}


def test_network_node_radius_grows_with_total():
    root = parse(
        network_picture(
            title="T",
            center="C",
            nodes=[
                {"label": "big", "group": "g", "out": 20, "in": 5},
                {"label": "small", "group": "g", "out": 1, "in": 0},
            ],
        )
    )
    radii = {
        c.find(NS + "title").text.split(" ")[0]: float(c.get("r"))
        for c in by_class(root, "circle", "node")
    }
    assert radii["big"] > radii["small"]


def test_network_draws_at_most_sixty_of_the_largest_nodes():
    many = nodes(50, "Chiropractor") + nodes(50, "Physiotherapist")
    root = parse(network_picture(title="T", center="Elm Grove", nodes=many))
    dots = by_class(root, "circle", "node")
    assert len(dots) == 60
    assert len(by_class(root, "circle", "centre")) == 1
    # Counts 1..50 twice: the 60 largest are P20..P49 (21..50) of each profession.
    names = sorted(d.find(NS + "title").text.split(" ")[0] for d in dots)
    assert names == sorted([f"P{i}" for i in range(20, 50)] * 2)
    sent = {e.get("data-count") for e in by_class(root, "path", "out")}
    assert sent == {str(sum(range(21, 51)))}  # one line per profession, its total
    assert "60 largest of 100" in desc_of(root)


def test_network_puts_the_smallest_professions_together():
    many = [
        {"label": f"P{i}", "group": f"Profession {i:02d}", "out": 100 - i, "in": 0}
        for i in range(MAX_GROUPS + 5)
    ]
    root = parse(network_picture(title="T", center="Elm Grove", nodes=many))
    rows = [t.text for t in by_class(root, "text", "group")]
    assert len(rows) == MAX_GROUPS
    assert rows[:-1] == [f"Profession {i:02d}" for i in range(MAX_GROUPS - 1)]
    assert rows[-1] == "Other"
    assert len(by_class(root, "circle", "node")) == MAX_GROUPS + 5  # every partner still drawn
    counts = by_class(root, "text", "counts")[-1].text
    assert counts.startswith("6 partners")
    assert "The 6 smallest professions are together under Other." in desc_of(root)


def test_palette_has_enough_contrast_against_white():
    def luminance(hex_colour):
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for colour in PALETTE:
        assert 1.05 / (luminance(colour) + 0.05) >= 4.5, colour


# --------------------------------------------------------------------------------------------
# No two pieces of text overlap, nothing leaves the picture: the boxes are computed from the
# SVG itself (position, anchor, size, weight) with the widths of DejaVu Sans.

ASCENT, DESCENT = 0.93, 0.24  # DejaVu Sans, as fractions of the font size


def text_boxes(root):
    boxes = []
    for el in root.iter(NS + "text"):
        text = "".join(el.itertext())
        if not text.strip():
            continue
        size = float(el.get("font-size") or root.get("font-size"))
        bold = el.get("font-weight") in ("600", "700", "bold")
        width = text_width(text, size, bold=bold)
        x, y = float(el.get("x")), float(el.get("y"))
        left = x - {"start": 0, "middle": width / 2, "end": width}[el.get("text-anchor", "start")]
        boxes.append((text, (left, y - ASCENT * size, left + width, y + DESCENT * size)))
    return boxes


def circle_boxes(root, cls):
    return [
        (
            el.find(NS + "title").text if el.find(NS + "title") is not None else cls,
            (
                float(el.get("cx")) - float(el.get("r")),
                float(el.get("cy")) - float(el.get("r")),
                float(el.get("cx")) + float(el.get("r")),
                float(el.get("cy")) + float(el.get("r")),
            ),
        )
        for el in by_class(root, "circle", cls)
    ]


def edge_boxes(root):
    boxes = []
    for edge in by_class(root, "path", "edge"):
        numbers = [float(n) for n in re.findall(r"-?[\d.]+", edge.get("d"))]
        xs, ys, half = numbers[::2], numbers[1::2], float(edge.get("stroke-width")) / 2
        boxes.append(("edge", (min(xs), min(ys) - half, max(xs), max(ys) + half)))
    return boxes


def intersect(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def assert_apart(boxes, others=(), *, each_other=True):
    """No box overlaps another (unless not `each_other`), nor any of `others`."""
    for i, (name_a, a) in enumerate(boxes):
        for name_b, b in boxes[i + 1 :] if each_other else ():
            assert not intersect(a, b), f"{name_a!r} overlaps {name_b!r}: {a} {b}"
        for name_b, b in others:
            assert not intersect(a, b), f"{name_a!r} overlaps {name_b!r}: {a} {b}"


def assert_inside(root, boxes):
    _, _, width, height = map(float, root.get("viewBox").split())
    for name, (left, top, right, bottom) in boxes:
        assert left >= 0 and top >= 0 and right <= width and bottom <= height, (name, width)


# Widths of DejaVu Sans at 13 px measured in Chromium (text, normal, bold): the estimate is never
# narrower, and not much wider.
MEASURED = [
    ("Obstetrician-gynecologist", 166.7, 189.5),
    ("Midwife or doula", 107.5, 122.7),
    ("Elm Grove Massage", 128.4, 143.4),
    ("3 partners · 5 sent · 2 received", 200.9, 226.3),
    ("MMMMMMMMMM", 112.2, 129.4),
    ("WWWW wwww", 98.4, 110.0),
    ("$12,345", 53.8, 59.2),
    ("2026", 33.1, 36.2),
]


@pytest.mark.parametrize(("text", "normal", "bold"), MEASURED)
def test_text_width_never_underestimates_the_widest_common_font(text, normal, bold):
    assert normal <= text_width(text, 13) <= normal * 1.4
    assert bold <= text_width(text, 13, bold=True) <= bold * 1.4


WORDS = [
    "Chiropractor", "Physical", "therapist", "Obstetrician-gynecologist", "Midwife", "or",
    "doula", "Sports", "medicine", "physician", "Naturopathic", "doctor", "WWWWWWWWWW",
    "Psychotherapist/counsellor", "&", "<b>", "Ünïcödé", "Smith", "MMM", "i", "l",
    "Supercalifragilisticexpialidociousness",
]  # fmt: skip


def random_nodes(seed):
    rng = random.Random(seed)
    groups = [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
        for _ in range(rng.randint(1, 70))
    ]
    return [
        {
            "label": " ".join(rng.choice(WORDS) for _ in range(3)),
            "group": rng.choice(groups + [""]),
            "out": rng.choice([0, 0, 1, 2, 5, 40, 1000]),
            "in": rng.choice([0, 1, 3, 999999]),
        }
        for _ in range(rng.randint(1, 130))
    ]


@pytest.mark.parametrize("width", [280, 320, 720])
@pytest.mark.parametrize("seed", range(12))
def test_network_labels_never_overlap(seed, width):
    center = " ".join(random.Random(seed).choice(WORDS) for _ in range(4))
    root = parse(network_picture(title="T", center=center, nodes=random_nodes(seed), width=width))
    texts = text_boxes(root)
    dots = circle_boxes(root, "node") + circle_boxes(root, "centre")
    assert len(by_class(root, "text", "counts")) <= MAX_GROUPS  # one per row
    assert_apart(texts, dots)
    assert_apart(dots)
    assert_inside(root, texts + dots)
    # The lines cross no text and no dot: each curve lies inside the box of its control points.
    assert_apart(edge_boxes(root), texts + circle_boxes(root, "node"), each_other=False)


def test_network_with_one_profession_of_sixty_partners_wraps_its_dots():
    root = parse(network_picture(title="T", center="Elm Grove", nodes=nodes(60)))
    dots = circle_boxes(root, "node")
    assert len(dots) == 60 and len({box[1] for _, box in dots}) > 1  # several lines of dots
    assert_apart(text_boxes(root), dots)
    assert_apart(dots)
    assert_inside(root, text_boxes(root) + dots)


LONG = "Medical professionals who referred clients through the web form"


@pytest.mark.parametrize("width", [280, 320, 720])
@pytest.mark.parametrize("months", [1, 2, 7, 13, 36, 61])
@pytest.mark.parametrize("make", [stacked_columns, line_chart])
def test_period_charts_labels_never_overlap(make, months, width):
    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    periods = [f"{names[(10 + i) % 12]} {2025 + (10 + i) // 12}" for i in range(months)]
    series = {f"{LONG} {s}" if s % 3 == 0 else f"S{s}": [12345.5 * s] * months for s in range(8)}
    root = parse(make(title="T", periods=periods, series=series, width=width))
    boxes = text_boxes(root)
    assert_apart(boxes)
    assert_inside(root, boxes)
    shown = by_class(root, "text", "period")
    assert shown[0].text == "Nov" and by_class(root, "text", "year")[0].text == "2025"


@pytest.mark.parametrize("width", [280, 320, 720])
def test_bar_chart_labels_never_overlap(width):
    labels = [LONG, "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW", "a", "Walk-in / web"]
    root = parse(bar_chart(title="T", labels=labels, values=[1e6, 5, 0, 12345.67], unit="$",
                           width=width))  # fmt: skip
    boxes = text_boxes(root)
    assert_apart(boxes)
    assert_inside(root, boxes)
