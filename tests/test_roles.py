"""Roles, made systematic like the tenancy sweep: the front desk walks every page and API route
of its own practice, where every clinical text holds a marker, and never sees one; only
owners reach the pages that manage members, letter templates and exports."""

import json

import pytest
from django.urls import reverse

from referwell.accounts.models import Role
from referwell.clients.models import Consent, ConsentScope
from referwell.inbound.models import ReferralRequest
from referwell.outreach.models import OutgoingMessage
from referwell.referrals.models import ReferralEvent
from tests.conftest import _api_client, _logged_in
from tests.factories import MemberFactory, VisitFactory
from tests.test_tenancy import OBJECTS, PAGES_WITHOUT_ID, api_routes, app_patterns

pytestmark = pytest.mark.django_db

MARK = "CLINICALMARK"


@pytest.fixture
def marked(elm_grove, partner, client_alice_jones, referral):
    """Alice's client with a marker in every clinical text the practice holds."""
    client = client_alice_jones
    client.complaints = f"{MARK}-complaints"
    client.goals = f"{MARK}-goals"
    client.history = f"{MARK}-history"
    client.notes = f"{MARK}-notes"
    client.save()
    VisitFactory(practice=elm_grove, client=client, notes=f"{MARK}-visit")
    referral.reasons = f"{MARK}-reasons"
    referral.save()
    ReferralEvent.objects.create(
        practice=elm_grove,
        referral=referral,
        from_status="draft",
        to_status="draft",
        at=referral.created_at,
        note=f"{MARK}-event",
    )
    consent = Consent.objects.create(
        practice=elm_grove, client=client, partner=partner, scope=ConsentScope.TALK
    )
    message = OutgoingMessage.objects.create(
        practice=elm_grove,
        kind="referral",
        subject="Referral: Alice Jones",
        body=f"{MARK}-letter",
        status="printed",
        referral=referral,
    )
    inbound_request = ReferralRequest.objects.create(
        practice=elm_grove,
        partner=partner,
        referrer_name="Dr. Dana Spine",
        client_first_name="Ann",
        client_last_name="Bell",
        reason=f"{MARK}-inbound",
        client_agreed_to_be_contacted=True,
    )
    from referwell.core.jobs import ImportJob
    from referwell.directory.models import Niche
    from referwell.outreach.models import ContactPlan
    from tests.factories import MemberFactory

    return {
        "nppes_job": ImportJob.objects.create(kind="registry.nppes", practice=elm_grove),
        "restore_job": ImportJob.objects.create(kind="interop.restore", practice=elm_grove),
        "member": MemberFactory(practice=elm_grove),
        "partner": partner,
        "client": client,
        "referral": referral,
        "consent": consent,
        "message": message,
        "inbound_request": inbound_request,
        "plan": ContactPlan.objects.create(
            practice=elm_grove, partner=partner, method="call", planned_on="2026-12-01"
        ),
        "niche": Niche.objects.create(practice=elm_grove, name="Desk niche"),
    }


@pytest.fixture
def desk(elm_grove):
    return MemberFactory(practice=elm_grove, role=Role.FRONT_DESK)


def test_the_front_desk_sees_no_clinical_text_on_any_page(desk, marked):
    http = _logged_in(desk)
    seen, leaks = [], []
    for _route, pattern in app_patterns():
        if pattern.name in OBJECTS:
            url = reverse(pattern.name, kwargs={"pk": marked[OBJECTS[pattern.name]].pk})
        elif pattern.name in PAGES_WITHOUT_ID:
            url = reverse(pattern.name)
        else:
            continue
        response = http.get(url)
        assert response.status_code in (200, 302, 403, 405), (url, response.status_code)
        if response.status_code == 200:
            seen.append(url)
            if MARK.encode() in _text(response):
                leaks.append(url)
    assert leaks == []
    # The desk does its work: it opens the lists, the client and the referral pages.
    for name, obj in (("client_detail", "client"), ("referral_detail", "referral")):
        assert reverse(name, kwargs={"pk": marked[obj].pk}) in seen
    assert reverse("client_list") in seen and reverse("today") in seen


def test_a_therapist_does_see_the_clinical_text(elm_grove, marked):
    http = _logged_in(MemberFactory(practice=elm_grove, role=Role.THERAPIST))
    client_page = http.get(reverse("client_detail", kwargs={"pk": marked["client"].pk}))
    assert f"{MARK}-history".encode() in client_page.content
    referral_page = http.get(reverse("referral_detail", kwargs={"pk": marked["referral"].pk}))
    assert f"{MARK}-reasons".encode() in referral_page.content


def test_the_front_desk_sees_no_clinical_text_in_the_api(desk, marked):
    api = _api_client(desk)
    ids = {
        "partner_id": marked["partner"].pk,
        "client_id": marked["client"].pk,
        "referral_id": marked["referral"].pk,
        "consent_id": marked["consent"].pk,
    }
    checked = 0
    for path, method in api_routes():
        if method != "get":
            continue
        url = path
        for name, value in ids.items():
            url = url.replace("{" + name + "}", str(value))
        response = api.get(url)
        assert response.status_code in (200, 403), (url, response.status_code)
        assert MARK.encode() not in response.content, url
        checked += 1
    assert checked >= 8
    for url in ("/fhir/R4/ServiceRequest", "/fhir/R4/Task"):
        response = api.get(url)
        assert response.status_code in (200, 403), url
        assert MARK.encode() not in response.content, url


def test_the_front_desk_cannot_write_clinical_text_through_the_api(desk, marked):
    api = _api_client(desk)
    response = api.patch(
        f"/api/v1/clients/{marked['client'].pk}",
        data=json.dumps({"history": "overwritten"}),
        content_type="application/json",
    )
    assert response.status_code in (400, 403, 422)
    marked["client"].refresh_from_db()
    assert marked["client"].history == f"{MARK}-history"


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.FRONT_DESK])
def test_only_owners_manage_members_templates_and_exports(elm_grove, marked, role):
    http = _logged_in(MemberFactory(practice=elm_grove, role=role))
    urls = [
        reverse("practice_export"),
        reverse("practice_restore"),
        reverse("registry_import"),
        reverse("registry_job", kwargs={"pk": marked["nppes_job"].pk}),
        reverse("practice_restore_job", kwargs={"pk": marked["restore_job"].pk}),
        reverse("practice_settings"),
        reverse("members"),
        reverse("member_edit", kwargs={"pk": marked["member"].pk}),
        reverse("letter_edit", kwargs={"kind": "referral"}),
    ]
    for url in urls:
        assert http.get(url).status_code in (403, 405), url  # 405: a form's target, POST only
        assert http.post(url, {}).status_code == 403, url


def _text(response):
    """What a page or a file says: a PDF's text is compressed, so it is extracted first."""
    if response.get("Content-Type", "").startswith("application/pdf"):
        import io

        from pypdf import PdfReader

        return "".join(
            p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages
        ).encode()
    return response.content
