"""The audit trail: a hash chain per practice that shows any change made outside the app,
retention that keeps it verifiable, the owner's page, and a client's accounting of
disclosures."""

import csv
import datetime as dt
import functools
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from referwell.accounts.models import Role
from referwell.audit.chain import GENESIS, hash_of
from referwell.audit.models import AuditChain, AuditEntry, Channel
from referwell.audit.selectors import audit_verify
from referwell.audit.services import audit_prune, disclosure_record, log_action
from referwell.clients.models import Consent, ConsentScope
from tests.conftest import _logged_in, psql
from tests.factories import ClientFactory, MemberFactory

pytestmark = pytest.mark.django_db


def _log(practice, n, actor=None, **extra):
    return [
        log_action(
            practice=practice,
            actor=actor,
            action=f"referwell.test.step{i}",
            data={"i": i, "notes": "clinical text"},
            **extra,
        )
        for i in range(n)
    ]


def _verify(*args):
    out = io.StringIO()
    code = 0
    try:
        call_command("verify_audit", "--json", *args, stdout=out)
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


# --------------------------------------------------------------------------- the chain


def test_each_entry_is_chained_to_the_practices_previous_one(elm_grove, other_practice, alice):
    first, second, third = _log(elm_grove, 3, actor=alice.user, ip_address="203.0.113.9")
    elsewhere = _log(other_practice, 1)[0]
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert elsewhere.prev_hash == GENESIS  # each practice has its own chain
    assert len(third.hash) == 64 and third.hash == hash_of(AuditEntry.objects.get(pk=third.pk))
    assert AuditChain.objects.get(practice=elm_grove).head_hash == third.hash
    stored = AuditEntry.objects.get(pk=first.pk)
    assert stored.data == {"i": 0, "notes": "***"}  # still masked
    assert stored.ip_address == "203.0.113.9" and stored.actor == alice.user


def test_the_hash_is_sha256_of_the_entrys_values_as_one_json_list(elm_grove, alice):
    """The chain's format (v1), whichever way the hash is computed: trails written before
    still verify."""
    entry = log_action(
        practice=elm_grove,
        actor=alice.user,
        action="referwell.test.format",
        obj=elm_grove,
        data={"b": 'Zoë "Z" \\ ü', "a": [1, 2]},
        ip_address="2001:db8::1",
    )
    stored = AuditEntry.objects.get(pk=entry.pk)
    values = [
        "v1",
        elm_grove.pk,
        alice.user.pk,
        "referwell.test.format",
        "practice",
        str(elm_grove.pk),
        {"a": [1, 2], "b": 'Zoë "Z" \\ ü'},
        "2001:db8::1",
        stored.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        stored.prev_hash,
    ]
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert stored.hash == entry.hash == hashlib.sha256(text.encode()).hexdigest()
    assert stored.at == entry.at and stored.prev_hash == entry.prev_hash


def test_an_entry_is_chained_in_one_statement_on_postgresql(elm_grove, django_assert_num_queries):
    """On PostgreSQL the head's lock, the insert and the head's move are one statement (the
    database hashes); on SQLite, whose one writer holds the whole database, three."""
    from django.db import connection

    first = _log(elm_grove, 1)[0]  # the practice's chain head exists
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 3):
        second = _log(elm_grove, 1)[0]
    assert second.prev_hash == first.hash and second.at >= first.at
    assert second.hash == hash_of(AuditEntry.objects.get(pk=second.pk))
    assert AuditChain.objects.get(practice=elm_grove).head_hash == second.hash


def test_an_entry_knows_its_row_with_or_without_returning(elm_grove, monkeypatch):
    """The entry is written with plain SQL: its id comes from RETURNING, or on a SQLite older
    than 3.35 (which Django 5.2 still supports) from the cursor's last row id."""
    from django.db import connection

    previous = None
    for returning in [True] + ([False] if connection.vendor == "sqlite" else []):
        monkeypatch.setattr(connection.features, "can_return_columns_from_insert", returning)
        first, second = _log(elm_grove, 2)
        assert AuditEntry.objects.get(pk=second.pk).prev_hash == first.hash
        assert AuditEntry.objects.get(pk=first.pk).prev_hash == (previous or GENESIS)
        assert not second._state.adding and second.pk > first.pk
        previous = second.hash
    assert _verify()[0] == 0


def test_verify_passes_on_an_untouched_trail(elm_grove, other_practice):
    _log(elm_grove, 5)
    _log(other_practice, 2)
    code, report = _verify()
    assert code == 0
    assert report == {"practices": 2, "entries": 7, "ok": True, "broken": []}
    out = io.StringIO()
    call_command("verify_audit", "--practice", "elm-grove", stdout=out)
    assert out.getvalue().strip() == "elm-grove: OK (5 entries)"


def test_verify_sees_an_altered_entry(elm_grove, other_practice):
    entries = _log(elm_grove, 5)
    _log(other_practice, 2)
    AuditEntry.objects.filter(pk=entries[2].pk).update(action="referwell.test.harmless")
    code, report = _verify()
    assert code == 1 and report["ok"] is False and report["entries"] == 7
    assert report["broken"] == [
        {
            "practice": "elm-grove",
            "entry": entries[2].pk,
            "at": entries[2].at.isoformat(),
            "reason": "altered content: the hash does not match",
        }
    ]
    # Every field counts: the payload, the address, the time, the object.
    for change in (
        {"data": {"i": 3, "notes": "***", "extra": 1}},
        {"ip_address": "198.51.100.1"},
        {"at": entries[3].at + dt.timedelta(seconds=1)},
        {"object_id": "42"},
    ):
        AuditEntry.objects.filter(pk=entries[2].pk).update(action=entries[2].action, **change)
        assert audit_verify(practice=elm_grove).broken[0].entry == entries[2].pk, change


def test_the_migration_chains_the_entries_written_before_the_chain(elm_grove, other_practice):
    import importlib

    from django.apps import apps

    _log(elm_grove, 4)
    _log(other_practice, 2)
    AuditEntry.objects.update(prev_hash="", hash="")  # as they were before the migration
    AuditChain.objects.all().delete()
    migration = importlib.import_module("referwell.audit.migrations.0003_chain_existing_entries")
    migration.chain_existing(apps, None)
    assert audit_verify(practice=elm_grove).ok and audit_verify(practice=other_practice).ok
    assert not AuditEntry.objects.filter(hash="").exists()


def test_verify_sees_an_altered_entry_whose_hash_was_recomputed(elm_grove):
    entries = _log(elm_grove, 4)
    forged = AuditEntry.objects.get(pk=entries[1].pk)
    forged.action = "referwell.test.harmless"
    forged.hash = hash_of(forged)
    forged.save()
    broken = audit_verify(practice=elm_grove).broken
    assert [b.entry for b in broken] == [entries[2].pk]
    assert broken[0].reason.startswith("deleted entry")


def test_verify_sees_a_deleted_entry(elm_grove):
    entries = _log(elm_grove, 5)
    AuditEntry.objects.filter(pk=entries[2].pk).delete()
    code, report = _verify("--practice", "elm-grove")
    assert code == 1 and report["practices"] == 1 and report["entries"] == 4
    (broken,) = report["broken"]
    assert broken["entry"] == entries[3].pk and broken["reason"].startswith("deleted entry")


def test_verify_sees_the_last_entries_deleted(elm_grove):
    entries = _log(elm_grove, 5)
    AuditEntry.objects.filter(pk__in=[entries[3].pk, entries[4].pk]).delete()
    (broken,) = audit_verify(practice=elm_grove).broken
    assert broken.entry == entries[2].pk
    assert broken.reason.startswith("deleted entry: the last entries")
    AuditEntry.objects.filter(practice=elm_grove).delete()  # all of them
    assert audit_verify(practice=elm_grove).broken[0].reason.startswith("deleted entry")


def test_verify_sees_reordered_entries(elm_grove):
    entries = _log(elm_grove, 5)
    a, b = (AuditEntry.objects.get(pk=entries[i].pk) for i in (1, 2))
    fields = ["action", "data", "at", "prev_hash", "hash"]
    swapped = {f: getattr(b, f) for f in fields}
    AuditEntry.objects.filter(pk=b.pk).update(**{f: getattr(a, f) for f in fields})
    AuditEntry.objects.filter(pk=a.pk).update(**swapped)
    (broken,) = audit_verify(practice=elm_grove).broken
    assert broken.entry == a.pk and broken.reason.startswith("reordered")


def test_verify_sees_an_inserted_entry(elm_grove):
    entries = _log(elm_grove, 3)
    # Written straight into the database, well chained after the last entry…
    intruder = AuditEntry(
        practice=elm_grove, action="referwell.test.intruder", prev_hash=entries[-1].hash
    )
    intruder.hash = hash_of(intruder)
    intruder.save()
    (broken,) = audit_verify(practice=elm_grove).broken
    assert broken.entry == intruder.pk and broken.reason.startswith("inserted entry")
    # …or between two entries (chained after the first one).
    intruder.delete()
    between = AuditEntry.objects.get(pk=entries[1].pk)
    between.action, between.prev_hash = "referwell.test.intruder", entries[0].hash
    between.hash = hash_of(between)
    AuditEntry.objects.filter(pk=entries[1].pk).update(
        action=between.action, prev_hash=between.prev_hash, hash=between.hash
    )
    AuditEntry.objects.filter(pk=entries[2].pk).update(prev_hash=entries[0].hash)
    entry2 = AuditEntry.objects.get(pk=entries[2].pk)
    AuditEntry.objects.filter(pk=entries[2].pk).update(hash=hash_of(entry2))
    broken = audit_verify(practice=elm_grove).broken
    assert broken and broken[0].entry == entries[2].pk


THREADED_APPENDS = """
import json, threading
import django
django.setup()
from django.db import connection
from referwell.accounts.models import Practice
from referwell.audit.models import AuditEntry
from referwell.audit.selectors import audit_verify
from referwell.audit.services import log_action

practice = Practice.objects.create(slug="busy", name="Busy")
connection.close()
errors = []

def work(n):
    from django.db import connection
    try:
        for i in range(25):
            log_action(practice=practice, actor=None, action=f"referwell.test.t{n}", data={"i": i})
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connection.close()

threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
report = audit_verify(practice=practice)
links = AuditEntry.objects.filter(practice=practice).values_list("prev_hash", flat=True)
print(json.dumps({"errors": errors, "entries": report.entries, "ok": report.ok,
                  "distinct_links": len(set(links))}))
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def threads_database(request, tmp_path):
    """A database of the test's own, migrated, on each engine: a SQLite file with the
    production settings (WAL, IMMEDIATE transactions — the suite's in-memory database locks
    differently), or a PostgreSQL database, created and dropped here."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/db.sqlite3"
        return
    name = "audit_threads"
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(f"CREATE DATABASE {name}")
    yield f"postgres://postgres@127.0.0.1:5432/{name}"
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_appends_from_several_threads_make_one_valid_chain(threads_database, tmp_path):
    """Six threads, each with its own connection, append to one practice's chain at once: on
    SQLite one writer at a time, on PostgreSQL the head locked by the statement that chains
    the entry (audit/services.py). Every entry follows the one before it, and verifies."""
    root = Path(__file__).resolve().parent.parent
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REFERWELL_VAR_DIR": str(tmp_path),
        "DATABASE_URL": threads_database,
        "PYTHONPATH": str(root),
    }
    env.pop("ENCRYPTION_KEYS", None)
    run = functools.partial(subprocess.run, cwd=root, env=env, capture_output=True, text=True)
    migrated = run([sys.executable, "manage.py", "migrate", "-v0"])
    assert migrated.returncode == 0, migrated.stderr
    result = run([sys.executable, "-c", THREADED_APPENDS], timeout=120)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"errors": [], "entries": 150, "ok": True, "distinct_links": 150}


# --------------------------------------------------------------------------- retention


def _backdate(practice, entries, at):
    """As if these entries had been written at `at`: their time changed, the chain made anew.
    Returns {entry id: hash}."""
    from referwell.audit.services import audit_chain_rebuild

    AuditEntry.objects.filter(pk__in=[e.pk for e in entries]).update(at=at)
    audit_chain_rebuild(practice=practice)
    return dict(AuditEntry.objects.filter(practice=practice).values_list("pk", "hash"))


def test_prune_deletes_old_entries_and_the_chain_still_verifies(elm_grove, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    entries = _log(elm_grove, 6)
    old = timezone.now() - dt.timedelta(days=31)
    hashes = _backdate(elm_grove, entries[:3], old)
    assert audit_verify(practice=elm_grove).ok
    out = io.StringIO()
    call_command("prune_audit", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"retention_days": 30, "pruned": {"elm-grove": 3}}
    kept = list(AuditEntry.objects.filter(practice=elm_grove).order_by("id"))
    assert [e.pk for e in kept[:3]] == [e.pk for e in entries[3:]] and len(kept) == 4
    assert kept[-1].action == "referwell.audit.pruned" and kept[-1].data["entries"] == 3
    chain = AuditChain.objects.get(practice=elm_grove)
    assert chain.anchor_hash == hashes[entries[2].pk] and chain.pruned_count == 3
    assert _verify() == (0, {"practices": 1, "entries": 4, "ok": True, "broken": []})
    # A deletion among the kept entries is still seen, the first kept one included.
    AuditEntry.objects.filter(pk=entries[3].pk).delete()
    (broken,) = audit_verify(practice=elm_grove).broken
    assert broken.entry == entries[4].pk and broken.reason.startswith("deleted entry")


def test_prune_keeps_the_entries_in_the_retention_and_runs_again_harmlessly(elm_grove):
    _log(elm_grove, 3)
    before = timezone.now() - dt.timedelta(days=1)
    assert audit_prune(practice=elm_grove, before=before) == 0
    assert AuditEntry.objects.count() == 3 and audit_verify(practice=elm_grove).ok


def test_prune_of_every_entry_keeps_the_chain_verifiable(elm_grove):
    _log(elm_grove, 3)
    assert audit_prune(practice=elm_grove, before=timezone.now() + dt.timedelta(seconds=1)) == 3
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["referwell.audit.pruned"]
    assert audit_verify(practice=elm_grove).ok
    _log(elm_grove, 2)
    assert audit_verify(practice=elm_grove).ok


def test_sweep_prunes_too(elm_grove, settings):
    settings.AUDIT_RETENTION_DAYS = 1
    entries = _log(elm_grove, 2)
    _backdate(elm_grove, entries[:1], timezone.now() - dt.timedelta(days=2))
    out = io.StringIO()
    call_command("sweep", "--json", stdout=out)
    assert json.loads(out.getvalue())["audit_pruned"] == {"elm-grove": 1}
    assert audit_verify(practice=elm_grove).ok


# --------------------------------------------------------------------------- from where


def test_pages_record_who_viewed_what_and_from_where(alice, client_alice_jones, referral):
    http = _logged_in(alice)
    http.get(reverse("client_detail", args=[client_alice_jones.pk]), REMOTE_ADDR="203.0.113.7")
    http.get(reverse("referral_detail", args=[referral.pk]), REMOTE_ADDR="2001:DB8::1")
    viewed = AuditEntry.objects.filter(action__endswith=".viewed").order_by("id")
    assert [(e.action, e.object_id, e.ip_address, e.actor_id) for e in viewed] == [
        ("referwell.client.viewed", str(client_alice_jones.pk), "203.0.113.7", alice.user_id),
        ("referwell.referral.viewed", str(referral.pk), "2001:db8::1", alice.user_id),
    ]
    assert audit_verify(practice=alice.practice).ok  # the stored address is the hashed one


# --------------------------------------------------------------------------- the owner's page


@pytest.fixture
def trail(elm_grove, other_practice, alice, bob, client_alice_jones, partner):
    """A few entries by alice and bob, and one in charlie's practice."""
    log_action(
        practice=elm_grove, actor=alice.user, action="referwell.client.viewed",
        obj=client_alice_jones, ip_address="203.0.113.7",
    )  # fmt: skip
    log_action(practice=elm_grove, actor=bob.user, action="referwell.partner.changed", obj=partner)
    log_action(practice=elm_grove, actor=None, action="referwell.custom.thing")
    log_action(
        practice=other_practice, actor=None, action="referwell.client.viewed",
        data={"secret": "Lakeside-only"},
    )  # fmt: skip
    return elm_grove


def test_the_owner_reads_the_trail_in_plain_words(alice_http, trail, client_alice_jones):
    page = alice_http.get(reverse("audit_trail"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Client&#x27;s page viewed" in body and "Partner changed" in body
    assert "referwell.custom.thing" in body  # an unknown code, shown as it is
    assert "Alice Owner" in body and "Bob Desk" in body and "203.0.113.7" in body
    assert reverse("client_detail", args=[client_alice_jones.pk]) in body  # the object, linked
    assert "Lakeside-only" not in body
    rows = page.context["rows"]
    assert [e.action for e in rows] == [  # newest first, only this practice's
        "referwell.custom.thing",
        "referwell.partner.changed",
        "referwell.client.viewed",
    ]
    assert reverse("audit_trail") in alice_http.get(reverse("dashboard")).content.decode()


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.FRONT_DESK])
def test_only_owners_read_the_trail(elm_grove, trail, role):
    http = _logged_in(MemberFactory(practice=elm_grove, role=role))
    assert http.get(reverse("audit_trail")).status_code == 403
    assert http.get(reverse("audit_trail") + "?format=csv").status_code == 403
    assert reverse("audit_trail") not in http.get(reverse("dashboard")).content.decode()


def test_anonymous_goes_to_the_login_page(client, trail):
    assert client.get(reverse("audit_trail")).status_code == 302


def test_charlie_sees_only_his_practices_entries(charlie_http, trail, alice):
    page = charlie_http.get(reverse("audit_trail"))
    assert [e.data for e in page.context["rows"]] == [{"secret": "Lakeside-only"}]
    # Asking for alice by id: not a choice here, so the filter is left out — his entries only.
    page = charlie_http.get(reverse("audit_trail"), {"member": alice.user_id})
    assert [e.data for e in page.context["rows"]] == [{"secret": "Lakeside-only"}]
    assert "Alice" not in page.content.decode() and "not understood" in page.content.decode()


def test_the_trail_is_searched_by_member_action_object_and_dates(
    alice_http, trail, bob, partner, client_alice_jones
):
    def actions(**query):
        page = alice_http.get(reverse("audit_trail"), query)
        assert page.status_code == 200
        return [e.action for e in page.context["rows"]]

    assert actions(member=bob.user_id) == ["referwell.partner.changed"]
    assert actions(action="referwell.client") == ["referwell.client.viewed"]
    assert actions(action="referwell.c") == ["referwell.custom.thing", "referwell.client.viewed"]
    assert actions(object_type="partner", object_id=partner.pk) == ["referwell.partner.changed"]
    assert actions(object_type="client", object_id=partner.pk + 999) == []
    today = timezone.localdate()
    assert len(actions(since=today.isoformat(), until=today.isoformat())) == 3
    assert actions(until=(today - dt.timedelta(days=1)).isoformat()) == []
    assert actions(since=(today + dt.timedelta(days=1)).isoformat()) == []


def test_the_trail_pages_by_fifty_with_a_fixed_number_of_queries(
    alice_http, elm_grove, alice, client_alice_jones, partner, django_assert_max_num_queries
):
    def fill(n):
        for i in range(n):
            obj = client_alice_jones if i % 2 else partner
            log_action(practice=elm_grove, actor=alice.user, action="referwell.test.x", obj=obj)

    fill(3)
    small = alice_http.get(reverse("audit_trail"))
    with CaptureQueries() as few:
        alice_http.get(reverse("audit_trail"))
    fill(120)
    with django_assert_max_num_queries(few.count):
        page = alice_http.get(reverse("audit_trail"))
    assert small.status_code == 200 and len(page.context["rows"]) == 50
    assert page.context["page"].paginator.num_pages == 3
    last = alice_http.get(reverse("audit_trail"), {"page": 3})
    assert len(last.context["rows"]) == 123 - 100


class CaptureQueries:
    def __enter__(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self._ctx = CaptureQueriesContext(connection)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        self.count = len(self._ctx.captured_queries)


def test_the_filtered_trail_downloads_as_csv_and_the_download_is_audited(alice_http, trail, bob):
    response = alice_http.get(reverse("audit_trail"), {"member": bob.user_id, "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["id", "at (UTC)", "who", "action", "what"]
    assert [(r[2], r[3], r[4]) for r in rows[1:]] == [
        ("Bob Desk", "referwell.partner.changed", "Partner changed")
    ]
    exported = AuditEntry.objects.get(action="referwell.audit.exported")
    assert exported.data == {"rows": 1, "filters": {"member": str(bob.user_id)}}


# --------------------------------------------------------------------------- disclosures


@pytest.fixture
def disclosed(elm_grove, alice, client_alice_jones, partner):
    consent = Consent.objects.create(
        practice=elm_grove,
        client=client_alice_jones,
        partner=partner,
        scope=ConsentScope.REPORT,
        given_on=dt.date(2026, 3, 5),
        expires_on=dt.date(2027, 3, 5),
    )
    disclosure_record(
        client=client_alice_jones,
        recipient="Dr. Dana Spine",
        channel=Channel.LETTER,
        what="Referral letter: name and reason for referral",
        by=alice.user,
        consent=consent,
        partner=partner,
    )
    other = ClientFactory(practice=elm_grove, first_name="Zed", last_name="Other")
    disclosure_record(
        client=other, recipient="Someone Else", channel=Channel.EMAIL, what="Other", by=None
    )
    return client_alice_jones


def test_the_accounting_of_disclosures_lists_each_one_and_prints_cleanly(
    alice_http, alice, disclosed
):
    url = reverse("client_disclosures", args=[disclosed.pk])
    page = alice_http.get(url, REMOTE_ADDR="198.51.100.4")
    assert page.status_code == 200
    body = page.content.decode()
    for text in (
        "Accounting of disclosures",
        "Dr. Dana Spine",
        "Referral letter: name and reason for referral",
        "Letter (PDF)",
        "Letters and reports in writing with Dr. Dana Spine",
        "given Mar 5, 2026",
        "until Mar 5, 2027",
        "Alice Owner",
    ):
        assert text in body, text
    assert "Someone Else" not in body  # another client's
    assert 'class="actions no-print"' in body
    css = Path(__file__).resolve().parent.parent / "referwell/core/static/referwell/app.css"
    assert "@media print" in css.read_text() and ".topbar" in css.read_text()
    entry = AuditEntry.objects.get(action="referwell.disclosures.viewed")
    assert (entry.object_type, entry.object_id) == ("client", str(disclosed.pk))
    assert entry.actor == alice.user and entry.ip_address == "198.51.100.4"
    # The client's page links to it.
    detail = alice_http.get(reverse("client_detail", args=[disclosed.pk])).content.decode()
    assert url in detail


def test_a_therapist_sees_the_accounting_the_front_desk_does_not(elm_grove, bob_http, disclosed):
    url = reverse("client_disclosures", args=[disclosed.pk])
    therapist = _logged_in(MemberFactory(practice=elm_grove, role=Role.THERAPIST))
    assert therapist.get(url).status_code == 200
    assert bob_http.get(url).status_code == 403
    assert url not in bob_http.get(reverse("client_detail", args=[disclosed.pk])).content.decode()


def test_another_practice_gets_404_for_the_accounting(charlie_http, disclosed):
    response = charlie_http.get(reverse("client_disclosures", args=[disclosed.pk]))
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="referwell.disclosures.viewed").exists()


# --------------------------------------------------------------------------- export and restore


def test_a_restored_practice_has_a_valid_chain_of_its_own(elm_grove, alice, disclosed):
    from referwell.accounts.models import Practice
    from referwell.interop.export import archive
    from tests.test_export import contents, delete_practice, export_bytes

    log_action(practice=elm_grove, actor=alice.user, action="referwell.client.viewed",
               obj=disclosed, ip_address="203.0.113.7")  # fmt: skip
    before = list(
        AuditEntry.objects.filter(practice=elm_grove)
        .order_by("id")
        .values_list("action", "object_type", "ip_address", "at")
    )
    data = export_bytes(elm_grove)
    entries = contents(data)["audit_entries.json"]
    assert entries and not any(
        "hash" in key for e in entries for key in e
    )  # keys mean nothing elsewhere
    delete_practice("elm-grove")
    archive.import_practice(io.BytesIO(data))
    restored = Practice.objects.get(slug="elm-grove")
    after = list(
        AuditEntry.objects.filter(practice=restored)
        .order_by("id")
        .values_list("action", "object_type", "ip_address", "at")
    )
    assert after == before
    assert audit_verify(practice=restored).ok
    log_action(practice=restored, actor=None, action="referwell.test.after")
    assert audit_verify(practice=restored).ok
    assert _verify()[0] == 0
