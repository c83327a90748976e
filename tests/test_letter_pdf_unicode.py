"""Every script prints: the letters' PDFs embed Unicode fonts (Polish, Vietnamese, Japanese),
on US Letter by default or A4 by the practice's setting, with a QR code beside a link."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from referwell.core.fonts import pdf_fonts
from referwell.outreach.letters import RenderedLetter, letter_pdf

NAMES = ["Łucja Wąsowska-Żak", "Nguyễn Thị Hương", "山田 太郎", "Zoë Ørsted"]

pytestmark = pytest.mark.skipif(
    not pdf_fonts(), reason="the PDF fonts are not installed here: run `make fonts` (as root)"
)


def _pdf(**kw) -> PdfReader:
    letter = RenderedLetter(
        subject=f"Referral: {NAMES[2]}",
        body="Dear "
        + ", ".join(NAMES)
        + ",\n\nPlease see my client.\n\nhttps://rw.example/l/abc/\n",
    )
    data = letter_pdf(letter=letter, letterhead={"name": "Gabinet Łódź", "phone": "1"}, **kw)
    return PdfReader(io.BytesIO(data))


def test_names_in_any_script_print_as_written():
    text = _pdf().pages[0].extract_text()
    for name in NAMES:
        assert name in text, name
    assert "Gabinet Łódź" in text and "?" not in text


def test_us_letter_by_default_and_a4_by_setting():
    letter = _pdf().pages[0].mediabox
    assert (round(float(letter.width)), round(float(letter.height))) == (612, 792)
    a4 = _pdf(paper="a4").pages[0].mediabox
    assert (round(float(a4.width)), round(float(a4.height))) == (595, 842)


def test_a_link_on_paper_has_a_qr_code_beside_it():
    page = _pdf(qr="https://rw.example/l/abc/").pages[0]
    assert len(page.images) == 1
    assert "Scan this code" in page.extract_text()
    assert not _pdf().pages[0].images
