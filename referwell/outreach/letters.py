"""Letters a massage therapist sends to the people in their referral network.

Pure Python plus Django's template engine: no database, no models. The caller builds a
context of plain dicts, strings, numbers, booleans and dates, for example::

    {
        "practice": {"name", "phone", "email", "address"},
        "therapist": {"name"},
        "partner": {"name", "clinic"},
        "client": {"first_name", "last_name",
                   "date_of_birth", "phone"},  # these two only when the consent covers them
        "referral": {"reasons", "date"},
        "report": {"text", "visits", "period"},
        "referrer": {"name", "is_professional": bool},
        "client_agreed_to_be_named": bool,
        "today": date,
    }

Templates (the defaults in ``letter_templates/<kind>.txt`` or ones a practice edited) use a
safe subset of the Django template language: plain text (no autoescaping), unknown
variables render as "", and tags that reach outside the template (``load``, ``include``,
``extends``, ``url``, ``static``, ...) are refused by :func:`validate_template`.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import Lexer, Node, TokenType, VariableDoesNotExist
from django.template.context import ContextDict
from django.template.library import Library

from referwell.core.errors import ApplicationError
from referwell.core.fonts import pdf_fonts, use_fonts

if TYPE_CHECKING:
    from fpdf import FPDF

LETTER_KINDS: dict[str, str] = {
    "referral": "Referral letter to a partner about a client",
    "thanks_received": "Thank-you to whoever referred a new client to us",
    "thanks_care": "Thank-you to a partner for taking care of our client",
    "progress_report": "Progress report to the referring health-care professional",
    "introduction": "Introduction and request for a 10-minute meeting",
    "what_is_massage": "One page on what massage therapy is, for doctors' offices",
}
# The letters with clinical text (the reason for a referral, how treatment goes): only the
# clinical roles read them back. The others (thank-yous, introductions) the front desk may
# send, so it may read them again too.
CLINICAL_KINDS = frozenset({"referral", "progress_report"})

TEMPLATE_DIR = Path(__file__).resolve().parent / "letter_templates"

# Tags that read files, reverse URLs, dump the context or otherwise reach outside the letter.
FORBIDDEN_TAGS = frozenset(
    {"load", "include", "extends", "debug", "ssi", "csrf_token", "url", "static", "lorem"}
)
# Only these tags and filters exist for a letter template (an allow-list: anything else, e.g.
# {% widthratio %}, |ljust, |add, |join, |make_list, can compute big numbers or long strings).
ALLOWED_TAGS = frozenset(
    {"if", "for", "with", "comment", "firstof", "now", "spaceless", "filter", "autoescape",
     "verbatim", "templatetag", "cycle", "resetcycle", "ifchanged"}
)  # fmt: skip
ALLOWED_FILTERS = frozenset(
    {"capfirst", "cut", "date", "default", "default_if_none", "first", "last", "length",
     "lower", "upper", "title", "pluralize", "yesno", "safe", "slice", "time", "timesince",
     "timeuntil", "truncatechars", "truncatewords", "wordcount"}
)  # fmt: skip
# Words that continue an allowed block: {% elif %}, {% else %}, {% empty %}, {% end... %}.
_CONTINUATIONS = frozenset({"elif", "else", "empty"})
MAX_OUTPUT_CHARS = 100_000  # per rendered part: a letter is a page or two, not 100 KB
MAX_RENDER_SECONDS = 2.0  # a letter renders in milliseconds
MAX_TEMPLATE_CHARS = 20_000  # per template; a letter is a page or two
MAX_FOR_DEPTH = 2  # nested {% for %} loops allowed
# Blocks ({% if %}, {% with %}…) nested deeper than this are refused: Django parses and renders
# them recursively, and a few hundred levels exhaust Python's stack (RecursionError).
MAX_NESTING = 30
# Loop turns per rendering: two nested loops over a 10,000-character text would otherwise
# run 10^8 times (minutes of a server process). A letter needs a few hundred at most.
MAX_LOOP_STEPS = 100_000
_BIG_NUMBER = re.compile(r"\d{5,}")  # e.g. {{ x|ljust:"99999999" }} would eat memory

# Built once: strings only (no loaders), plain text, Django's default builtins only.
# debug=True makes syntax errors carry the line they occurred on.
_ENGINE = Engine(
    loaders=[],
    app_dirs=False,
    debug=True,
    autoescape=False,
    string_if_invalid="",
    libraries={},
    builtins=[],
)


def _allowed_library() -> Library:
    """Django's default tags and filters, cut down to the allow-list: the parser of a letter
    template does not know any other (so even a template stored before the list cannot run)."""
    library = Library()
    for builtin in _ENGINE.template_builtins:
        library.tags.update({k: v for k, v in builtin.tags.items() if k in ALLOWED_TAGS})
        library.filters.update({k: v for k, v in builtin.filters.items() if k in ALLOWED_FILTERS})
    return library


_ENGINE.template_builtins = [_allowed_library()]


class LetterTemplateError(ApplicationError, ValueError):
    """A letter template is unknown, unsafe or invalid. ``line`` is 1-based when known."""

    def __init__(self, message: str, *, part: str | None = None, line: int | None = None):
        self.part = part
        self.line = line
        prefix = ""
        if part and line:
            prefix = f"{part.capitalize()} template, line {line}: "
        elif part:
            prefix = f"{part.capitalize()} template: "
        super().__init__(prefix + message)


@dataclass(frozen=True)
class RenderedLetter:
    subject: str
    body: str


def _check_kind(kind: str) -> None:
    if kind not in LETTER_KINDS:
        known = ", ".join(LETTER_KINDS)
        raise LetterTemplateError(f"Unknown letter kind {kind!r}; expected one of: {known}.")


@lru_cache(maxsize=len(LETTER_KINDS))
def default_template(kind: str) -> tuple[str, str]:
    """(subject_template, body_template) from ``letter_templates/<kind>.txt``.

    The file's first line is ``Subject: ...``, then a blank line, then the body.
    """
    _check_kind(kind)
    text = (TEMPLATE_DIR / f"{kind}.txt").read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    if not first.startswith("Subject:"):
        raise LetterTemplateError(f"{kind}.txt must start with a 'Subject:' line.", line=1)
    subject = first.removeprefix("Subject:").strip()
    body = rest.removeprefix("\n").removeprefix("\r\n")
    return subject, body.rstrip() + "\n"


def _scan(source: str, part: str) -> None:
    """Refuse unsafe tags and runaway constructs, with the line they are on."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise LetterTemplateError(
            f"is {len(source)} characters long; the limit is {MAX_TEMPLATE_CHARS}.", part=part
        )
    depth = 0
    open_blocks: list[str] = []
    for token in Lexer(source).tokenize():
        if token.token_type not in (TokenType.BLOCK, TokenType.VAR):
            continue
        line = token.lineno
        if _BIG_NUMBER.search(token.contents):
            raise LetterTemplateError(
                "numbers of more than 4 digits are not allowed in tags or variables.",
                part=part,
                line=line,
            )
        if token.token_type is not TokenType.BLOCK:
            continue
        name = token.contents.split()[0] if token.contents.split() else ""
        allowed = (
            not name
            or name in ALLOWED_TAGS
            or name in _CONTINUATIONS
            or (name.startswith("end") and name[3:] in ALLOWED_TAGS)
        )
        if name in FORBIDDEN_TAGS or not allowed:
            raise LetterTemplateError(
                f"the {{% {name} %}} tag is not allowed in letter templates.",
                part=part,
                line=line,
            )
        if name.startswith("end"):
            if open_blocks and open_blocks[-1] == name[3:]:
                open_blocks.pop()
        elif name in _BLOCKS:
            open_blocks.append(name)
            if len(open_blocks) > MAX_NESTING:
                raise LetterTemplateError(
                    f"blocks may be nested at most {MAX_NESTING} deep.", part=part, line=line
                )
        if name == "for":
            depth += 1
            if depth > MAX_FOR_DEPTH:
                raise LetterTemplateError(
                    f"{{% for %}} loops may be nested at most {MAX_FOR_DEPTH} deep.",
                    part=part,
                    line=line,
                )
        elif name == "endfor":
            depth = max(0, depth - 1)


# The built-in tags that open a block closed by {% end<name> %}.
_BLOCKS = frozenset(
    {"if", "for", "with", "filter", "spaceless", "autoescape", "block", "comment", "ifchanged",
     "verbatim"}
)  # fmt: skip


class _BudgetContext(Context):
    """A Context that stops a rendering after MAX_LOOP_STEPS variable settings: {% for %}
    sets its loop variable (or updates the context with several) once a turn, so this bounds
    every loop, nested or not. It also counts the text the template's leaf nodes write
    (MAX_OUTPUT_CHARS) and the time spent (MAX_RENDER_SECONDS), checked as the rendering
    goes, so a runaway template stops before it has built its output."""

    steps = 0
    output = 0
    deadline = 0.0

    def _check_time(self) -> None:
        if self.deadline and time.monotonic() > self.deadline:
            raise LetterTemplateError(
                f"takes more than {MAX_RENDER_SECONDS:g} seconds to fill in; a letter needs "
                "far less. Simplify the loops."
            )

    def wrote(self, chars: int) -> None:
        self.output += chars
        if self.output > MAX_OUTPUT_CHARS:
            raise LetterTemplateError(
                f"would be longer than {MAX_OUTPUT_CHARS // 1000} KB when filled in; a letter "
                "is a page or two."
            )
        self._check_time()

    def _step(self) -> None:
        self.steps += 1
        if self.steps > MAX_LOOP_STEPS:
            raise LetterTemplateError(
                f"its loops run more than {MAX_LOOP_STEPS:,} times; a letter needs far fewer."
            )
        self._check_time()

    def __setitem__(self, key: int | str | Node, value: object) -> None:
        self._step()
        super().__setitem__(key, value)

    def update(self, other_dict: dict[str, Any] | Context) -> ContextDict:
        self._step()
        return super().update(other_dict)


def _line_of(exc: Exception) -> int | None:
    info = getattr(exc, "template_debug", None)
    return info.get("line") if isinstance(info, dict) else None


def _counting(node: Node) -> None:
    """Make a leaf node (text, a variable, {% now %}…) report what it writes to the context."""
    # The stubs say a node renders int | str; it renders text.
    original: Callable[[Context], str] = node.render_annotated  # type: ignore[assignment]

    def render_annotated(context: Context) -> str:
        bit = original(context)
        if isinstance(context, _BudgetContext):
            context.wrote(len(bit))
        return bit

    # Replaced on this one node, on purpose (mypy refuses assigning to a method).
    node.render_annotated = render_annotated  # type: ignore[method-assign]


_INVALID_FILTER = re.compile(r"^Invalid filter: '([^']*)'")


@lru_cache(maxsize=256)
def _compile(source: str, part: str) -> Template:
    _scan(source, part)
    try:
        template = _ENGINE.from_string(source)
    except TemplateSyntaxError as exc:
        refused = _INVALID_FILTER.match(str(exc))
        if refused:
            raise LetterTemplateError(
                f"the |{refused.group(1)} filter is not allowed in letter templates (allowed: "
                f"{', '.join(sorted(ALLOWED_FILTERS))}).",
                part=part,
                line=_line_of(exc),
            ) from exc
        raise LetterTemplateError(str(exc), part=part, line=_line_of(exc)) from exc
    except RecursionError:
        raise LetterTemplateError("is nested too deeply.", part=part) from None
    for node in template.nodelist.get_nodes_by_type(Node):
        if len(node.get_nodes_by_type(Node)) == 1:  # a leaf: it writes text itself
            _counting(node)
    return template


_CLIENT_IN_SUBJECT = re.compile(r"{{[^}]*\bclient\.")


def validate_template(subject_template: str, body_template: str) -> None:
    """Raise LetterTemplateError if either template is unsafe or does not compile, or if the
    subject names the client (an e-mail's subject is read by whoever sees the inbox)."""
    _compile(subject_template, "subject")
    _compile(body_template, "body")
    if _CLIENT_IN_SUBJECT.search(subject_template):
        raise LetterTemplateError(
            "must not name the client: an e-mail's subject is seen by anyone who sees the "
            "inbox. Name the client in the letter instead.",
            part="subject",
        )


def _render(source: str, part: str, context: dict[str, Any]) -> str:
    template = _compile(source, part)
    budget = _BudgetContext(context, autoescape=False)
    budget.deadline = time.monotonic() + MAX_RENDER_SECONDS
    try:
        text = template.render(budget)
        if len(text) > MAX_OUTPUT_CHARS:  # the whole, too ({% filter %} can change lengths)
            budget.wrote(len(text))
        return text
    except LetterTemplateError as exc:
        if exc.part is None:
            raise LetterTemplateError(str(exc), part=part, line=_line_of(exc)) from None
        raise
    except RecursionError:
        raise LetterTemplateError("is nested too deeply to render.", part=part) from None
    except (
        TemplateSyntaxError,
        VariableDoesNotExist,
        TypeError,
        ValueError,
        AttributeError,
        KeyError,
    ) as exc:
        raise LetterTemplateError(
            f"could not be rendered: {exc}", part=part, line=_line_of(exc)
        ) from exc


def _tidy_body(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row (tags leave empty lines)."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n") + "\n"


def render_letter(
    *,
    kind: str,
    context: dict[str, Any],
    subject_template: str | None = None,
    body_template: str | None = None,
) -> RenderedLetter:
    """Render a letter of ``kind``; missing templates fall back to the kind's defaults."""
    _check_kind(kind)
    if subject_template is None or body_template is None:
        default_subject, default_body = default_template(kind)
        subject_template = default_subject if subject_template is None else subject_template
        body_template = default_body if body_template is None else body_template
    # A subject is read in mail lists, the outbox and its CSV (the front desk's too): it never
    # carries clinical text, whatever the template names.
    subject_context = {
        **context,
        "referral": {**context.get("referral", {}), "reasons": ""},
        "report": {**context.get("report", {}), "text": ""},
        # Nor the client's name (a template saved before this rule): the letter names them.
        "client": {"first_name": "", "last_name": ""},
    }
    subject = " ".join(_render(subject_template, "subject", subject_context).split())
    body = _tidy_body(_render(body_template, "body", context))
    return RenderedLetter(subject=subject, body=body)


# --- PDF ------------------------------------------------------------------------------------

_TRANSLITERATIONS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u2192": "->", "\u2190": "<-", "\u2194": "<->", "\u21d2": "=>",
    "\u2026": "...", "\u2022": "-", "\u2023": "-", "\u2043": "-", "\u00a0": " ",
    "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u202f": " ", "\u20ac": "EUR",
    "\u2122": "(TM)", "\u2264": "<=", "\u2265": ">=", "\u2260": "!=", "\u2248": "~",
    "\t": "    ",
}  # fmt: skip
_DROP = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\r"}


def _latin1(text: str) -> str:
    """Make any text printable with a core PDF font (Latin-1 only)."""
    out = []
    for char in text:
        if char in _TRANSLITERATIONS:
            out.append(_TRANSLITERATIONS[char])
        elif char in _DROP:
            continue
        elif char == "\n" or (ord(char) < 256 and unicodedata.category(char) != "Cc"):
            out.append(char)
        else:
            # "ő" -> "o", "ﬁ" -> "fi"; anything else that Latin-1 cannot show becomes "?".
            base = unicodedata.normalize("NFKD", char)
            base = "".join(c for c in base if not unicodedata.combining(c))
            ok = base and all(ord(c) < 256 and unicodedata.category(c) != "Cc" for c in base)
            out.append(base if ok else "?")
    return "".join(out)


def _format_date(value: object) -> str:
    if isinstance(value, date):
        return f"{value:%B} {value.day}, {value.year}"
    return str(value or "")


PAPER_SIZES = {"letter": "Letter", "a4": "A4"}


def letter_pdf(
    *, letter: RenderedLetter, letterhead: Mapping[str, object], paper: str = "letter", qr: str = ""
) -> bytes:
    """A PDF of ``letter`` under a letterhead (keys: name, address, phone, email), on US Letter
    (or ``paper="a4"``). An optional ``date`` key (a date or a string) replaces today's date.
    With ``qr`` (a link the letter gives), a QR code of it is printed after the text, so the
    reader of a paper letter scans it instead of typing it."""
    from fpdf import FPDF  # imported here so the rest of the module works without fpdf2

    clean = (lambda text: text.replace("\r", "")) if pdf_fonts() else _latin1

    def field(key: str) -> str:
        return clean(str(letterhead.get(key) or "")).strip()

    name = field("name")

    class _LetterPDF(FPDF):
        def footer(self) -> None:
            if self.page_no() > 1:  # continuation pages carry who and which page
                self.set_y(-15)
                self.set_font(family, "", 8)
                self.set_text_color(120, 120, 120)
                self.cell(0, 5, f"{name}  -  page {self.page_no()}".strip(" -"), align="C")
                self.set_text_color(0, 0, 0)

    pdf = _LetterPDF(orientation="portrait", unit="mm", format=PAPER_SIZES.get(paper, "Letter"))
    family = use_fonts(pdf)
    pdf.set_margins(left=22, top=20, right=22)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.set_title(clean(letter.subject))
    if name:
        pdf.set_author(name)
    pdf.set_creator("Referwell")
    pdf.add_page()

    width = pdf.epw
    if name:
        pdf.set_font(family, "B", 16)
        pdf.multi_cell(width, 8, name, new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_font(family, "", 10)
    contact_lines = [line.strip() for line in field("address").splitlines() if line.strip()]
    contact_lines += [value for value in (field("phone"), field("email")) if value]
    for line in contact_lines:
        pdf.multi_cell(width, 5, line, new_x="LMARGIN", new_y="NEXT", align="L")
    if name or contact_lines:
        pdf.ln(2)
        pdf.set_draw_color(150, 150, 150)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(8)

    pdf.set_font(family, "", 11)
    when = letterhead.get("date") or date.today()
    pdf.cell(width, 6, clean(_format_date(when)), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)

    if letter.subject:
        pdf.set_font(family, "B", 12)
        pdf.multi_cell(width, 6, clean(letter.subject), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.ln(5)

    pdf.set_font(family, "", 11)
    paragraphs = re.split(r"\n\s*\n", clean(letter.body).strip())
    for paragraph in paragraphs:
        pdf.multi_cell(width, 5.5, paragraph, new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.ln(3.5)

    if qr:
        _qr_block(pdf, qr, family)
    return bytes(pdf.output())


def _qr_block(pdf: FPDF, link: str, family: str) -> None:
    """A QR code of ``link`` with a line saying what it opens, kept together on one page."""
    import io

    import segno

    size = 32  # mm: scans from a phone at arm's length
    if pdf.get_y() + size + 10 > pdf.h - pdf.b_margin:
        pdf.add_page()
    png = io.BytesIO()
    segno.make(link, error="m").save(png, kind="png", scale=8, border=2)
    png.seek(0)
    top = pdf.get_y() + 2
    pdf.image(png, x=pdf.l_margin, y=top, w=size, h=size)
    pdf.set_xy(pdf.l_margin + size + 4, top + 8)
    pdf.set_font(family, "", 10)
    pdf.multi_cell(
        pdf.epw - size - 4,
        5,
        "Scan this code with a phone's camera to open the secure page given above "
        "(no typing needed).",
        new_x="LMARGIN",
        new_y="NEXT",
        align="L",
    )
    pdf.set_y(top + size + 2)
