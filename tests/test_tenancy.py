"""Practice isolation, made systematic: every URL pattern and API route, walked as charlie
(owner of another practice) with alice's objects, answers 404 — never 200, never 500.

A new view or route with an id in its path fails here until it is added to OBJECTS below,
so nothing escapes the sweep."""

import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from referwell.clients.models import Consent, ConsentScope
from referwell.site.api import api
from tests.factories import ClientFactory, PartnerFactory

pytestmark = pytest.mark.django_db

# URL name → which of alice's objects its <pk> names.
OBJECTS = {
    "partner_detail": "partner",
    "partner_edit": "partner",
    "touchpoint_add": "partner",
    "client_detail": "client",
    "client_edit": "client",
    "client_disclosures": "client",
    "visit_add": "client",
    "consent_add": "client",
    "consent_revoke": "consent",
    "consent_detail": "consent",
    "consent_sign": "consent",
    "consent_send_link": "consent",
    "consent_upload": "consent",
    "consent_document": "consent",
    "referral_detail": "referral",
    "referral_transition": "referral",
    "referral_note": "referral",
    "referral_undo": "referral",
    "referral_send": "referral",
    "referral_link_new": "referral",
    "referral_link_revoke": "referral",
    "referral_report": "referral",
    "referral_thank": "referral",
    "referral_followup_done": "referral",
    "referral_thank_care": "referral",
    "partner_letter": "partner",
    "pipeline_move": "partner",
    "plan_add": "partner",
    "plan_done": "plan",
    "niche_delete": "niche",
    "outbox_pdf": "message",
    "outbox_retry": "message",
    "inbound_detail": "inbound_request",
    "inbound_accept": "inbound_request",
    "inbound_reject": "inbound_request",
    "partner_vcard": "partner",
    "partner_merge": "partner",
    "member_edit": "member",
    "registry_job": "nppes_job",
    "practice_restore_job": "restore_job",
}
# Pages without an id: the lists and forms, where alice's data must simply not appear.
PAGES_WITHOUT_ID = {
    "dashboard",
    "partner_list",
    "partner_create",
    "partner_import",
    "client_list",
    "client_create",
    "referral_list",
    "referral_create",
    "outbox",
    "letters",
    "today",
    "calendar_feed_page",
    "pipeline",
    "niches",
    "insights",
    "inbound_list",
    "csv_import",
    "practice_export",
    "practice_restore",
    "registry_search",
    "registry_import",
    "members",
    "notifications",
    "audit_trail",
    "help",
    "design",
}
# Pages whose parameter is not an object id, checked on their own.
OTHER_PARAMS = {
    "insights_csv",
    "insights_cost_add",
    "today_act",
    "calendar_feed",
    "letter_edit",
    "partner_link",
    "client_consent",  # the client's consent link: a token (tests/test_consent_sign.py)
    "client_consent_copy",
    "refer_practice",
    "refer_partner",
    "refer_thanks",
    "csv_export",
    "csv_import_map",
    "csv_import_preview",
    "csv_import_confirm",
    "csv_import_cancel",
    "partner_import_preview",
    "partner_import_confirm",
    "partner_import_cancel",
    "registry_add",
}
# Not tenant data: public pages, auth and the Django admin (staff only).
EXEMPT_PREFIXES = (
    "admin/",
    "accounts/",
    "api/v1/",
    "health/",
    "static/",
    "fhir/R4/",
    "manifest.webmanifest",  # the web app manifest and the icon: no practice data
    "favicon.ico",
)


def walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


@pytest.fixture
def alice_objects(elm_grove, partner, client_alice_jones, referral):
    consent = Consent.objects.create(
        practice=elm_grove, client=client_alice_jones, partner=partner, scope=ConsentScope.TALK
    )
    from referwell.outreach.models import OutgoingMessage

    message = OutgoingMessage.objects.create(
        practice=elm_grove,
        kind="referral",
        subject="Referral: Alice Jones",
        body="Dear Dr. Dana Spine, Jones",
        status="printed",
        referral=referral,
    )
    from referwell.inbound.models import ReferralRequest

    inbound_request = ReferralRequest.objects.create(
        practice=elm_grove,
        partner=partner,
        referrer_name="Dr. Dana Spine",
        client_first_name="Alice",
        client_last_name="Jones",
        client_phone="414-555-0101",
        reason="Neck pain.",
        client_agreed_to_be_contacted=True,
    )
    from referwell.directory.models import Niche
    from referwell.outreach.models import ContactPlan

    plan = ContactPlan.objects.create(
        practice=elm_grove, partner=partner, method="call", planned_on="2026-12-01"
    )
    niche = Niche.objects.create(practice=elm_grove, name="Jones niche")
    from tests.factories import MemberFactory, UserFactory

    member = MemberFactory(
        practice=elm_grove, user=UserFactory(email="jones.desk@example.com", last_name="Jones")
    )
    from referwell.core.jobs import ImportJob

    return {
        "nppes_job": ImportJob.objects.create(
            kind="registry.nppes", practice=elm_grove, file_name="Jones-npidata.csv"
        ),
        "restore_job": ImportJob.objects.create(
            kind="interop.restore", practice=elm_grove, file_name="Jones-export.zip"
        ),
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


def app_patterns():
    for route, pattern in walk(get_resolver().url_patterns):
        if route.startswith(EXEMPT_PREFIXES):
            continue
        yield route, pattern


def test_every_page_is_known_to_the_sweep():
    names = {p.name for _, p in app_patterns()}
    unknown = names - set(OBJECTS) - PAGES_WITHOUT_ID - OTHER_PARAMS
    assert not unknown, f"add these views to the tenancy sweep: {sorted(unknown)}"


def test_charlie_gets_404_for_every_page_about_alices_objects(charlie_http, alice_objects, alice):
    checked = 0
    for _route, pattern in app_patterns():
        if pattern.name not in OBJECTS:
            continue
        from django.urls import reverse

        obj = alice_objects[OBJECTS[pattern.name]]
        url = reverse(pattern.name, kwargs={"pk": obj.pk})
        for method in ("get", "post"):
            response = getattr(charlie_http, method)(url)
            assert response.status_code in (404, 405), (method, url, response.status_code)
            if response.status_code == 405:
                continue
            checked += 1
            assert alice_objects["client"].last_name.encode() not in response.content
    assert checked >= len(OBJECTS)


OPERATOR_PAGES = {"registry_import", "practice_restore"}


def test_charlie_sees_none_of_alices_data_on_pages_without_id(charlie_http, alice_objects):
    from django.urls import reverse

    for name in PAGES_WITHOUT_ID:
        response = charlie_http.get(reverse(name))
        # On a server of two practices, the pages that change what all share are the
        # operator's (accounts/operators.py): 403 to an owner, with nothing of Alice's either.
        assert response.status_code == (403 if name in OPERATOR_PAGES else 200), name
        body = response.content.decode()
        assert "Jones" not in body, name
        assert "Dana Spine" not in body, name


def test_charlie_cannot_point_his_forms_at_alices_objects(charlie_http, charlie, alice_objects):
    from django.urls import reverse

    from referwell.referrals.models import Referral

    response = charlie_http.post(
        reverse("referral_create"),
        {
            "direction": "out",
            "client": alice_objects["client"].pk,
            "partner": alice_objects["partner"].pk,
            "reasons": "stealing",
        },
    )
    assert response.status_code == 200  # the form again, with errors
    assert b"Select a valid choice" in response.content
    assert not Referral.objects.filter(practice=charlie.practice).exists()
    # Pre-filling the form with alice's ids is a 404, not a leak of her client's name.
    url = reverse("referral_create") + f"?client={alice_objects['client'].pk}"
    assert charlie_http.get(url).status_code == 404


def test_charlie_gets_404_for_alices_waiting_business_card_import(
    alice_http, charlie_http, alice_objects, settings, tmp_path
):
    """The import's pages name the upload by a signed address, not an id: alice's is a 404 to
    charlie (preview, import, cancel), and her cards wait for her."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from referwell.directory.models import Partner

    settings.VAR_DIR = tmp_path
    card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jones Card\r\nEND:VCARD\r\n"
    upload = alice_http.post(
        reverse("partner_import"), {"files": [SimpleUploadedFile("c.vcf", card)]}
    )
    token = upload["Location"].rstrip("/").rsplit("/", 1)[-1]
    preview = charlie_http.get(reverse("partner_import_preview", args=[token]))
    assert preview.status_code == 404 and b"Jones" not in preview.content
    for name in ("partner_import_confirm", "partner_import_cancel"):
        response = charlie_http.post(reverse(name, args=[token]), {"pick": ["1-1"]})
        assert response.status_code == 404, name
    assert not Partner.objects.filter(name="Jones Card").exists()
    assert alice_http.get(reverse("partner_import_preview", args=[token])).status_code == 200


def api_routes():
    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        for method in methods:
            yield path, method


API_OBJECTS = {
    "partner_id": "partner",
    "client_id": "client",
    "referral_id": "referral",
    "consent_id": "consent",
}
API_BODIES = {
    "patch": {},
    "post": {"to": "sent", "note": "", "scope": "talk", "text": "report"},
}


def test_every_api_route_with_an_id_answers_404_to_charlie(charlie_api, alice_objects):
    checked = 0
    for path, method in api_routes():
        params = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        if not params:
            continue
        assert all(p in API_OBJECTS for p in params), f"add {params} to the tenancy sweep"
        url = path
        for p in params:
            url = url.replace("{" + p + "}", str(alice_objects[API_OBJECTS[p]].pk))
        kwargs = {}
        if method in API_BODIES:
            kwargs = {"data": json.dumps(API_BODIES[method]), "content_type": "application/json"}
        response = getattr(charlie_api, method)(url, **kwargs)
        assert response.status_code == 404, (method, url, response.status_code, response.content)
        checked += 1
    assert checked >= 7


def test_api_lists_show_charlie_only_his_own(charlie_api, charlie, alice_objects):
    PartnerFactory(practice=charlie.practice, name="Charlie's own PT")
    ClientFactory(practice=charlie.practice, last_name="Charlieson")
    for path in ("/api/v1/partners", "/api/v1/clients", "/api/v1/referrals"):
        response = charlie_api.get(path)
        assert response.status_code == 200
        body = response.content.decode()
        assert "Jones" not in body and "Dana Spine" not in body
    names = [p["name"] for p in charlie_api.get("/api/v1/partners").json()["items"]]
    assert names == ["Charlie's own PT"]


def test_api_refuses_alices_ids_in_charlies_bodies(charlie_api, alice_objects):
    response = charlie_api.post(
        "/api/v1/referrals",
        data=json.dumps(
            {"client": alice_objects["client"].pk, "reasons": "x", "profession": "chiropractor"}
        ),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "client" in response.json()["detail"]
