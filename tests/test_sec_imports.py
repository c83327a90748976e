"""Issue #20, items 5 and 7: imports are bounded before they are read (request size, vCard
files and cards, FHIR nesting, a restore's zip), and what waits on disk is private (a CSV
waiting to be imported is encrypted, mode 600, swept when it expires; var/, keys and the
SQLite database are the owner's only)."""

import io
import json
import os
import stat
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from referwell.core.limits import json_too_deep
from referwell.directory.models import Partner
from referwell.interop.export import archive

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _cards(count, start=0):
    return "".join(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Card Person{i}\r\nN:Person{i};Card;;;\r\nEND:VCARD\r\n"
        for i in range(start, start + count)
    ).encode()


def _vcf(name, raw):
    return SimpleUploadedFile(name, raw, content_type="text/vcard")


# --------------------------------------------------------------------------- the request's size


class _Unreadable(io.BytesIO):
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def test_a_request_above_the_cap_is_refused_with_413_before_its_body_is_read(alice_http):
    response = alice_http.generic(
        "POST",
        reverse("partner_import"),
        data=b"",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(200 * 1024 * 1024),
        **{"wsgi.input": _Unreadable()},
    )
    assert response.status_code == 413
    body = response.content.decode()
    assert "too large (200 MB)" in body and "at most 25 MB" in body
    assert response["Content-Type"].startswith("text/plain")


def test_a_real_body_above_a_lower_cap_is_refused_and_one_below_goes_through(
    alice_http, settings, tmp_path
):
    settings.REQUEST_MAX_BYTES = 4096
    settings.VAR_DIR = tmp_path  # where an upload waits for its preview
    big = alice_http.post(reverse("partner_import"), {"files": [_vcf("a.vcf", _cards(60))]})
    assert big.status_code == 413
    assert not Partner.objects.exists()
    small = alice_http.post(reverse("partner_import"), {"files": [_vcf("a.vcf", _cards(1))]})
    assert small.status_code == 302  # read, on to its preview
    assert alice_http.get(small["Location"]).status_code == 200


# --------------------------------------------------------------------------- vCards


def test_a_vcard_upload_of_more_than_1000_cards_is_refused_saying_how_many(alice_http):
    files = [_vcf("one.vcf", _cards(600)), _vcf("two.vcf", _cards(401, start=600))]
    started = time.monotonic()
    response = alice_http.post(reverse("partner_import"), {"files": files})
    assert response.status_code == 200
    body = response.content.decode()
    assert "These files hold 1,001 cards; at most 1,000 are imported at a time" in body
    assert not Partner.objects.exists()
    assert time.monotonic() - started < 5  # refused before the slow part


def test_a_vcard_upload_of_more_than_10_files_is_refused(alice_http):
    files = [_vcf(f"card{i}.vcf", _cards(1, start=i)) for i in range(11)]
    response = alice_http.post(reverse("partner_import"), {"files": files})
    assert response.status_code == 200
    assert "You chose 11 files; at most 10 are imported at a time" in response.content.decode()
    assert not Partner.objects.exists()


def test_more_files_than_django_allows_is_a_bad_request(alice_http):
    files = [_vcf(f"card{i}.vcf", _cards(1, start=i)) for i in range(21)]
    response = alice_http.post(reverse("partner_import"), {"files": files})
    assert response.status_code == 400
    assert not Partner.objects.exists()


def test_cards_are_counted_whatever_the_line_endings():
    from referwell.directory.vcard import count_cards

    raw = _cards(3)
    assert count_cards(raw) == 3
    assert count_cards(raw.replace(b"\r\n", b"\r")) == 3
    assert count_cards(raw.decode().encode("utf-16")) == 3


# --------------------------------------------------------------------------- FHIR


def _nested(depth):
    return '{"resourceType": "Bundle", "type": "collection", "entry": ' + (
        "[" * depth + "]" * depth + "}"
    )


@pytest.mark.parametrize("depth", [100, 200_000])
def test_import_fhir_refuses_deeply_nested_json_with_a_message(elm_grove, tmp_path, depth):
    path = tmp_path / "deep.json"
    path.write_text(_nested(depth))
    with pytest.raises(CommandError, match="nested more than 64 deep"):
        call_command("import_fhir", "--practice", elm_grove.slug, str(path))


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"resourceType": "Patient", "note": "[" * 500 + '\\"{' * 300})
    assert not json_too_deep(text, 3)
    assert json_too_deep('{"a": [[[1]]]}', 3)
    assert not json_too_deep('{"a": [[1]]}', 3)


# --------------------------------------------------------------------------- import-practice


def _manifest():
    return json.dumps({"format": archive.FORMAT, "version": archive.VERSION, "counts": {}})


def test_import_practice_refuses_a_zip_bomb_before_unpacking_it(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", _manifest())
        with zf.open("clients.json", "w") as member:
            member.write(b"[")
            block = b" " * (1024 * 1024)
            for _ in range(300):
                member.write(block)
            member.write(b"]")
    assert path.stat().st_size < 2 * 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(archive.ArchiveError, match="would unpack to 300 MB, more than"):
            archive.import_practice(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024
    # The command says it in a line.
    with pytest.raises(CommandError, match="would unpack to 300 MB"):
        call_command("import_practice", str(path))


def test_import_practice_refuses_a_member_larger_than_it_declares(tmp_path):
    path = tmp_path / "forged.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", _manifest())
        zf.writestr("clients.json", "[" + " " * (5 * 1024 * 1024) + "]")
    raw = bytearray(path.read_bytes())
    # The central directory's entry for clients.json: its uncompressed size says 10 bytes.
    entry = raw.index(b"PK\x01\x02", raw.index(b"PK\x01\x02") + 4)
    assert raw[entry + 46 : entry + 46 + 12] == b"clients.json"
    struct.pack_into("<I", raw, entry + 24, 10)
    path.write_bytes(bytes(raw))
    tracemalloc.start()
    try:
        with pytest.raises(archive.ArchiveError, match="clients.json"):
            archive.import_practice(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024


def test_a_member_read_through_the_bounded_stream_is_refused_above_the_cap(tmp_path):
    from referwell.core.limits import ZipMemberTooLarge, read_zip_member

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.json", "[]" + " " * 5000)
    with zipfile.ZipFile(buffer) as zf:
        info = zf.getinfo("a.json")
        assert read_zip_member(zf, info, 10_000).startswith(b"[]")
        with pytest.raises(ZipMemberTooLarge, match="more than the 4 KB allowed"):
            read_zip_member(zf, info, 4096)


# --------------------------------------------------------------------------- CSV waiting on disk


PARTNERS = "Full Name,City,Zip\nDr. Rita Moreno,Brookfield,53005\n"


def _upload(http, content=PARTNERS):
    response = http.post(
        reverse("csv_import"),
        {
            "kind": "partners",
            "file": SimpleUploadedFile("moreno-list.csv", content.encode(), "text/csv"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].strip("/").split("/")[-1]


def test_a_csv_waiting_to_be_imported_is_encrypted_and_private(alice_http, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    token = _upload(alice_http)
    imports = settings.VAR_DIR / "imports"
    files = sorted(imports.iterdir())
    assert len(files) == 2
    for path in files:
        raw = path.read_bytes()
        assert b"Moreno" not in raw and b"moreno" not in raw and b"Brookfield" not in raw
        assert raw.startswith(b"gAAAAA")  # a Fernet token
        assert _mode(path) == 0o600
    assert _mode(imports) == 0o700
    assert _mode(settings.VAR_DIR) == 0o700
    # Still readable by the import itself.
    page = alice_http.get(reverse("csv_import_map", kwargs={"token": token}))
    assert page.status_code == 200
    assert "Dr. Rita Moreno" in page.content.decode()


def test_an_expired_csv_import_is_swept_by_the_sweep_command(alice_http, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    token = _upload(alice_http)
    imports = tmp_path / "imports"
    assert len(list(imports.iterdir())) == 2
    out = io.StringIO()
    call_command("sweep", "--json", stdout=out)
    assert json.loads(out.getvalue())["imports_swept"] == 0
    an_hour_ago = time.time() - 3601
    for path in imports.iterdir():
        os.utime(path, (an_hour_ago, an_hour_ago))
    out = io.StringIO()
    call_command("sweep", "--json", stdout=out)
    assert json.loads(out.getvalue())["imports_swept"] == 2
    assert not list(imports.iterdir())
    assert alice_http.get(reverse("csv_import_map", kwargs={"token": token})).status_code == 404


def test_a_waiting_file_older_than_an_hour_cannot_be_read_even_if_not_yet_swept(
    alice_http, settings, tmp_path
):
    from referwell.core import crypto

    settings.VAR_DIR = tmp_path
    token = _upload(alice_http)
    # The sidecar re-encrypted as if written 61 minutes ago (its file's date left as it is,
    # so the sweep has not removed it): its token carries its time and no longer opens.
    [meta] = (tmp_path / "imports").glob("*.json.enc")
    text = crypto.fernet().decrypt(meta.read_bytes())
    meta.write_bytes(crypto.fernet().encrypt_at_time(text, int(time.time()) - 3660))
    assert alice_http.get(reverse("csv_import_map", kwargs={"token": token})).status_code == 404


# --------------------------------------------------------------------------- var/, keys, SQLite


def _settle(var, *, precreate_db=False):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "ENCRYPTION_KEYS", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env |= {"REFERWELL_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "config.settings"}
    code = (
        "import django; django.setup()\n"
        "from django.db import connection, transaction\n"
        "with transaction.atomic():\n"
        "    connection.cursor().execute('CREATE TABLE IF NOT EXISTS probe (x)')\n"
        "connection.close()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.umask(0o022),  # noqa: PLW1509 - the usual umask, whatever ours
    )
    assert result.returncode == 0, result.stderr


def test_var_keys_and_the_sqlite_database_are_created_private(tmp_path):
    var = tmp_path / "var"
    _settle(var)
    assert _mode(var) == 0o700
    for name in ("secret_key", "encryption_key", "referwell.sqlite3"):
        assert _mode(var / name) == 0o600, name
    for extra in var.glob("referwell.sqlite3*"):
        assert _mode(extra) == 0o600, extra.name


def test_an_older_var_and_database_of_0644_are_made_private(tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    db = var / "referwell.sqlite3"
    db.touch()
    db.chmod(0o644)
    _settle(var)
    assert _mode(var) == 0o700
    assert _mode(db) == 0o600
