"""The uploads waiting between two steps (referwell/core/pending.py): the CSV import's files and
the business cards' preview, each kind to its own pages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

pytestmark = pytest.mark.django_db

CSV = b"Name,City\nDana Spine,Elm Grove\n"
VCF = b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Spine;Dana;;;\r\nFN:Dana Spine\r\nEND:VCARD\r\n"


@pytest.fixture(autouse=True)
def _imports_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def _token(response):
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].strip("/").split("/")[-1]


def _csv_token(http):
    return _token(
        http.post(
            reverse("csv_import"),
            {"kind": "partners", "file": SimpleUploadedFile("p.csv", CSV, "text/csv")},
        )
    )


def _vcard_token(http):
    return _token(
        http.post(
            reverse("partner_import"),
            {"files": [SimpleUploadedFile("p.vcf", VCF, content_type="text/vcard")]},
        )
    )


def _waiting(tmp_path):
    return sorted(p.name for p in (tmp_path / "imports").glob("*"))


def test_the_csv_pages_given_a_business_cards_upload_answer_404(alice_http, tmp_path):
    token = _vcard_token(alice_http)
    waiting = _waiting(tmp_path)
    assert waiting
    for name, method in (
        ("csv_import_map", "get"),
        ("csv_import_map", "post"),
        ("csv_import_preview", "get"),
        ("csv_import_confirm", "post"),
        ("csv_import_cancel", "post"),
    ):
        response = getattr(alice_http, method)(reverse(name, kwargs={"token": token}))
        assert response.status_code == 404, (name, method, response.status_code)
    assert _waiting(tmp_path) == waiting  # the cards still wait for their own page
    preview = alice_http.get(reverse("partner_import_preview", kwargs={"token": token}))
    assert preview.status_code == 200


def test_the_business_cards_pages_given_a_csv_upload_answer_404(alice_http, tmp_path):
    token = _csv_token(alice_http)
    waiting = _waiting(tmp_path)
    for name, method in (
        ("partner_import_preview", "get"),
        ("partner_import_confirm", "post"),
        ("partner_import_cancel", "post"),
    ):
        response = getattr(alice_http, method)(reverse(name, kwargs={"token": token}))
        assert response.status_code == 404, (name, method, response.status_code)
    assert _waiting(tmp_path) == waiting
    assert alice_http.get(reverse("csv_import_map", kwargs={"token": token})).status_code == 200
