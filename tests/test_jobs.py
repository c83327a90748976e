"""Long imports as jobs (referwell/core/jobs.py): an owner uploads CMS's NPPES file on the
registry's import page, or a practice's export on the restore page; the worker (here Django's
ImmediateBackend, which runs the task at once) imports it, reporting its progress as it goes;
the job's page shows how far it has gone, what came of it, or why it failed. Owners only; the
uploaded file is private while it waits and removed after."""

import io
import json
import os
import stat
import types
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from referwell.accounts.models import Practice, Role
from referwell.core import jobs as core_jobs
from referwell.core.jobs import ImportJob, JobStatus
from referwell.interop.export import archive
from referwell.interop.export import jobs as restore_jobs
from referwell.registry import frames
from referwell.registry import jobs as nppes_jobs
from referwell.registry.models import RegistryEntry
from tests.conftest import _logged_in
from tests.factories import MemberFactory, PartnerFactory

pytestmark = pytest.mark.django_db

# ---------------------------------------------------------------------------- an NPPES file

# CMS's provider file, version 2: 330 columns, in this order.
_SLOTS = range(1, 16)
COLUMNS = [
    "NPI",
    "Entity Type Code",
    "Replacement NPI",
    "Employer Identification Number (EIN)",
    "Provider Organization Name (Legal Business Name)",
    "Provider Last Name (Legal Name)",
    "Provider First Name",
    "Provider Middle Name",
    "Provider Name Prefix Text",
    "Provider Name Suffix Text",
    "Provider Credential Text",
    "Provider Other Organization Name",
    "Provider Other Organization Name Type Code",
    "Provider Other Last Name",
    "Provider Other First Name",
    "Provider Other Middle Name",
    "Provider Other Name Prefix Text",
    "Provider Other Name Suffix Text",
    "Provider Other Credential Text",
    "Provider Other Last Name Type Code",
    "Provider First Line Business Mailing Address",
    "Provider Second Line Business Mailing Address",
    "Provider Business Mailing Address City Name",
    "Provider Business Mailing Address State Name",
    "Provider Business Mailing Address Postal Code",
    "Provider Business Mailing Address Country Code (If outside U.S.)",
    "Provider Business Mailing Address Telephone Number",
    "Provider Business Mailing Address Fax Number",
    "Provider First Line Business Practice Location Address",
    "Provider Second Line Business Practice Location Address",
    "Provider Business Practice Location Address City Name",
    "Provider Business Practice Location Address State Name",
    "Provider Business Practice Location Address Postal Code",
    "Provider Business Practice Location Address Country Code (If outside U.S.)",
    "Provider Business Practice Location Address Telephone Number",
    "Provider Business Practice Location Address Fax Number",
    "Provider Enumeration Date",
    "Last Update Date",
    "NPI Deactivation Reason Code",
    "NPI Deactivation Date",
    "NPI Reactivation Date",
    "Provider Sex Code",
    "Authorized Official Last Name",
    "Authorized Official First Name",
    "Authorized Official Middle Name",
    "Authorized Official Title or Position",
    "Authorized Official Telephone Number",
    *(
        name
        for n in _SLOTS
        for name in (
            f"Healthcare Provider Taxonomy Code_{n}",
            f"Provider License Number_{n}",
            f"Provider License Number State Code_{n}",
            f"Healthcare Provider Primary Taxonomy Switch_{n}",
        )
    ),
    *(
        name
        for n in range(1, 51)
        for name in (
            f"Other Provider Identifier_{n}",
            f"Other Provider Identifier Type Code_{n}",
            f"Other Provider Identifier State_{n}",
            f"Other Provider Identifier Issuer_{n}",
        )
    ),
    "Is Sole Proprietor",
    "Is Organization Subpart",
    "Parent Organization LBN",
    "Parent Organization TIN",
    "Authorized Official Name Prefix Text",
    "Authorized Official Name Suffix Text",
    "Authorized Official Credential Text",
    *(f"Healthcare Provider Taxonomy Group_{n}" for n in _SLOTS),
    "Certification Date",
]
assert len(COLUMNS) == 330


def npi(first_nine: str) -> str:
    """A valid NPI: the Luhn check digit over 80840 + the first nine digits."""
    total = 0
    for i, char in enumerate(reversed("80840" + first_nine)):
        digit = int(char) * (2 if i % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return first_nine + str((10 - total % 10) % 10)


def quoted(values) -> str:
    return ",".join('"' + v.replace('"', '""') + '"' for v in values) + "\n"


def provider(number: str, last: str, first: str, code: str, *, credential="DC") -> str:
    values = [""] * len(COLUMNS)
    fields = {
        "NPI": number,
        "Entity Type Code": "1",
        "Provider Last Name (Legal Name)": last,
        "Provider First Name": first,
        "Provider Credential Text": credential,
        "Provider First Line Business Practice Location Address": "900 ELM GROVE RD",
        "Provider Business Practice Location Address City Name": "ELM GROVE",
        "Provider Business Practice Location Address State Name": "WI",
        "Provider Business Practice Location Address Postal Code": "531221234",
        "Provider Business Practice Location Address Telephone Number": "2625550100",
        "Last Update Date": "07/08/2024",
        "Healthcare Provider Taxonomy Code_1": code,
        "Healthcare Provider Primary Taxonomy Switch_1": "Y",
    }
    for name, value in fields.items():
        values[COLUMNS.index(name)] = value
    return quoted(values)


CHIROPRACTOR, NURSE = "111N00000X", "163W00000X"


def nppes_file(chiropractors: int = 6, nurses: int = 2, bad: int = 1) -> bytes:
    """A header, chiropractors (kept), nurses (not a profession of the knowledge base) and
    rows with a wrong check digit (rejected)."""
    rows = [quoted(COLUMNS)]
    for i in range(chiropractors):
        rows.append(provider(npi(f"10000{i:04d}"), f"SPINE{i}", "DANA", CHIROPRACTOR))
    for i in range(nurses):
        rows.append(provider(npi(f"20000{i:04d}"), f"CARE{i}", "CASEY", NURSE, credential="RN"))
    for i in range(bad):
        good = npi(f"30000{i:04d}")
        wrong = good[:9] + str((int(good[9]) + 1) % 10)
        rows.append(provider(wrong, f"WRONG{i}", "DIGIT", CHIROPRACTOR))
    return "".join(rows).encode("utf-8")


def upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


@pytest.fixture
def watched(monkeypatch):
    """Every progress report, as the job's row holds it just after, with the modes of the
    uploaded file and of its folder at that moment."""
    seen = []
    report = ImportJob.report

    def spy(self, done, total=None, message=None):
        report(self, done, total, message)
        row = ImportJob.objects.get(pk=self.pk)
        path = row.path and os.stat(row.path)
        folder = row.path and os.stat(os.path.dirname(row.path))
        seen.append(
            {
                "done": row.done,
                "total": row.total,
                "message": row.message,
                "file_mode": path and stat.S_IMODE(path.st_mode),
                "folder_mode": folder and stat.S_IMODE(folder.st_mode),
                "progress_file": core_jobs._progress_path(self.pk).is_file(),
            }
        )

    monkeypatch.setattr(ImportJob, "report", spy)
    return seen


def jobs_folder_files(var_dir):
    folder = var_dir / "jobs"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


# ---------------------------------------------------------------------------- NPPES


def test_an_owner_uploads_the_nppes_file_and_its_job_page_shows_the_counts(
    alice_http, alice, var_dir, watched
):
    response = alice_http.post(
        reverse("registry_import"),
        {"file": upload("npidata_pfile_20240101-20240107.csv", nppes_file())},
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("registry_job", kwargs={"pk": job.pk})
    assert job.kind == nppes_jobs.KIND and job.practice_id == alice.practice_id
    assert job.started_by_id == alice.user_id
    assert job.status == JobStatus.DONE and job.error == ""
    assert RegistryEntry.objects.count() == 6
    assert dict(job.counts) == {
        "Rows read": 9,
        "Kept": 6,
        "New in the registry": 6,
        "Updated": 0,
        "Unchanged": 0,
        "Deactivated": 0,
        "Rejected": 1,
    }
    assert (job.done, job.total, job.unit) == (9, 9, "rows")
    page = alice_http.get(response["Location"]).content.decode()
    assert "Done" in page and "Rows read" in page and "New in the registry" in page
    assert '<progress max="9" value="9"' in page
    assert "check digit" in page  # the rejected row, and why
    assert 'hx-trigger="every 2s"' not in page  # finished: no more polling
    # While it ran the file was private; now it is gone.
    assert watched and all(w["file_mode"] == 0o600 for w in watched)
    assert all(w["folder_mode"] == 0o700 for w in watched)
    assert job.path == "" and jobs_folder_files(var_dir) == []


def test_a_zip_as_cms_distributes_it_is_imported_too(alice_http, var_dir):
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("npidata_pfile_20240101-20240107_fileheader.csv", quoted(COLUMNS))
        zf.writestr("npidata_pfile_20240101-20240107.csv", nppes_file(chiropractors=3))
        zf.writestr("othername_pfile_20240101-20240107.csv", '"NPI","Other"\n')
    response = alice_http.post(
        reverse("registry_import"),
        {"file": upload("NPPES_Data_Dissemination_Weekly.zip", packed.getvalue())},
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.status == JobStatus.DONE
    assert dict(job.counts)["Kept"] == 3 and RegistryEntry.objects.count() == 3
    assert jobs_folder_files(var_dir) == []


def test_progress_is_written_batch_by_batch(alice_http, watched, monkeypatch):
    monkeypatch.setattr(frames, "BATCH_ROWS", 2)  # polars hands over two rows at a time
    alice_http.post(
        reverse("registry_import"),
        {"file": upload("npidata.csv", nppes_file(chiropractors=10, nurses=0, bad=0))},
    )
    job = ImportJob.objects.get()
    assert job.status == JobStatus.DONE
    reading = [w for w in watched if w["message"].startswith("Reading the file:")]
    done = [w["done"] for w in reading]
    # Several reports, each of them recorded in the job's row, rising, below the 10 rows.
    assert len(done) >= 3, watched
    assert done == sorted(done) and len(set(done)) == len(done)
    assert 0 < done[0] < 10 and all(w["total"] == 10 for w in reading)
    assert watched[0]["message"] == "Counting the rows of the file"


def test_a_damaged_zip_ends_failed_with_a_plain_reason(alice_http, var_dir):
    data = nppes_file(chiropractors=40)
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("npidata_pfile_20240101-20240107.csv", data)
    damaged = bytearray(packed.getvalue())
    # A byte of the last rows changed: the header reads well, the checksum fails at the end.
    where = damaged.rfind(b"SPINE39")
    damaged[where] = ord("X")
    response = alice_http.post(
        reverse("registry_import"), {"file": upload("weekly.zip", bytes(damaged))}
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("weekly.zip: the zip file is damaged or cannot be read")
    assert RegistryEntry.objects.count() == 0
    page = alice_http.get(response["Location"]).content.decode()
    assert "Failed" in page and "weekly.zip: the zip file is damaged" in page
    assert "The registry is as it was" in page
    assert "Traceback" not in page and "File &quot;" not in page
    assert jobs_folder_files(var_dir) == []


def test_an_unexpected_error_fails_the_job_without_a_traceback(alice_http, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("registry_entry.fingerprint")

    monkeypatch.setattr(nppes_jobs.nppes, "nppes_import", broken)
    response = alice_http.post(
        reverse("registry_import"), {"file": upload("npidata.csv", nppes_file())}
    )
    job = ImportJob.objects.get()
    assert job.status == JobStatus.FAILED and job.error == nppes_jobs.UNEXPECTED
    page = alice_http.get(response["Location"]).content.decode()
    assert "error of the server" in page and "fingerprint" not in page


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("providers.csv", b"name,phone\nDana,555\n", "not an NPPES provider file"),
        ("providers.csv", b"", "The submitted file is empty"),
        ("providers.txt", b"NPI\n", "Choose the provider file"),
        ("providers.zip", b"PK\x03\x04 not really a zip", "not an NPPES provider file"),
    ],
)
def test_a_file_that_is_not_an_nppes_file_is_refused_on_the_form(
    alice_http, var_dir, name, data, says
):
    response = alice_http.post(reverse("registry_import"), {"file": upload(name, data)})
    assert response.status_code == 200
    assert says in response.content.decode()
    assert not ImportJob.objects.exists() and jobs_folder_files(var_dir) == []


def test_a_zip_bomb_is_refused_on_the_form(alice_http, var_dir):
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("npidata_pfile_1.csv", quoted(COLUMNS).encode() + b" " * (4 << 20))
    response = alice_http.post(
        reverse("registry_import"), {"file": upload("bomb.zip", packed.getvalue())}
    )
    assert "far more than a provider file packs into" in response.content.decode()
    assert not ImportJob.objects.exists() and jobs_folder_files(var_dir) == []


def test_one_import_of_the_registry_at_a_time(alice_http, alice):
    running = ImportJob.objects.create(
        kind=nppes_jobs.KIND, practice=alice.practice, status=JobStatus.RUNNING
    )
    page = alice_http.get(reverse("registry_import")).content.decode()
    assert reverse("registry_job", kwargs={"pk": running.pk}) in page
    response = alice_http.post(
        reverse("registry_import"), {"file": upload("npidata.csv", nppes_file())}
    )
    assert response.status_code == 200
    assert "An import of the registry is under way" in response.content.decode()
    assert ImportJob.objects.count() == 1


# ---------------------------------------------------------------------------- the job's page


def test_a_running_job_shows_its_progress_and_polls_until_done(alice_http, alice):
    job = ImportJob.objects.create(
        kind=nppes_jobs.KIND,
        practice=alice.practice,
        status=JobStatus.RUNNING,
        done=41_000,
        total=120_000,
        message="Reading the file",
    )
    url = reverse("registry_job", kwargs={"pk": job.pk})
    page = alice_http.get(url).content.decode()
    assert '<progress max="120000" value="41000"' in page
    assert "41,000 of 120,000 rows" in page
    assert 'hx-trigger="every 2s"' in page and f'hx-get="{url}"' in page
    assert f'<a href="{url}">reload</a>' in page  # without JavaScript
    fragment = alice_http.get(url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<section id="job-status"')
    assert "<html" not in fragment and "41,000 of 120,000 rows" in fragment
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.DONE, done=120_000, counts=[["Rows read", 120_000]], message="Imported."
    )
    fragment = alice_http.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in fragment and "Imported." in fragment and "120,000" in fragment


def test_progress_made_inside_a_transaction_is_read_from_its_file(alice_http, alice):
    """An all-or-nothing import's writes are seen by no one before its commit: the page
    reads the progress the job also wrote to its file."""
    job = ImportJob.objects.create(
        kind=restore_jobs.KIND,
        practice=alice.practice,
        status=JobStatus.RUNNING,
        unit="tables",
    )
    core_jobs.jobs_dir()
    core_jobs._write_progress(job.pk, {"done": 5, "total": 17, "message": "Restoring partners"})
    page = alice_http.get(reverse("practice_restore_job", kwargs={"pk": job.pk})).content.decode()
    assert "5 of 17 tables" in page and "Restoring partners" in page


def test_a_job_whose_worker_stopped_ends_failed(alice_http, alice):
    job = ImportJob.objects.create(
        kind=nppes_jobs.KIND, practice=alice.practice, status=JobStatus.RUNNING
    )
    long_ago = timezone.now() - core_jobs.STALE_AFTER * 2
    ImportJob.objects.filter(pk=job.pk).update(updated_at=long_ago)
    page = alice_http.get(reverse("registry_job", kwargs={"pk": job.pk})).content.decode()
    assert "Failed" in page and "stopped without finishing" in page
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert core_jobs.under_way(nppes_jobs.KIND) is None  # no longer blocks a new import


# ---------------------------------------------------------------------------- a practice restored


def exported(practice, slug=None) -> bytes:
    out = io.BytesIO()
    archive.export_practice(practice, out)
    if slug is None:
        return out.getvalue()
    renamed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as source:
        with zipfile.ZipFile(renamed, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                data = source.read(info)
                if info.filename == "practice.json":
                    rows = json.loads(data)
                    rows[0]["slug"] = slug
                    rows[0]["name"] = "Elm Grove West"
                    data = json.dumps(rows).encode()
                target.writestr(info, data)
    return renamed.getvalue()


def test_an_owner_restores_a_practice_and_its_job_page_shows_the_counts(
    alice_http, alice, elm_grove, var_dir, watched
):
    PartnerFactory(practice=elm_grove, name="Dr. Dana Spine")
    PartnerFactory(practice=elm_grove, name="Dr. Kim Knead")
    data = exported(elm_grove, slug="elm-grove-west")
    response = alice_http.post(
        reverse("practice_restore"), {"file": upload("elm-grove-export.zip", data)}
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("practice_restore_job", kwargs={"pk": job.pk})
    assert job.status == JobStatus.DONE, job.error
    restored = Practice.objects.get(slug="elm-grove-west")
    assert restored.name == "Elm Grove West"
    counts = dict(job.counts)
    assert counts["Partners"] == 2 and counts["Members"] == 1 and counts["New accounts"] == 0
    assert (job.done, job.total, job.unit) == (len(archive.TABLES), len(archive.TABLES), "tables")
    page = alice_http.get(response["Location"]).content.decode()
    assert "Done" in page and "Elm Grove West" in page and "Partners" in page
    # Table by table, each step seen by the page through the progress file too.
    steps = [w["done"] for w in watched]
    assert steps == sorted(steps) and len(set(steps)) == len(archive.TABLES) + 1
    assert "Restoring partners (partners.json)" in [w["message"] for w in watched]
    assert all(w["progress_file"] for w in watched)
    # The export waited encrypted, private, and is gone.
    assert all(w["file_mode"] == 0o600 and w["folder_mode"] == 0o700 for w in watched)
    assert job.path == "" and jobs_folder_files(var_dir) == []


def test_the_export_waits_encrypted(alice, elm_grove, var_dir, monkeypatch):
    monkeypatch.setattr(restore_jobs, "restore_job", types.SimpleNamespace(enqueue=print))
    data = exported(elm_grove, slug="elm-grove-west")
    job = restore_jobs.restore_job_start(
        practice=elm_grove, by=alice.user, upload=upload("export.zip", data)
    )
    stored = (var_dir / "jobs" / os.path.basename(job.path)).read_bytes()
    assert b"PK" not in stored[:4] and b"practice.json" not in stored
    assert stat.S_IMODE(os.stat(job.path).st_mode) == 0o600
    assert core_jobs.read_stored(job.path) == data


def test_a_restore_that_cannot_be_made_ends_failed_with_a_plain_reason(
    alice_http, elm_grove, var_dir
):
    response = alice_http.post(
        reverse("practice_restore"), {"file": upload("export.zip", exported(elm_grove))}
    )
    job = ImportJob.objects.get()
    assert job.status == JobStatus.FAILED
    assert job.error == (
        "A practice with the slug 'elm-grove' already exists here; an export is only restored "
        "into an instance without it."
    )
    page = alice_http.get(response["Location"]).content.decode()
    assert "Failed" in page and "already exists here" in page
    assert "Nothing of the practice was restored." in page and "Traceback" not in page
    assert jobs_folder_files(var_dir) == []


def test_a_zip_that_is_not_an_export_fails_with_the_archive_checks(alice_http):
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as zf:
        zf.writestr("notes.txt", "hello")
    alice_http.post(reverse("practice_restore"), {"file": upload("notes.zip", packed.getvalue())})
    job = ImportJob.objects.get()
    assert job.status == JobStatus.FAILED
    assert job.error == "Not a Referwell export: there is no manifest.json in the zip."


def test_a_zip_bomb_is_refused_by_the_restore_checks(alice_http):
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps({"format": archive.FORMAT, "version": 1}))
        zf.writestr("partners.json", b"[" + b" " * (archive.MAX_UNPACKED_BYTES + 1) + b"]")
    alice_http.post(reverse("practice_restore"), {"file": upload("bomb.zip", packed.getvalue())})
    job = ImportJob.objects.get()
    assert job.status == JobStatus.FAILED
    assert "would unpack to" in job.error and "not a Referwell export" in job.error


def test_a_file_that_is_not_a_zip_is_refused_on_the_form(alice_http, var_dir):
    response = alice_http.post(
        reverse("practice_restore"), {"file": upload("export.zip", b"not a zip")}
    )
    assert response.status_code == 200
    assert "This is not a zip file" in response.content.decode()
    assert not ImportJob.objects.exists() and jobs_folder_files(var_dir) == []


# ---------------------------------------------------------------------------- who may


@pytest.fixture
def jobs_of_alice(alice):
    return {
        "registry_job": ImportJob.objects.create(kind=nppes_jobs.KIND, practice=alice.practice),
        "practice_restore_job": ImportJob.objects.create(
            kind=restore_jobs.KIND, practice=alice.practice
        ),
    }


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.THERAPIST])
def test_only_owners_import_and_follow_jobs(elm_grove, jobs_of_alice, role):
    http = _logged_in(MemberFactory(practice=elm_grove, role=role))
    for name in ("registry_import", "practice_restore"):
        assert http.get(reverse(name)).status_code == 403
        response = http.post(reverse(name), {"file": upload("x.zip", b"PK")})
        assert response.status_code == 403
    for name, job in jobs_of_alice.items():
        assert http.get(reverse(name, kwargs={"pk": job.pk})).status_code == 403
    assert not ImportJob.objects.exclude(pk__in=[j.pk for j in jobs_of_alice.values()]).exists()


def test_another_practice_s_job_is_not_found(charlie_http, jobs_of_alice):
    for name, job in jobs_of_alice.items():
        assert charlie_http.get(reverse(name, kwargs={"pk": job.pk})).status_code == 404
    # Charlie owns a practice on a server of two: starting an import is the operator's.
    assert charlie_http.get(reverse("registry_import")).status_code == 403


def test_a_job_is_found_only_under_its_own_kind(alice_http, jobs_of_alice):
    restore = jobs_of_alice["practice_restore_job"]
    assert alice_http.get(reverse("registry_job", kwargs={"pk": restore.pk})).status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page(client, jobs_of_alice):
    urls = [reverse("registry_import"), reverse("practice_restore")] + [
        reverse(name, kwargs={"pk": job.pk}) for name, job in jobs_of_alice.items()
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    assert client.post(reverse("registry_import")).status_code == 302


def test_the_registry_page_leads_owners_to_the_import(alice_http, bob_http):
    assert reverse("registry_import") in alice_http.get(reverse("registry_search")).content.decode()
    assert (
        reverse("registry_import") not in bob_http.get(reverse("registry_search")).content.decode()
    )


def test_the_export_page_leads_to_the_restore(alice_http):
    page = alice_http.get(reverse("practice_export")).content.decode()
    assert "Download everything" in page and reverse("practice_restore") in page


# --------------------------------------------------------------------------- the operator


def test_on_a_shared_server_only_the_operator_imports_or_restores(
    alice, alice_http, other_practice, jobs_of_alice
):
    """With another practice on the server, an owner changes nothing the others share: the
    registry and the practices beside theirs are the operator's (a staff account)."""
    for name in ("registry_import", "practice_restore"):
        refused = alice_http.get(reverse(name))
        assert refused.status_code == 403
        assert "operator" in refused.content.decode()
        assert alice_http.post(reverse(name), {"file": upload("x.zip", b"PK")}).status_code == 403
    assert (
        reverse("registry_import")
        not in alice_http.get(reverse("registry_search")).content.decode()
    )
    assert (
        reverse("practice_restore")
        not in alice_http.get(reverse("practice_export")).content.decode()
    )
    # The jobs the practice already has are still its owners' to follow.
    for name, job in jobs_of_alice.items():
        assert alice_http.get(reverse(name, kwargs={"pk": job.pk})).status_code == 200
    alice.user.is_staff = True
    alice.user.save()
    for name in ("registry_import", "practice_restore"):
        assert alice_http.get(reverse(name)).status_code == 200


def test_a_staff_account_that_is_not_an_owner_is_no_operator(elm_grove, other_practice):
    from referwell.accounts.models import Role

    member = MemberFactory(practice=elm_grove, role=Role.THERAPIST)
    member.user.is_staff = True
    member.user.save()
    http = _logged_in(member)
    for name in ("registry_import", "practice_restore"):
        assert http.get(reverse(name)).status_code == 403
