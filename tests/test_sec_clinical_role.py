"""Issue #20, items 2, 8 and 9: clinical work is for the clinical roles, in the pages and the
API alike; the front desk writes no clinical text it cannot read back; one rule for who sees
the accounting of disclosures; opening the partner's link is not an answer."""

import json

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from referwell.accounts.models import Role
from referwell.audit.models import Channel
from referwell.audit.services import disclosure_record
from referwell.clients.models import Consent, ConsentScope
from referwell.outreach.models import OutgoingMessage
from referwell.referrals.models import Direction, Referral, ReferralEvent, ReferralLink
from referwell.referrals.services import referral_send, referral_transition
from referwell.referrals.states import Status
from tests.conftest import _api_client, _logged_in
from tests.factories import MemberFactory, ReferralFactory

pytestmark = pytest.mark.django_db

RECIPIENT = "DISCLOSEDTO Dr. Dana Spine"


@pytest.fixture
def desk(elm_grove):
    return MemberFactory(practice=elm_grove, role=Role.FRONT_DESK)


@pytest.fixture
def therapist(elm_grove):
    return MemberFactory(practice=elm_grove, role=Role.THERAPIST)


@pytest.fixture
def world(elm_grove, alice, partner, client_alice_jones):
    """A referral out that was sent (with its live link), a referral in whose report may go,
    a letter, and a disclosure with a recognisable recipient."""
    out = ReferralFactory(practice=elm_grove, client=client_alice_jones, partner=partner)
    Consent.objects.create(
        practice=elm_grove, client=client_alice_jones, partner=partner, scope=ConsentScope.REPORT
    )
    referral_transition(referral=out, to=Status.CONSENTED, by=alice.user)
    sent = referral_send(referral=out, by=alice.user, base_url="http://testserver/")
    out.refresh_from_db()
    consented = ReferralFactory(practice=elm_grove, client=client_alice_jones, partner=partner)
    referral_transition(referral=consented, to=Status.CONSENTED, by=alice.user)
    consented.refresh_from_db()
    incoming = ReferralFactory(
        practice=elm_grove,
        client=client_alice_jones,
        partner=partner,
        direction=Direction.IN,
        status=Status.SEEN,
    )
    disclosure_record(
        client=client_alice_jones,
        recipient=RECIPIENT,
        channel=Channel.EMAIL,
        what="Referral letter",
        by=alice.user,
        referral=out,
    )
    return {
        "out": out,
        "consented": consented,
        "in": incoming,
        "client": client_alice_jones,
        "message": OutgoingMessage.objects.filter(referral=out).first(),
        "link_path": sent["url"].replace("http://testserver", ""),
    }


# (method, url name, object) of every page that shows clinical text whole or sends it.
CLINICAL_PAGES = [
    ("get", "referral_create", None),
    ("post", "referral_create", None),
    ("post", "referral_send", "consented"),
    ("post", "referral_link_new", "out"),
    ("post", "referral_link_revoke", "out"),
    ("post", "referral_report", "in"),
    ("get", "outbox_pdf", "message"),
    ("get", "client_disclosures", "client"),
]

# (method, path, body) of every API operation that does the same.
CLINICAL_API = [
    ("post", "/api/v1/referrals/{consented}/send", None),
    ("post", "/api/v1/referrals/{out}/link", None),
    ("delete", "/api/v1/referrals/{out}/link", None),
    ("post", "/api/v1/referrals/{in}/report", {"text": "Six sessions, better."}),
    ("post", "/api/v1/referrals/{consented}/transitions", {"to": "sent"}),
    ("post", "/api/v1/referrals/{in}/transitions", {"to": "reported"}),
    ("post", "/api/v1/guidance/suggest", {"notes": "neck pain"}),
    ("get", "/api/v1/clients/{client}/disclosures", None),
]


def _page_url(name, obj, world):
    return reverse(name, args=[world[obj].pk]) if obj else reverse(name)


def _api_call(api, method, path, body, world):
    url = path.format(**{name: getattr(obj, "pk", None) for name, obj in world.items()})
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body else {}
    return getattr(api, method)(url, **kwargs)


# --- item 2: one rule for clinical work -------------------------------------------------------


@pytest.mark.parametrize(("method", "name", "obj"), CLINICAL_PAGES)
def test_the_front_desk_gets_403_on_each_clinical_page(desk, world, method, name, obj):
    links_before = list(ReferralLink.objects.values_list("pk", "revoked_at"))
    response = getattr(_logged_in(desk), method)(_page_url(name, obj, world))
    assert response.status_code == 403
    assert list(ReferralLink.objects.values_list("pk", "revoked_at")) == links_before
    world["consented"].refresh_from_db()
    assert world["consented"].status == Status.CONSENTED


@pytest.mark.parametrize(("method", "path", "body"), CLINICAL_API)
def test_the_front_desk_gets_403_on_each_clinical_api_operation(desk, world, method, path, body):
    links_before = list(ReferralLink.objects.values_list("pk", "revoked_at"))
    response = _api_call(_api_client(desk), method, path, body, world)
    assert response.status_code == 403, response.content
    assert response.json()["detail"]  # with its reason
    assert list(ReferralLink.objects.values_list("pk", "revoked_at")) == links_before
    for key in ("consented", "in"):
        before = world[key].status
        world[key].refresh_from_db()
        assert world[key].status == before


def test_a_therapist_still_mints_and_revokes_the_link(therapist, world):
    api = _api_client(therapist)
    minted = api.post(f"/api/v1/referrals/{world['out'].pk}/link")
    assert minted.status_code == 201 and "/l/" in minted.json()["link"]
    assert api.delete(f"/api/v1/referrals/{world['out'].pk}/link").status_code == 204
    http = _logged_in(therapist)
    assert http.post(reverse("referral_link_new", args=[world["out"].pk])).status_code == 302
    assert http.get(reverse("client_disclosures", args=[world["client"].pk])).status_code == 200


@pytest.mark.parametrize(("method", "name", "obj"), [p for p in CLINICAL_PAGES if p[2]])
def test_another_practice_gets_404_on_each_clinical_page(charlie, world, method, name, obj):
    response = getattr(_logged_in(charlie), method)(reverse(name, args=[world[obj].pk]))
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "path", "body"), [a for a in CLINICAL_API if "{" in a[1]])
def test_another_practice_gets_404_on_each_clinical_api_operation(
    charlie, world, method, path, body
):
    response = _api_call(_api_client(charlie), method, path, body, world)
    assert response.status_code == 404, response.content


def test_the_front_desk_sees_no_button_for_clinical_work(desk, world):
    http = _logged_in(desk)
    page = http.get(reverse("referral_detail", args=[world["out"].pk])).content.decode()
    assert reverse("referral_link_new", args=[world["out"].pk]) not in page
    assert reverse("referral_link_revoke", args=[world["out"].pk]) not in page
    page = http.get(reverse("referral_detail", args=[world["consented"].pk])).content.decode()
    assert reverse("referral_send", args=[world["consented"].pk]) not in page


def test_opening_the_partners_link_does_not_mark_it_received(world):
    referral, path = world["out"], world["link_path"]
    http = HttpClient()
    for _ in range(2):  # a mail scanner, then the partner
        assert http.get(path).status_code == 200
    referral.refresh_from_db()
    assert referral.status == Status.SENT
    assert b'value="received"' in http.get(path).content
    assert http.post(path, {"action": "received"}).status_code == 302
    referral.refresh_from_db()
    assert referral.status == Status.RECEIVED
    assert http.post(path, {"action": "accept"}).status_code == 302
    referral.refresh_from_db()
    assert referral.status == Status.ACCEPTED


def test_the_partners_first_answer_marks_it_received_on_the_way(world):
    referral, path = world["out"], world["link_path"]
    Referral.objects.filter(pk=referral.pk).update(status=Status.NO_RESPONSE)
    http = HttpClient()
    http.get(path)
    referral.refresh_from_db()
    assert referral.status == Status.NO_RESPONSE
    http.post(path, {"action": "accept"})
    referral.refresh_from_db()
    assert referral.status == Status.ACCEPTED
    moves = list(referral.events.order_by("pk").values_list("to_status", flat=True))
    assert moves[-2:] == [Status.RECEIVED, Status.ACCEPTED]


# --- item 8: the front desk writes no clinical text -----------------------------------------


def test_the_front_desk_writes_no_referral_reasons(desk, world):
    """A referral's reasons are required and clinical: the desk neither sees the form nor
    creates one through it (the API refuses its `reasons` too)."""
    http = _logged_in(desk)
    form = http.get(reverse("referral_create") + "?reasons=DESKREASON")
    assert form.status_code == 403 and b'name="reasons"' not in form.content
    response = http.post(
        reverse("referral_create"),
        {
            "direction": "out",
            "client": world["client"].pk,
            "profession": "chiropractor",
            "reasons": "DESKREASON",
        },
    )
    assert response.status_code == 403
    assert not Referral.objects.filter(created_by=desk.user).exists()
    page = http.get(reverse("client_detail", args=[world["client"].pk])).content.decode()
    assert reverse("referral_create") not in page


def test_the_front_desk_writes_no_timeline_note(desk, therapist, world):
    referral = world["consented"]
    url = reverse("referral_detail", args=[referral.pk])
    assert b'name="note"' in _logged_in(therapist).get(url).content
    http = _logged_in(desk)
    assert b'name="note"' not in http.get(url).content
    http.post(
        reverse("referral_transition", args=[referral.pk]),
        {"to": "cancelled", "note": "DESKNOTE", "confirm": "yes"},
    )
    referral.refresh_from_db()
    assert referral.status == Status.CANCELLED  # the desk still moves it (confirmed)
    assert not ReferralEvent.objects.filter(note__contains="DESKNOTE").exists()


def test_the_api_refuses_a_timeline_note_from_the_front_desk(desk, world):
    referral = world["consented"]
    response = _api_client(desk).post(
        f"/api/v1/referrals/{referral.pk}/transitions",
        data=json.dumps({"to": "cancelled", "note": "DESKNOTE"}),
        content_type="application/json",
    )
    assert response.status_code == 403 and "front desk" in response.json()["detail"]
    referral.refresh_from_db()
    assert referral.status == Status.CONSENTED
    assert not ReferralEvent.objects.filter(note__contains="DESKNOTE").exists()


def test_the_front_desk_records_a_visit_without_notes(desk, therapist, world):
    client = world["client"]
    url = reverse("client_detail", args=[client.pk])
    assert b'name="notes"' in _logged_in(therapist).get(url).content
    http = _logged_in(desk)
    assert b'name="notes"' not in http.get(url).content
    today = timezone.localdate().isoformat()
    response = http.post(
        reverse("visit_add", args=[client.pk]),
        {"date": today, "service": "Swedish", "fee": "95.00", "notes": "DESKVISITNOTE"},
    )
    assert response.status_code == 302
    visit = client.visits.order_by("-pk").first()
    assert visit.service == "Swedish" and visit.notes == ""


def test_the_front_desk_cannot_send_a_progress_report(desk, world):
    http = _logged_in(desk)
    page = http.get(reverse("referral_detail", args=[world["in"].pk])).content
    assert b'name="text"' not in page
    response = http.post(reverse("referral_report", args=[world["in"].pk]), {"text": "DESKREP"})
    assert response.status_code == 403
    assert not OutgoingMessage.objects.filter(kind="progress_report").exists()


# --- item 9: one rule for the accounting of disclosures --------------------------------------


def test_the_front_desk_sees_no_disclosure_on_any_route(desk, therapist, world):
    client_url = reverse("client_detail", args=[world["client"].pk])
    referral_url = reverse("referral_detail", args=[world["out"].pk])
    api_url = f"/api/v1/clients/{world['client'].pk}/disclosures"
    clinical = _logged_in(therapist)
    assert RECIPIENT.encode() in clinical.get(client_url + "?disclosures=all").content
    assert RECIPIENT.encode() in clinical.get(referral_url).content
    assert RECIPIENT in _api_client(therapist).get(api_url).content.decode()

    http = _logged_in(desk)
    for url in (client_url, client_url + "?disclosures=all", referral_url):
        response = http.get(url)
        assert response.status_code == 200 and RECIPIENT.encode() not in response.content, url
    assert http.get(reverse("client_disclosures", args=[world["client"].pk])).status_code == 403
    response = _api_client(desk).get(api_url)
    assert response.status_code == 403 and RECIPIENT not in response.content.decode()


def test_the_disclosure_rule_is_one_function(desk, therapist, alice):
    assert [m.sees_disclosures for m in (desk, therapist, alice)] == [False, True, True]
