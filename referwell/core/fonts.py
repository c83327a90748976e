"""The Unicode fonts every PDF embeds, so any script prints (Polish, Vietnamese, Japanese…):
DejaVu Sans for the alphabets, Droid Sans Fallback for Chinese, Japanese and Korean. `make
fonts` (run by `make run` and `make test`) installs Debian's fonts-dejavu-core and
fonts-droid-fallback; without them a PDF falls back to the core font and Latin-1."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/droid"),
    Path("/usr/local/share/fonts"),
)
FONT_FILES = {
    ("text", ""): "DejaVuSans.ttf",
    ("text", "B"): "DejaVuSans-Bold.ttf",
    ("cjk", ""): "DroidSansFallbackFull.ttf",
}


@lru_cache(maxsize=1)
def pdf_fonts() -> dict[tuple[str, str], Path]:
    """The font files found, by (family, style); empty when the text font is missing."""
    found: dict[tuple[str, str], Path] = {}
    for key, name in FONT_FILES.items():
        for folder in FONT_DIRS:
            if (folder / name).is_file():
                found[key] = folder / name
                break
    return found if ("text", "") in found and ("text", "B") in found else {}


def use_fonts(pdf: Any) -> str:
    """Register the fonts on an fpdf2 document; the family to write with ("Text", or the core
    "Helvetica" when the fonts are missing)."""
    fonts = pdf_fonts()
    if not fonts:
        return "Helvetica"
    pdf.add_font("Text", "", str(fonts[("text", "")]))
    pdf.add_font("Text", "B", str(fonts[("text", "B")]))
    if ("cjk", "") in fonts:
        # The same face for bold: a fallback is looked up by style.
        pdf.add_font("CJK", "", str(fonts[("cjk", "")]))
        pdf.add_font("CJK", "B", str(fonts[("cjk", "")]))
        pdf.set_fallback_fonts(["CJK"], exact_match=False)
    return "Text"
