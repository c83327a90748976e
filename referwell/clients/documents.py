"""The signed consent form: the signature drawn on a screen (a PNG data URL) checked, the
paper form uploaded checked, and the PDF kept at signing — what was agreed, who, when, how."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils import timezone

from referwell.clients.models import SignedHow
from referwell.core.fonts import pdf_fonts, use_fonts

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from referwell.clients.models import Consent

PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
DATA_URL_PREFIX = "data:image/png;base64,"
MAX_SIGNATURE_CHARS = 1_000_000  # a drawn signature is some tens of kilobytes
MAX_SIGNATURE_PIXELS = 4000 * 2000
MIN_INK_PIXELS = 30  # a tap is not a signature
MAX_PAPER_BYTES = 5 * 1024 * 1024
MAX_PAPER_PIXELS = 40_000_000  # a phone photo is 12 to 50 megapixels… and a bomb is more
PAPER_LONG_SIDE = 2200  # a photo of the form is kept this large (px): readable, not huge
# The file's first bytes say what it is, whatever its name or the browser's content type.
MAGIC = {b"%PDF-": PDF, b"\xff\xd8\xff": JPEG, b"\x89PNG\r\n\x1a\n": PNG}

NO_SIGNATURE = "Sign in the box with a finger or the mouse, then press “I agree”."


def signature_png(data_url: str) -> bytes:
    """The signature drawn on the canvas as a clean PNG (black on white), or ValidationError
    in plain words: nothing drawn, not a picture, too large."""
    from PIL import Image, UnidentifiedImageError

    data_url = (data_url or "").strip()
    if not data_url:
        raise ValidationError(NO_SIGNATURE)
    if len(data_url) > MAX_SIGNATURE_CHARS or not data_url.startswith(DATA_URL_PREFIX):
        raise ValidationError("The signature could not be read. Clear the box and sign again.")
    try:
        raw = base64.b64decode(data_url[len(DATA_URL_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(
            "The signature could not be read. Clear the box and sign again."
        ) from None
    if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValidationError("The signature could not be read. Clear the box and sign again.")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.width * image.height > MAX_SIGNATURE_PIXELS:
                raise ValidationError("The signature is too large. Clear the box and sign again.")
            image.load()
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ValidationError(
            "The signature could not be read. Clear the box and sign again."
        ) from None
    # On white, in grey: what was drawn is what is dark.
    flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat.alpha_composite(rgba)
    grey = flat.convert("L")
    ink = sum(grey.histogram()[:160])
    if ink < MIN_INK_PIXELS:
        raise ValidationError(NO_SIGNATURE)
    box = grey.point(lambda v: 255 if v < 160 else 0).getbbox()
    if box:  # the signature itself, with a margin: not the empty box around it
        margin = 8
        grey = grey.crop(
            (
                max(box[0] - margin, 0),
                max(box[1] - margin, 0),
                min(box[2] + margin, grey.width),
                min(box[3] + margin, grey.height),
            )
        )
    out = io.BytesIO()
    grey.save(out, format="PNG", optimize=True)
    return out.getvalue()


def paper_form(upload: UploadedFile[bytes]) -> tuple[bytes, str]:
    """The signed paper form, checked: a PDF as it is; a photo or a scan (JPEG, PNG) re-encoded
    as a JPEG no larger than needed to read it, without its metadata (where the photo was
    taken). Refused in plain words: too large, not a PDF/JPEG/PNG, unreadable."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if upload.size is not None and upload.size > MAX_PAPER_BYTES:
        raise ValidationError(
            f"The file is too large ({upload.size // (1024 * 1024)} MB): up to "
            f"{MAX_PAPER_BYTES // (1024 * 1024)} MB. A photo of each page, or a scan, is enough."
        )
    content = upload.read(MAX_PAPER_BYTES + 1)
    if len(content) > MAX_PAPER_BYTES:
        raise ValidationError(
            f"The file is too large: up to {MAX_PAPER_BYTES // (1024 * 1024)} MB."
        )
    if not content:
        raise ValidationError("The file is empty.")
    kind = next((t for magic, t in MAGIC.items() if content.startswith(magic)), None)
    if kind is None:
        raise ValidationError("Upload a PDF, or a photo or scan as JPEG or PNG.")
    if kind == PDF:
        if b"%%EOF" not in content[-2048:]:
            raise ValidationError("This PDF is incomplete or damaged: scan the form again.")
        return content, PDF
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.width * image.height > MAX_PAPER_PIXELS:
                raise ValidationError("The picture is too large: take it at a lower resolution.")
            image.load()
            picture = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ValidationError(
            "The picture could not be read: upload a PDF, or a JPEG or PNG."
        ) from None
    picture.thumbnail((PAPER_LONG_SIDE, PAPER_LONG_SIDE))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=82, optimize=True)
    return out.getvalue(), JPEG


def _when(value: dt.datetime) -> str:
    local = timezone.localtime(value)
    return f"{local:%B} {local.day}, {local.year}, {local:%H:%M} ({local.tzname()})"


def _day(value: dt.date) -> str:
    return f"{value:%B} {value.day}, {value.year}"


def consent_pdf(consent: Consent, *, signature: bytes, witness: str = "") -> bytes:
    """The signed consent as a PDF: the practice, what the client agreed to in plain words,
    with whom, for what, until when, how to withdraw it; the signature; who signed, when and
    how (on the practice's screen, by whom it was handed; or through the client's link)."""
    from fpdf import FPDF

    practice = consent.practice
    client = consent.client
    fonts = pdf_fonts()

    def clean(text: str) -> str:
        text = str(text or "").replace("\r", "")
        if fonts:
            return text
        return text.encode("latin-1", "replace").decode("latin-1")

    pdf = FPDF(
        orientation="portrait",
        unit="mm",
        format="A4" if practice.paper_size == "a4" else "Letter",
    )
    family = use_fonts(pdf)
    pdf.set_margins(left=22, top=20, right=22)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_title(clean(f"Consent to share information — {practice.name}"))
    pdf.set_author(clean(practice.name))
    pdf.set_creator("Referwell")
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: float = 11, style: str = "", height: float = 5.5) -> None:
        pdf.set_font(family, style, size)
        pdf.multi_cell(width, height, clean(text), new_x="LMARGIN", new_y="NEXT", align="L")

    def fact(label: str, value: str) -> None:
        pdf.set_font(family, "B", 10)
        pdf.cell(44, 6, clean(label))
        pdf.set_font(family, "", 10.5)
        pdf.multi_cell(width - 44, 6, clean(value), new_x="LMARGIN", new_y="NEXT", align="L")

    line(practice.name, size=16, style="B", height=8)
    for contact in (practice.address, practice.phone, practice.email):
        if contact:
            line(contact, size=10, height=5)
    pdf.ln(2)
    pdf.set_draw_color(150, 150, 150)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(6)

    line("Consent to share information", size=14, style="B", height=7)
    pdf.ln(2)
    line(consent.agreement(practice.name))
    pdf.ln(3)
    fact("Client", client.full_name)
    if client.date_of_birth:
        fact("Date of birth", _day(client.date_of_birth))
    fact("Shared with", consent.whom)
    fact("What", f"{consent.get_scope_display()}: {consent.allows}")
    if consent.purpose:
        fact("For", consent.purpose)
    until = _day(consent.expires_on) if consent.expires_on else "until withdrawn"
    fact("Valid", f"from {_day(consent.given_on)}, {until}")
    pdf.ln(3)
    contact = " or ".join(x for x in (practice.phone, practice.email) if x)
    line(
        "The client may withdraw this consent at any time"
        + (
            f" by telling {practice.name} ({contact})"
            if contact
            else f" by telling {practice.name}"
        )
        + (", or through their personal link" if consent.signed_how == SignedHow.LINK else "")
        + ". Withdrawing it stops any further sharing; it does not undo what was already "
        "shared. Saying no does not change the client's care at the practice.",
        size=10,
    )
    pdf.ln(6)

    line("Signature", size=11, style="B")
    pdf.ln(1)
    top = pdf.get_y()
    pdf.image(io.BytesIO(signature), x=pdf.l_margin, y=top, h=24, keep_aspect_ratio=True)
    pdf.set_y(top + 26)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + 90, pdf.get_y())
    pdf.ln(3)
    fact("Signed by", consent.signed_name or client.full_name)
    fact("Signed on", _when(consent.signed_at or timezone.now()))
    how = consent.get_signed_how_display()
    if consent.signed_how == SignedHow.TABLET and witness:
        how += f", handed to the client by {witness}"
    fact("How", how)
    fact("Record", f"consent {consent.pk} of {practice.name}, kept by Referwell")
    fact("Signature check", "SHA-256 " + hashlib.sha256(signature).hexdigest()[:32])
    return bytes(pdf.output())
