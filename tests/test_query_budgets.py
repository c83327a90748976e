"""Query budgets and indexes (docs/performance.md).

Every page of the inventory (tests/test_tenancy.py), the list pages with each filter, and the
API's routes keep a fixed number of queries, written below, when the data grows five-fold; and
every filter and sort of the list pages is served by an index, as the database's own planner
(SQLite's or PostgreSQL's, whichever the suite runs on) says with EXPLAIN."""

import datetime as dt
import re
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from referwell.accounts.kept import forget_all
from referwell.accounts.models import ApiToken
from referwell.audit.services import disclosure_record, log_action
from referwell.clients.models import Consent, ConsentScope, Visit
from referwell.directory.models import Niche, Touchpoint
from referwell.inbound.models import ReferralRequest
from referwell.insights.models import StreamCost
from referwell.outreach import cadence
from referwell.outreach.models import ContactPlan, OutgoingMessage
from referwell.referrals.models import Direction, EventKind, ReferralEvent, ReferralLink, Via
from tests.factories import (
    ClientFactory,
    MemberFactory,
    PartnerFactory,
    ReferralFactory,
    UserFactory,
)
from tests.test_tenancy import OBJECTS, PAGES_WITHOUT_ID

pytestmark = pytest.mark.django_db


def grow(practice, user, focus, n):
    """n more rows of every kind, some of them about the very objects the id pages show."""
    now = timezone.now()
    for _ in range(n):
        i = focus.get("grown", 0)
        focus["grown"] = i + 1
        day = dt.date(2026, 1, 1) + dt.timedelta(days=i % 300)
        niche = Niche.objects.create(
            practice=practice, name=[f"Runners {i}", f"Office workers {i}", f"Pregnancy {i}"][i % 3]
        )
        partner = PartnerFactory(
            practice=practice,
            professions=["chiropractor", "physical-therapist", "primary-care-physician"],
            stage=["trusted", "met", "prospect", "contacted"][i % 4],
            zip_code="53045",
        )
        partner.niches.add(niche)
        focus["partner"].niches.add(niche)
        for p in (partner, focus["partner"]):
            Touchpoint.objects.create(
                practice=practice, partner=p, kind="call", date=day, by=user, note=f"n{i}"
            )
            ContactPlan.objects.create(practice=practice, partner=p, method="call", planned_on=day)
        Touchpoint.objects.create(
            practice=practice,
            partner=partner,
            kind="office_visit",
            date=day,
            cadence_key=f"office_visit:p{partner.pk}:x",
            outcome="done",
        )
        client = ClientFactory(
            practice=practice,
            source_partner=partner,
            source_client=focus["client"],
            stream="medical",
            first_seen=day,
        )
        for c in (client, focus["client"]):
            Visit.objects.create(practice=practice, client=c, date=day, fee=95, payer="health")
            consent = Consent.objects.create(
                practice=practice, client=c, partner=partner, scope=ConsentScope.REPORT
            )
            Consent.objects.create(
                practice=practice, client=c, profession_id="chiropractor", scope="talk"
            )
        referrals = [
            ReferralFactory(practice=practice, client=client, partner=partner, status="sent"),
            ReferralFactory(
                practice=practice,
                client=focus["client"],
                partner=focus["partner"],
                direction=Direction.IN,
                status="accepted",
                report_interval_days=14,
            ),
            ReferralFactory(
                practice=practice,
                client=client,
                partner=None,
                referrer_client=focus["client"],
                direction=Direction.IN,
                status="received",
            ),
        ]
        for r in referrals + [v for k, v in focus.items() if k.startswith("referral")]:
            if r.status == "sent":
                r.sent_at = now
                r.save(update_fields=["sent_at"])
            for frm, to in (("", "draft"), ("draft", "consented")):
                ReferralEvent.objects.create(
                    practice=practice, referral=r, from_status=frm, to_status=to, at=now, by=user
                )
            # As link_issue does: a new link revokes the referral's earlier ones.
            ReferralLink.objects.filter(referral=r, revoked_at__isnull=True).update(revoked_at=now)
            ReferralLink.issue(referral=r)
            disclosure = disclosure_record(
                client=r.client,
                recipient=str(partner),
                channel="letter",
                what="referral letter",
                by=user,
                consent=consent,
                referral=r,
                partner=partner,
            )
            OutgoingMessage.objects.create(
                practice=practice,
                kind="referral",
                to_name=str(partner),
                subject=f"Referral {i}",
                body="Dear colleague",
                status="printed",
                referral=r,
                partner=partner,
                disclosure=disclosure,
                by=user,
            )
        for p in (partner, focus["partner"]):
            ReferralRequest.objects.create(
                practice=practice,
                partner=p,
                referrer_name="Dr. Someone",
                client_first_name="New",
                client_last_name=f"Client{i}",
                reason="Neck pain.",
                client_agreed_to_be_contacted=True,
                client=client,
            )
        ReferralRequest.objects.create(
            practice=practice,
            referrer_name="Dr. Reviewed",
            client_first_name="Old",
            client_last_name=f"Client{i}",
            reason="Hip pain.",
            status="accepted",
            reviewed_by=user,
            reviewed_at=now,
            client=client,
        )
        ReferralFactory(practice=practice, client=client, partner=None, profession_id="podiatrist")
        # The partners' answers through their link, with a note: the dashboard's news.
        for r in (referrals[0], focus["referral_sent"]):
            ReferralEvent.objects.create(
                practice=practice,
                referral=r,
                kind=EventKind.NOTE,
                via=Via.PARTNER_LINK,
                from_status=r.status,
                to_status=r.status,
                at=now,
                note=f"Booked {i}; avoid deep work on the neck.",
            )
        Touchpoint.objects.create(
            practice=practice,
            partner=focus["partner"],
            kind="call",
            date=day,
            cadence_key=f"keep_in_touch:p{partner.pk}:x",
            outcome="snoozed",
            snooze_until=day + dt.timedelta(days=30),
        )
        StreamCost.objects.create(
            practice=practice, stream="medical", month=day.replace(day=1), amount=20
        )
        member = MemberFactory(practice=practice, user=UserFactory(), role="therapist")
        ApiToken.issue(member=member)
        for obj in (partner, client, referrals[0]):
            log_action(practice=practice, actor=user, action="referwell.test.grown", obj=obj)


@pytest.fixture
def world(elm_grove, alice, partner, client_alice_jones, referral):
    consent = Consent.objects.create(
        practice=elm_grove, client=client_alice_jones, partner=partner, scope=ConsentScope.TALK
    )
    message = OutgoingMessage.objects.create(
        practice=elm_grove,
        kind="referral",
        subject="Referral",
        body="Dear",
        status="printed",
        referral=referral,
        partner=partner,
    )
    inbound_request = ReferralRequest.objects.create(
        practice=elm_grove,
        partner=partner,
        referrer_name="Dr. Dana Spine",
        client_first_name="Ann",
        client_last_name="Other",
        reason="Neck pain.",
        client_agreed_to_be_contacted=True,
    )
    plan = ContactPlan.objects.create(
        practice=elm_grove, partner=partner, method="call", planned_on="2026-12-01"
    )
    niche = Niche.objects.create(practice=elm_grove, name="Runners")
    partner.niches.add(niche)
    member = MemberFactory(practice=elm_grove, user=UserFactory(email="desk@example.com"))
    Consent.objects.create(
        practice=elm_grove, client=client_alice_jones, partner=partner, scope=ConsentScope.REPORT
    )

    def another(**fields):
        return ReferralFactory(
            practice=elm_grove, client=client_alice_jones, partner=partner, **fields
        )

    # Referrals in the state each of the referral's actions expects.
    referrals = {
        "referral_consented": another(status="consented"),
        "referral_sent": another(status="sent", sent_at=timezone.now()),
        "referral_accepted": another(status="accepted", sent_at=timezone.now()),
        "referral_in": another(direction=Direction.IN, status="accepted", report_interval_days=14),
    }
    ReferralLink.issue(referral=referrals["referral_sent"])
    ReferralEvent.objects.create(  # the partner's answer through the link: the dashboard's news
        practice=elm_grove,
        referral=referrals["referral_sent"],
        kind=EventKind.NOTE,
        via=Via.PARTNER_LINK,
        from_status="sent",
        to_status="sent",
        at=timezone.now(),
        note="Booked for Monday.",
    )
    consent_signed = Consent.objects.create(
        practice=elm_grove,
        client=client_alice_jones,
        partner=partner,
        scope=ConsentScope.REPORT,
        signed_how="paper",
        signed_at=timezone.now(),
        signed_form="JVBERi0xLjQKJSVFT0YK",  # "%PDF-1.4 %%EOF", base64
        signed_form_type="application/pdf",
    )
    from referwell.core.jobs import ImportJob

    return {
        **referrals,
        "nppes_job": ImportJob.objects.create(kind="registry.nppes", practice=elm_grove),
        "restore_job": ImportJob.objects.create(kind="interop.restore", practice=elm_grove),
        "consent_signed": consent_signed,
        "member": member,
        "plan": plan,
        "niche": niche,
        "partner": partner,
        "client": client_alice_jones,
        "referral": referral,
        "consent": consent,
        "message": message,
        "inbound_request": inbound_request,
    }


# Each page's number of queries, as an owner with data of every kind. 7 of them are every
# request's: the session, the user, the member with the practice, the two-factor check, and the
# session saved again (savepoint, update, release: the idle timeout). A page that records its
# viewing adds its audit entry (chain read, insert, chain update); a write records each row of
# what is kept is made of that it changes (accounts.DataChange: one insert each, a referral's
# event included; accounts/kept.py's WATCHED), and Today reads the practice's data version first.
PAGE_BUDGETS = {
    # Pages about one object.
    "partner_detail": 13,
    "partner_edit": 12,
    "partner_vcard": 10,
    "partner_merge": 20,
    "client_detail": 24,  # 2 of them: the guidance facts' freshness (kept five minutes)
    "client_edit": 13,  # 3 of them: the audit entry of the read (chain head, entry, head)
    "client_disclosures": 12,
    "referral_detail": 19,
    "outbox_pdf": 12,
    "inbound_detail": 11,
    # Pages that only answer a form (POST), with that form.
    "touchpoint_add": 19,
    "partner_letter": 26,
    "visit_add": 17,
    "consent_add": 24,
    "consent_revoke": 15,
    "consent_detail": 8,  # the consent with its client, partner and profession: one query
    "consent_sign": 8,  # the signing screen: the same one query
    "consent_send_link": 8,  # refused here (the client has no e-mail address): the consent
    "consent_upload": 8,  # a GET goes back to the consent's page, where its form is
    "consent_document": 11,  # the consent with its signed form; the reading audited (3)
    "referral_transition": 23,
    "referral_note": 16,  # the note, its data change, its audit entry (chain head, entry, head)
    # The referral locked, its last move read, the undo and the referral written, its audit
    # entry: 16 (measured here on a draft with no move to undo: refused, in 13).
    "referral_undo": 16,
    "referral_send": 44,  # 1 of them: whether the sender may put clinical text in a letter
    "referral_link_new": 14,
    "referral_link_revoke": 16,
    "referral_report": 28,  # 1 of them: whether the sender may put clinical text in a letter
    "referral_thank": 34,  # 1 of them: whether the sender may put clinical text in a letter
    "referral_followup_done": 16,
    "referral_thank_care": 34,  # 1 of them: whether the sender may put clinical text in a letter
    "outbox_retry": 8,  # a sent message: refused with a message (a failed one also queues it)
    "pipeline_move": 19,
    "plan_add": 18,
    "plan_done": 22,
    "niche_delete": 11,
    "inbound_accept": 39,
    "inbound_reject": 16,
    "member_edit": 17,
    "registry_job": 8,  # the job (a running one's progress file is not a query)
    "practice_restore_job": 8,
    # Lists, forms and reports.
    # 2 of them the member's news (the partners' answers, the new requests); 8 its "What to do
    # next" from Today's list (its data version 1, making it 7; once the list is kept, 1)
    "dashboard": 28,
    "partner_list": 14,  # paged: the count, the page, its partners' activity
    "partner_create": 9,
    "partner_import": 7,
    "client_list": 8,
    "client_create": 9,
    "referral_list": 11,
    "referral_create": 10,
    "outbox": 9,  # + the count of what waits or failed (one grouped query)
    "letters": 13,
    "today": 16,  # the kept list and its kept HTML each read the data version once
    "calendar_feed_page": 8,
    "pipeline": 12,
    "niches": 11,
    "insights": 23,  # its charts and tables are kept (accounts/kept.py: the data version)
    "inbound_list": 9,
    "csv_import": 7,
    "practice_export": 8,  # + whether this server holds another practice (accounts/operators.py)
    "practice_restore": 9,  # + the practice's latest restores, + is this the operator
    "registry_search": 9,  # + whether an owner here is the operator (the import link)
    "registry_import": 11,  # + an import under way, the latest run, the practice's imports, the operator
    "members": 10,
    "notifications": 7,
    "audit_trail": 13,
    "help": 7,  # no practice data: the session, the user and the member, as every page
    "design": 7,
}

# What the pages that only answer POST are sent: the form they normally receive.
POSTS = {
    "touchpoint_add": {"kind": "call", "date": "2026-06-01", "note": "Called."},
    "partner_letter": {"kind": "introduction"},
    "visit_add": {"date": "2026-06-01", "service": "Massage", "fee": "95", "payer": "client"},
    "consent_add": {
        "profession": "chiropractor",
        "scope": "talk",
        "given_on": "2026-01-02",
        "how": "noted",
    },
    "consent_revoke": {},
    "consent_send_link": {},
    "referral_transition": {"to": "consented", "note": ""},
    "referral_note": {"note": "Called the office; they will call the client next week."},
    "referral_undo": {},
    "referral_send": {},
    "referral_link_new": {},
    "referral_link_revoke": {},
    "referral_report": {"text": "Doing well."},
    "referral_thank": {},
    "referral_followup_done": {},
    "referral_thank_care": {},
    "pipeline_move": {"to": "met"},
    "plan_add": {"method": "call", "planned_on": "2026-07-01"},
    "plan_done": {"outcome": "Met for coffee."},
    "niche_delete": {},
    "inbound_accept": {},
    "inbound_reject": {},
    "member_edit": {"action": "role", "role": "therapist"},
    "outbox_retry": {},
}

# The list pages with each of their filters (each list has one sort), whole and as the htmx
# fragment; each within its page's budget.
LIST_FILTERS = {
    "partner_list": [
        "?profession=chiropractor",
        "?stage=trusted",
        "?niche={niche}",
        "?near_zip=53045",
        "?near_zip=53045&miles=25",
        "?q=Partner",
        "?profession=physical-therapist&stage=met&near_zip=53122&miles=50&q=Dr",
    ],
    "client_list": ["?q=Client", "?stream=medical", "?q=Jones&stream=medical"],
    "referral_list": [
        "?direction=out",
        "?direction=in",
        "?status=sent",
        "?direction=in&status=accepted",
    ],
}

# The API's routes (with a token), and their budgets: 3 queries of token and practice.
API_BUDGETS = {
    "/api/v1/partners": 5,
    "/api/v1/partners?profession=chiropractor&stage=trusted": 5,
    "/api/v1/partners?near_zip=53045&miles=25": 5,
    "/api/v1/partners?q=Partner": 5,
    "/api/v1/partners/{partner}": 5,
    # The lists: 3 of them the audit entry naming the rows read (chain head, entry, head).
    "/api/v1/clients": 7,
    "/api/v1/clients?q=Client&stream=medical": 7,
    "/api/v1/clients/{client}": 6,
    "/api/v1/clients/{client}/consents": 4,
    "/api/v1/clients/{client}/disclosures": 4,
    "/api/v1/referrals": 9,
    "/api/v1/referrals?direction=out&status=sent": 9,
    "/api/v1/referrals?client={client}": 9,
    "/api/v1/referrals/{referral}": 8,
    "/api/v1/today": 10,
}

SMALL, MORE = 2, 8  # rows of every kind; then five times as many


# The referral each of the referral's actions is tried on (the others: the draft referral).
POST_TARGETS = {
    "referral_send": "referral_consented",
    "referral_link_new": "referral_sent",
    "referral_link_revoke": "referral_sent",
    "referral_report": "referral_in",
    "referral_thank": "referral_in",
    "referral_followup_done": "referral_in",
    "referral_thank_care": "referral_accepted",
    "consent_document": "consent_signed",  # a consent with its signed form
}


def page_requests(world):
    """(label, method, url, data, headers, budget) for every page of the inventory, every
    filter of the list pages and their htmx fragments."""
    ids = {k: getattr(v, "pk", None) for k, v in world.items()}
    for name in sorted(OBJECTS):
        url = reverse(name, kwargs={"pk": ids[POST_TARGETS.get(name, OBJECTS[name])]})
        method = "post" if name in POSTS else "get"
        yield name, method, url, POSTS.get(name), {}, PAGE_BUDGETS[name]
    for name in sorted(PAGES_WITHOUT_ID):
        yield name, "get", reverse(name), None, {}, PAGE_BUDGETS[name]
    for name, filters in LIST_FILTERS.items():
        for query in ["", *filters]:
            url = reverse(name) + query.format(**ids)
            yield f"{name}{query}", "get", url, None, {}, PAGE_BUDGETS[name]
            htmx = {"HX-Request": "true"}
            yield f"{name}{query} (htmx)", "get", url, None, htmx, PAGE_BUDGETS[name]


def api_requests(world):
    ids = {k: getattr(v, "pk", None) for k, v in world.items()}
    for route, budget in API_BUDGETS.items():
        yield route, "get", route.format(**ids), None, {}, budget


@contextmanager
def rolled_back():
    """Whatever a request writes is undone, so that every page is measured on the same data."""
    cache.clear()  # rate limits
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def request(http, method, url, data, headers):
    response = getattr(http, method)(url, data or {}, headers=headers)
    assert response.status_code in (200, 302), (url, response.status_code)


@pytest.fixture(autouse=True)
def no_pruning_of_data_changes(monkeypatch):
    """A write's count without the DELETE that prunes a practice's old data changes: it comes
    with whichever write reaches a multiple of PRUNE_EVERY in the id sequence (on PostgreSQL,
    whatever earlier tests used), not with a page (the pruning has its test in test_today)."""
    from referwell.accounts import kept

    monkeypatch.setattr(kept, "PRUNE_EVERY", 10**15)


def count_queries(http, method, url, data, headers):
    from django.core.cache import caches

    for each in caches.all():  # measured as first seen: no report kept from before,
        each.clear()
    forget_all()  # nothing kept in this process either
    with rolled_back(), CaptureQueriesContext(connection) as captured:
        request(http, method, url, data, headers)
    return len(captured.captured_queries)


def test_every_page_of_the_inventory_has_a_budget():
    assert set(PAGE_BUDGETS) == set(OBJECTS) | PAGES_WITHOUT_ID
    assert set(POSTS) <= set(OBJECTS)


def _check_budgets(http, requests, practice, user, world, django_assert_max_num_queries):
    grow(practice, user, world, SMALL)
    small = {}
    for label, method, url, data, headers, budget in requests:
        small[label] = count_queries(http, method, url, data, headers)
        assert small[label] <= budget, f"{label}: {small[label]} queries, over its budget"
    grow(practice, user, world, MORE)
    for label, method, url, data, headers, _ in requests:
        with rolled_back(), django_assert_max_num_queries(small[label], info=label):
            request(http, method, url, data, headers)


def test_no_page_asks_more_queries_as_the_data_grows(
    alice_http, alice, elm_grove, world, django_assert_max_num_queries
):
    requests = list(page_requests(world))
    assert len(requests) > len(PAGE_BUDGETS)
    _check_budgets(
        alice_http, requests, elm_grove, alice.user, world, django_assert_max_num_queries
    )


def test_no_api_route_asks_more_queries_as_the_data_grows(
    alice_api, alice, elm_grove, world, django_assert_max_num_queries
):
    requests = list(api_requests(world))
    _check_budgets(alice_api, requests, elm_grove, alice.user, world, django_assert_max_num_queries)


# The business-card import's pages take the waiting upload's address, not an id (tests/
# test_tenancy.py's OTHER_PARAMS), and each upload is imported once: measured on their own, on
# uploads of the same three cards (a new professional, one already in the directory by e-mail,
# one without a name), and never more as the directory grows. The count grows with the cards:
# each is compared with the directory by duplicates.py's rules, one query per rule the card
# can be matched by (its e-mail, its phone against the directory's, its name against the
# directory's names and cities), and two more (the partners found, their professions) when
# it matches.
VCARD_CARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Rita Budget, DC\r\nEMAIL:rita@budget.example\r\n"
    "TEL:(608) 555-0199\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Dana Again\r\nEMAIL:dana@spine.example\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nEMAIL:nameless@budget.example\r\nEND:VCARD\r\n"
)
VCARD_BUDGETS = {
    "partner_import (the upload)": 9,  # 7 of every request: the cards read and kept, not compared
    # 7 + the first card 3 (e-mail, phone, name), the second 4 (e-mail, name, the partner it
    # matches and its professions), the nameless one 1 (e-mail): 15, and nothing written.
    "partner_import_preview": 15,
    # 7 + the professions + per ticked card its comparison again (as above) and a savepoint;
    # a new partner 13 more (its insert and referral code, its professions, what Today is made
    # of, its audit entry: chain head, entry, head); the merge into a partner that has all the
    # card says writes nothing; the import's own audit entry 3: about 50.
    "partner_import_confirm": 52,
}


def _vcard_requests(http):
    """Upload, preview and import the three cards: each request's count."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    counts = {}
    file = SimpleUploadedFile("cards.vcf", VCARD_CARDS.encode(), content_type="text/vcard")
    with CaptureQueriesContext(connection) as captured:
        response = http.post(reverse("partner_import"), {"files": [file]})
    assert response.status_code == 302
    counts["partner_import (the upload)"] = len(captured.captured_queries)
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    url = reverse("partner_import_preview", args=[token])
    counts["partner_import_preview"] = count_queries(http, "get", url, None, {})
    picks = {"pick": ["1-1", "1-2", "1-3"], "name-1-3": "Nia Nameless"}
    url = reverse("partner_import_confirm", args=[token])
    counts["partner_import_confirm"] = count_queries(http, "post", url, picks, {})
    return counts


def test_the_business_card_import_asks_no_more_as_the_directory_grows(
    alice_http, alice, elm_grove, world, settings, tmp_path
):
    settings.VAR_DIR = tmp_path  # where the uploads wait
    world["partner"].email = "dana@spine.example"
    world["partner"].save()
    grow(elm_grove, alice.user, world, SMALL)
    small = _vcard_requests(alice_http)
    for label, budget in VCARD_BUDGETS.items():
        assert small[label] <= budget, f"{label}: {small[label]} queries, over its budget"
    grow(elm_grove, alice.user, world, MORE)
    for label, count in _vcard_requests(alice_http).items():
        assert count <= small[label], f"{label}: {small[label]} queries, then {count}"


# --------------------------------------------------------------------------- indexes
#
# Every filter and sort of the list pages, run through its selector; the plan of each statement
# must reach the page's table through an index (practice first, then the filter or sort
# column), never by reading the whole table; and the lists sorted by date come out of the
# index in that order. On PostgreSQL sequential scans and sorts are switched off for the
# statement, so that the plan says whether an index *can* serve it (a test-sized table would
# otherwise be read whole or sorted, rightly); on SQLite the planner's choice is read as it is.
#
# Left out on purpose: `q`, the text search of the partner and client lists. It is
# `icontains` (LIKE '%…%' / UPPER … LIKE), which no b-tree index can serve on either engine;
# the practice's index narrows the rows and the match is checked on each. Likewise the audit
# trail's action filter, a LIKE prefix that is case-insensitive on SQLite and needs
# `text_pattern_ops` on PostgreSQL: its practice-and-date index serves it instead.

PG_SCAN = re.compile(
    r"(?P<kind>Seq Scan|Index Scan(?: Backward)?|Index Only Scan(?: Backward)?|Bitmap Index Scan)"
    r"(?: using (?P<index>\S+))? on (?P<name>\S+)"
)
SQLITE_SCAN = re.compile(
    r"^(?P<kind>SCAN|SEARCH) (?P<table>\S+)(?: AS \S+)?"
    r"(?: USING (?:(?:COVERING )?INDEX (?P<index>\S+)|(?P<pk>INTEGER PRIMARY KEY)))?"
    r"(?: \((?P<cond>.*)\))?"
)


@dataclass
class Access:
    table: str
    index: str | None  # None: the whole table is read
    cond: str  # what the index is searched with


def _index_tables():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, tablename FROM pg_indexes")
        return dict(cursor.fetchall())


def plan_of(sql, params=()):
    """How the statement reaches each table, and whether it sorts rows after reading them."""
    accesses, sorts = [], []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tables = _index_tables()
            with transaction.atomic():
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute("SET LOCAL enable_sort = off")
                cursor.execute("EXPLAIN " + sql, params)
                lines = [row[0] for row in cursor.fetchall()]
                cursor.execute("RESET enable_seqscan")
                cursor.execute("RESET enable_sort")
            for n, line in enumerate(lines):
                if m := PG_SCAN.search(line):
                    cond = next((x for x in lines[n + 1 : n + 4] if "Index Cond:" in x), "")
                    if m["kind"] == "Seq Scan":
                        accesses.append(Access(m["name"], None, ""))
                    elif m["kind"] == "Bitmap Index Scan":
                        accesses.append(Access(tables[m["name"]], m["name"], cond))
                    else:
                        accesses.append(Access(m["name"], m["index"], cond))
                elif re.match(r"\s*(->\s*)?Sort  \(", line):  # not an Incremental Sort
                    sorts.append(lines[n + 1] if n + 1 < len(lines) else line)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            lines = [row[-1] for row in cursor.fetchall()]
            for line in lines:
                if m := SQLITE_SCAN.match(line):
                    index = m["index"] or m["pk"]
                    accesses.append(Access(m["table"], index, m["cond"] or ""))
                elif line == "USE TEMP B-TREE FOR ORDER BY":
                    sorts.append(line)
    return accesses, sorts, lines


def has_index(table, column):
    """An index of the table that a search on the column can use: the practice first and the
    column next, or the column first (a link table's, or a foreign key's)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    for c in constraints.values():
        columns = c["columns"] or []
        if not (c["index"] or c["unique"] or c["primary_key"]) or not columns:
            continue
        if columns[0] == column or (columns[0] == "practice_id" and columns[1:2] == [column]):
            return True
    return False


def _ids(world):
    return {k: getattr(v, "pk", None) for k, v in world.items()}


def index_cases(practice, world):
    """(what, how to run it, {table: columns its index must be searched with}, whether the
    rows come out of the index in the page's order)"""
    from referwell.audit.selectors import AuditFilters, audit_list
    from referwell.clients import selectors as clients
    from referwell.directory import selectors as directory
    from referwell.directory.selectors import PartnerFilters
    from referwell.inbound.selectors import request_list
    from referwell.outreach.models import OutgoingMessage
    from referwell.outreach.pipeline import board
    from referwell.referrals import selectors as referrals
    from referwell.site.selectors import dashboard_summary

    p, ids = practice, _ids(world)
    partner = PartnerFilters
    partners = directory.partner_list
    user_id = world["member"].user_id

    def listed(qs, n=200):
        return lambda: list(qs[:n])

    # The partner and client lists count and date each row (GROUP BY): their sort by name
    # is made after that, over the practice's rows, which no index can save.
    yield "partners", lambda: partners(practice=p), {"directory_partner": ["practice_id"]}, False
    yield (
        "partners by stage",
        lambda: partners(practice=p, filters=partner(stage="met")),
        {"directory_partner": ["stage"]},
        False,
    )
    # By profession or niche: the partners are reached from the link table's index, or the
    # practice's partners are read through their index and matched in the link table's.
    yield (
        "partners by profession",
        lambda: partners(practice=p, filters=partner(profession="chiropractor")),
        {"directory_partner": [], "directory_partner_professions": ["profession_id"]},
        False,
    )
    yield (
        "partners by niche",
        lambda: partners(practice=p, filters=partner(niche=ids["niche"])),
        {"directory_partner": [], "directory_partner_niches": ["niche_id"]},
        False,
    )
    # Near a ZIP code: distances are computed from the practice's partners' coordinates.
    yield (
        "partners near a ZIP code",
        lambda: partners(practice=p, filters=partner(near_zip="53045", miles=25)),
        {"directory_partner": ["practice_id"]},
        False,
    )
    yield (
        "clients",
        listed(clients.client_list(practice=p)),
        {"clients_client": ["practice_id"]},
        False,
    )
    yield (
        "clients by stream",
        listed(clients.client_list(practice=p, stream="medical")),
        {"clients_client": ["stream"]},
        False,
    )
    for label, kwargs, column in (
        ("referrals", {}, "practice_id"),
        ("referrals by direction", {"direction": "in"}, "direction"),
        ("referrals by status", {"status": "sent"}, "status"),
        (
            "referrals by direction and status",
            {"direction": "out", "status": "sent"},
            "direction|status",
        ),
    ):
        qs = referrals.referral_list(practice=p, **kwargs)
        yield label, listed(qs), {"referrals_referral": [column]}, True
    yield (
        "referrals of a client",
        listed(referrals.referral_list(practice=p, client_id=ids["client"])),
        {"referrals_referral": ["client_id"]},
        False,
    )
    yield (
        "referrals of a partner",
        listed(referrals.referral_list(practice=p, partner_id=ids["partner"])),
        {"referrals_referral": ["partner_id"]},
        False,
    )
    yield (
        "today",
        lambda: cadence.make_due_items(practice=p, on=timezone.localdate()),
        {
            "referrals_referral": ["practice_id"],
            "directory_touchpoint": ["kind"],
            "directory_partner": ["practice_id"],
            "outreach_contactplan": ["done_on"],
        },
        False,
    )
    yield (
        "dashboard",
        lambda: dashboard_summary(practice=p),
        {
            "directory_partner": ["stage"],
            "referrals_referral": ["direction"],
            "clients_client": ["first_seen|stream"],
        },
        False,
    )
    yield (
        "pipeline",
        lambda: board(practice=p),
        {"directory_partner": ["practice_id"], "outreach_contactplan": ["done_on"]},
        False,
    )
    yield (
        "outbox",
        listed(OutgoingMessage.objects.for_practice(p).select_related("referral", "partner", "by")),
        {"outreach_outgoingmessage": ["practice_id"]},
        True,
    )
    yield (
        "inbound requests",
        listed(request_list(practice=p)),
        {"inbound_referralrequest": ["status"]},
        True,
    )
    # A record's entries: its own index, or the practice's entries walked newest first.
    for label, filters, column in (
        ("audit trail", AuditFilters(), "practice_id"),
        ("audit trail of a member", AuditFilters(member=user_id), "actor_id"),
        ("audit trail of a record", AuditFilters(object_type="partner"), "practice_id"),
        ("audit trail since a day", AuditFilters(since=dt.date(2026, 1, 1)), "at"),
    ):
        yield (
            label,
            listed(audit_list(practice=p, filters=filters), 50),
            {"audit_auditentry": [column]},
            True,
        )


def bulk(practice, user, n):
    """n partners of the practice, and rows of every kind in proportion: enough for the
    planners' statistics to tell one practice, one stage or one status from the rest."""
    from referwell.audit.models import AuditEntry
    from referwell.clients.models import Client, Stream
    from referwell.directory.models import Partner, Stage, TouchpointKind
    from referwell.referrals.models import Referral
    from referwell.referrals.states import Status

    today = dt.date(2026, 6, 1)
    stages, streams = Stage.values, Stream.values
    kinds, statuses = TouchpointKind.values, Status.values
    partners = Partner.objects.bulk_create(
        Partner(practice=practice, name=f"Bulk {i}", stage=stages[i % len(stages)])
        for i in range(n)
    )
    through = Partner.professions.through
    slugs = ["chiropractor", "physical-therapist", "podiatrist", "acupuncturist", "psychologist"]
    through.objects.bulk_create(
        through(partner_id=p.pk, profession_id=slugs[i % len(slugs)])
        for i, p in enumerate(partners)
    )
    clients = Client.objects.bulk_create(
        Client(
            practice=practice,
            first_name=f"Bulk{i}",
            last_name="Client",
            stream=streams[i % len(streams)],
            first_seen=today - dt.timedelta(days=i % 1000),
            source_partner=partners[i],
        )
        for i in range(n)
    )
    Referral.objects.bulk_create(
        Referral(
            practice=practice,
            client=clients[i % n],
            partner=partners[(i * 7) % n],
            direction=["out", "in"][i % 2],
            status=statuses[i % len(statuses)],
            reasons="Bulk.",
        )
        for i in range(2 * n)
    )
    Touchpoint.objects.bulk_create(
        Touchpoint(
            practice=practice,
            partner=partners[i % n],
            kind=kinds[i % len(kinds)],
            date=today - dt.timedelta(days=i % 700),
        )
        for i in range(2 * n)
    )
    ContactPlan.objects.bulk_create(
        ContactPlan(
            practice=practice,
            partner=partners[i],
            method="call",
            planned_on=today,
            done_on=today if i % 5 else None,
        )
        for i in range(n)
    )
    OutgoingMessage.objects.bulk_create(
        OutgoingMessage(
            practice=practice, kind="introduction", subject="Hello", body="Hi", status="sent"
        )
        for i in range(n)
    )
    ReferralRequest.objects.bulk_create(
        ReferralRequest(
            practice=practice,
            referrer_name="Bulk",
            client_first_name="Bulk",
            client_last_name="Request",
            reason="Bulk.",
            status=["pending", "accepted", "rejected"][i % 3],
        )
        for i in range(n)
    )
    AuditEntry.objects.bulk_create(
        AuditEntry(
            practice=practice,
            actor=user if i % 10 == 0 else None,
            action="referwell.bulk.loaded",
            object_type=["partner", "client", "referral"][i % 3],
            object_id=str(i),
        )
        for i in range(3 * n)
    )


def test_every_filter_and_sort_of_the_list_pages_is_served_by_an_index(
    alice, charlie, elm_grove, world
):
    from tests.factories import PracticeFactory

    grow(elm_grove, alice.user, world, SMALL)
    # Elm Grove among other practices, as on a server that hosts several.
    bulk(elm_grove, alice.user, 400)
    for practice in [charlie.practice, *(PracticeFactory() for _ in range(4))]:
        bulk(practice, charlie.user, 100)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as PRAGMA optimize (after migrate) and autovacuum do
    checked = 0
    for label, run, wanted, sorted_by_index in index_cases(elm_grove, world):
        for sql, params in _sql_of(run):
            # With the values written in: whether an index can serve (SQLite's choice among
            # several for an unknown value follows the statistics of this small data).
            accesses, sorts, lines = plan_of(*_written(sql, params))
            plan = "\n".join(lines)
            for access in accesses:
                if access.table in wanted:
                    # Through an index: on SQLite a SEARCH (not a SCAN of the table, nor of a
                    # whole index); on PostgreSQL an index or bitmap scan (a merge join may
                    # walk the primary key's index in order, stopping early).
                    searched = access.cond or connection.vendor == "postgresql"
                    assert access.index and searched, f"{label}: {access.table}\n{sql}\n{plan}"
            if sorted_by_index:
                assert not sorts, f"{label}: sorted after reading\n{sql}\n{plan}"
            checked += 1
        for table, columns in wanted.items():
            for column in columns:  # "a|b": an index for either
                assert any(has_index(table, c) for c in column.split("|")), (
                    f"{label}: no index for {table}.{column}"
                )
    assert checked >= 30


def _sql_of(run):
    """The SQL statements a selector runs with their parameters, as sent to the database (a
    plan made with the values written in can differ: SQLite matches a partial index only on
    the statement it prepares)."""
    statements = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        run()
    return statements


def _written(sql, params):
    """The statement with its values written in (SQLite): as Django's query log shows it.
    PostgreSQL's client-side binding writes them in already."""
    if connection.vendor != "sqlite":
        return sql, params
    with connection.cursor() as cursor:
        return connection.ops.last_executed_query(cursor, sql, params), ()


@pytest.mark.django_db
def test_status_in_final_writes_the_same_sql_in_every_process(elm_grove):
    """`status__in=FINAL` writes the same SQL in every process (FINAL is ordered): the
    open-referrals partial index is matched on that SQL (SQLite), and its migration compares it
    (a set's order changed with hash randomisation)."""
    from referwell.referrals.models import Referral
    from referwell.referrals.states import FINAL

    open_out = Referral.objects.for_practice(elm_grove).filter(direction="out")
    open_out = open_out.exclude(status__in=FINAL)
    _sql, params = open_out.values("id").query.sql_with_params()
    assert [str(p) for p in params[-2:]] == ["cancelled", "closed"]


@pytest.mark.django_db
def test_open_referrals_are_counted_from_their_partial_index(elm_grove):
    """`status__final=False` writes the final states into the statement: SQLite prepares a
    statement before binding its values, and uses a partial index only when the statement
    itself implies the index's condition (`NOT (status IN (?, ?))` does not)."""
    from django.db import OperationalError

    from referwell.referrals.models import Referral
    from referwell.referrals.states import FINAL

    open_out = Referral.objects.for_practice(elm_grove).filter(direction="out")
    ((sql, params),) = _sql_of(lambda: open_out.filter(status__final=False).count())
    assert "IN ('cancelled', 'closed')" in sql and "cancelled" not in map(str, params)
    if connection.vendor == "sqlite":
        # INDEXED BY fails ("no query solution") unless the statement can use the index.
        forced = sql.replace(
            'FROM "referrals_referral"', 'FROM "referrals_referral" INDEXED BY referral_open_idx', 1
        )
        _accesses, _sorts, lines = plan_of(forced, params)
        assert any("referral_open_idx" in line for line in lines), lines
        unwritten = Referral.objects.for_practice(elm_grove).exclude(status__in=FINAL)
        ((sql, params),) = _sql_of(lambda: unwritten.count())
        with pytest.raises(OperationalError, match="no query solution"):
            plan_of(
                sql.replace(
                    'FROM "referrals_referral"',
                    'FROM "referrals_referral" INDEXED BY referral_open_idx',
                    1,
                ),
                params,
            )
    closed = Referral.objects.for_practice(elm_grove).filter(status__final=True)
    assert "NOT" not in closed.query.sql_with_params()[0].split("WHERE")[1]
