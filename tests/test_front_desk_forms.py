"""The front desk is offered no field it could not read back (issue "Safe, clear referral work
in a therapist's hands", item 5).

The front desk does not see clinical text (Member.sees_clinical: a client's complaints, goals,
health history and intake notes, a visit's notes, a referral's reasons and its timeline's
notes, an inbound request's reason, a progress report). So it must not be asked to write any:
what it typed would vanish from its sight the moment it saved. This walks every page of the
practice as the front desk (the tenancy sweep's inventory, each referral in the states that
offer different forms, the second step of an ending move, the letters it may send) and looks
at every field of every form; then it posts the clinical fields to the forms anyway, and checks
that nothing is stored. The clinical roles are still offered all of them."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from referwell.accounts.models import Role
from referwell.clients.models import Client, Consent, ConsentScope, Visit
from referwell.referrals.models import Referral, ReferralEvent
from referwell.referrals.states import Status
from tests.conftest import _logged_in
from tests.factories import MemberFactory, ReferralFactory, UserFactory
from tests.test_tenancy import OBJECTS, PAGES_WITHOUT_ID, app_patterns

pytestmark = pytest.mark.django_db

# Clinical text wherever a form asks for it: the client's intake (and "today's session is the
# needs assessment", which the intake's guidance reads), a visit's notes, a referral's reasons,
# a progress report's text.
CLINICAL = frozenset(
    {"complaints", "goals", "history", "notes", "assessment_today", "reasons", "text"}
)
# On a referral's pages, "note" is the timeline's note (a move's or its own): clinical. On a
# partner's page it is a contact's note, which the front desk reads back there ("reason", on
# the pipeline, is why a partner is not a fit: the partner's page shows it).
REFERRAL_NOTE = "note"

FIELD = re.compile(r"<(?:input|textarea|select|button)\b[^>]*?\bname=\"([^\"]+)\"", re.S)
FORM = re.compile(r"<form\b.*?</form>", re.S)


def form_fields(html: str) -> set[str]:
    """The names of the fields of every form of the page (a field outside a form is sent by
    none)."""
    return {name for form in FORM.findall(html) for name in FIELD.findall(form)}


def clinical_in(url: str, names: set[str]) -> set[str]:
    found = names & CLINICAL
    if url.startswith("/referrals/") and REFERRAL_NOTE in names:
        found |= {REFERRAL_NOTE}
    return found


@pytest.fixture
def tess(elm_grove):
    user = UserFactory(email="tess@example.com", first_name="Tess", last_name="Therapist")
    return MemberFactory(user=user, practice=elm_grove, role=Role.THERAPIST)


@pytest.fixture
def objects(elm_grove, alice, partner, client_alice_jones, referral):
    """An object of each kind the pages of the tenancy sweep's inventory are about."""
    from referwell.core.jobs import ImportJob
    from referwell.directory.models import Niche
    from referwell.inbound.models import ReferralRequest
    from referwell.outreach.models import ContactPlan, OutgoingMessage

    return {
        "partner": partner,
        "client": client_alice_jones,
        "referral": referral,
        "consent": Consent.objects.create(
            practice=elm_grove, client=client_alice_jones, partner=partner, scope="talk"
        ),
        "message": OutgoingMessage.objects.create(
            practice=elm_grove,
            kind="referral",
            subject="Referral",
            body="Dear colleague",
            status="printed",
            referral=referral,
        ),
        "inbound_request": ReferralRequest.objects.create(
            practice=elm_grove,
            partner=partner,
            referrer_name="Dr. Dana Spine",
            client_first_name="Ann",
            client_last_name="Other",
            reason="Neck pain.",
            client_agreed_to_be_contacted=True,
        ),
        "plan": ContactPlan.objects.create(
            practice=elm_grove, partner=partner, method="call", planned_on="2026-12-01"
        ),
        "niche": Niche.objects.create(practice=elm_grove, name="Runners"),
        "member": MemberFactory(practice=elm_grove, role=Role.THERAPIST),
        "nppes_job": ImportJob.objects.create(kind="registry.nppes", practice=elm_grove),
        "restore_job": ImportJob.objects.create(kind="interop.restore", practice=elm_grove),
    }


@pytest.fixture
def referrals(elm_grove, client_alice_jones, partner):
    """A referral in each state whose page offers other forms: before sending, sent, taken
    on, and a referral in whose thank-you and progress report are owed."""
    Consent.objects.create(
        practice=elm_grove, client=client_alice_jones, partner=partner, scope=ConsentScope.REPORT
    )
    now = timezone.now()

    def make(direction, status, **fields):
        referral = ReferralFactory(
            practice=elm_grove,
            client=client_alice_jones,
            partner=partner,
            direction=direction,
            status=status,
            reasons="Neck pain.",
            **fields,
        )
        ReferralEvent.objects.create(
            practice=elm_grove, referral=referral, to_status=status, at=now
        )
        return referral

    return {
        "consented": make("out", Status.CONSENTED),
        "sent": make("out", Status.SENT, sent_at=now),
        "accepted": make("out", Status.ACCEPTED, sent_at=now),
        "in": make("in", Status.ACCEPTED, report_interval_days=14, received_at=now),
    }


def walk(http, objects, referrals):
    """Every page of the practice the member can open, as {url: the fields of its forms}."""
    urls = []
    for _route, pattern in app_patterns():
        if pattern.name in OBJECTS:
            urls.append(reverse(pattern.name, kwargs={"pk": objects[OBJECTS[pattern.name]].pk}))
        elif pattern.name in PAGES_WITHOUT_ID:
            urls.append(reverse(pattern.name))
    for referral in referrals.values():
        urls.append(reverse("referral_detail", args=[referral.pk]))
    urls += [
        reverse("referral_thank", args=[referrals["in"].pk]),
        reverse("referral_report", args=[referrals["in"].pk]),
        reverse("referral_thank_care", args=[referrals["accepted"].pk]),
        reverse("referral_send", args=[referrals["consented"].pk]),
    ]
    pages = {}
    for url in urls:
        response = http.get(url)
        assert response.status_code in (200, 302, 403, 405), (url, response.status_code)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            pages[url] = form_fields(response.content.decode())
    # The second step of a move that ends the referral: its form keeps the move's note.
    confirm = reverse("referral_transition", args=[referrals["sent"].pk])
    response = http.post(confirm, {"to": Status.CANCELLED, "note": ""})
    assert response.status_code == 200 and b"Yes, cancel the referral" in response.content
    pages[f"{confirm} (confirm)"] = form_fields(response.content.decode())
    return pages


def test_the_front_desk_is_offered_no_clinical_field_anywhere(
    bob, objects, referrals, client_alice_jones
):
    pages = walk(_logged_in(bob), objects, referrals)
    offered = {url: clinical_in(url, names) for url, names in pages.items()}
    assert {url: names for url, names in offered.items() if names} == {}
    # It did walk the forms of its work: clients, visits, consents, partners, referrals.
    client = client_alice_jones.pk
    for url, field in (
        (reverse("client_create"), "first_name"),
        (reverse("client_edit", args=[client]), "phone"),
        (reverse("client_detail", args=[client]), "fee"),  # the visit's form
        (reverse("consent_add", args=[client]), "purpose"),
        (reverse("partner_edit", args=[objects["partner"].pk]), "vetting_notes"),
        (reverse("partner_detail", args=[objects["partner"].pk]), "note"),
        (reverse("referral_detail", args=[referrals["sent"].pk]), "to"),
        (f"{reverse('referral_transition', args=[referrals['sent'].pk])} (confirm)", "confirm"),
    ):
        assert field in pages[url], (url, pages.get(url))
    assert len(pages) >= 30


@pytest.mark.parametrize("role", [Role.OWNER, Role.THERAPIST])
def test_the_clinical_roles_are_offered_them(elm_grove, objects, referrals, role):
    member = MemberFactory(practice=elm_grove, role=role)
    pages = walk(_logged_in(member), objects, referrals)
    client = objects["client"].pk
    intake = {"complaints", "goals", "history", "notes", "assessment_today"}
    expected = {
        reverse("client_create"): intake,
        reverse("client_edit", args=[client]): intake,
        reverse("client_detail", args=[client]): {"notes"},  # the visit's notes
        reverse("referral_create"): {"reasons"},
        reverse("referral_detail", args=[referrals["sent"].pk]): {"note"},
        reverse("referral_detail", args=[referrals["in"].pk]): {"note"},
        f"{reverse('referral_transition', args=[referrals['sent'].pk])} (confirm)": {"note"},
    }
    for url, names in expected.items():
        assert names <= clinical_in(url, pages[url]), (url, pages[url])


# --- what the front desk posts anyway is not stored --------------------------------------------

WRITTEN = "Typed by the front desk"


def test_a_post_of_the_intake_stores_nothing(bob_http, client_alice_jones, partner):
    intake = {
        "complaints": WRITTEN,
        "goals": WRITTEN,
        "history": WRITTEN,
        "notes": WRITTEN,
        "assessment_today": "on",
    }
    response = bob_http.post(
        reverse("client_create"),
        {"first_name": "Nora", "last_name": "New", "stream": "current_clients", **intake},
    )
    assert response.status_code == 302
    nora = Client.objects.get(first_name="Nora")
    assert (nora.complaints, nora.goals, nora.history, nora.notes) == ("", "", "", "")
    assert nora.needs_assessment_on is None

    before = Client.objects.get(pk=client_alice_jones.pk)
    response = bob_http.post(
        reverse("client_edit", args=[client_alice_jones.pk]),
        {"first_name": "Alice", "last_name": "Jones", "phone": "414-555-0199", **intake},
    )
    assert response.status_code == 302
    after = Client.objects.get(pk=client_alice_jones.pk)
    assert after.phone == "414-555-0199"  # what the desk may change, changed
    assert (after.complaints, after.goals, after.history, after.notes) == (
        before.complaints,
        before.goals,
        before.history,
        before.notes,
    )
    assert after.complaints == "Low back and neck pain since being rear-ended."
    assert after.needs_assessment_on is None


def test_a_post_of_a_visits_notes_stores_none(bob_http, client_alice_jones):
    response = bob_http.post(
        reverse("visit_add", args=[client_alice_jones.pk]),
        {"date": "2026-06-01", "service": "Massage", "fee": "95", "notes": WRITTEN},
    )
    assert response.status_code == 302
    visit = Visit.objects.get(client=client_alice_jones)
    assert visit.service == "Massage" and visit.notes == ""


def test_a_post_of_a_referral_note_stores_none(bob_http, referrals):
    sent = referrals["sent"]
    response = bob_http.post(
        reverse("referral_transition", args=[sent.pk]),
        {"to": Status.RECEIVED, "note": WRITTEN},
    )
    assert response.status_code == 302
    move = ReferralEvent.objects.filter(referral=sent).latest("id")
    assert move.to_status == Status.RECEIVED and move.note == ""
    # An ending move: its second step keeps no note either.
    response = bob_http.post(
        reverse("referral_transition", args=[sent.pk]),
        {"to": Status.CANCELLED, "note": WRITTEN, "confirm": "yes"},
    )
    assert response.status_code == 302
    assert Referral.objects.get(pk=sent.pk).status == Status.CANCELLED
    assert WRITTEN not in _notes()
    # A note of its own, a new referral's reasons, a progress report: refused.
    assert (
        bob_http.post(reverse("referral_note", args=[sent.pk]), {"note": WRITTEN}).status_code
        == 403
    )
    response = bob_http.post(
        reverse("referral_create"),
        {"direction": "out", "client": sent.client_id, "partner": sent.partner_id,
         "reasons": WRITTEN},
    )  # fmt: skip
    assert response.status_code == 403
    response = bob_http.post(
        reverse("referral_report", args=[referrals["in"].pk]), {"text": WRITTEN, "body": WRITTEN}
    )
    assert response.status_code == 403
    assert WRITTEN not in _notes()
    assert WRITTEN not in {r.reasons for r in Referral.objects.all()}


def _notes():
    """Every note of every referral's timeline (encrypted: read, not searched)."""
    return {e.note for e in ReferralEvent.objects.all()}
