import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse

from referwell.audit.models import AuditEntry
from referwell.clients.models import Client, Consent, Visit
from referwell.directory.models import Partner, Touchpoint
from referwell.referrals.models import Referral
from tests.factories import ClientFactory, PartnerFactory, ReferralFactory, VisitFactory

pytestmark = pytest.mark.django_db

LIST_PAGES = ["dashboard", "partner_list", "client_list", "referral_list"]
FORM_PAGES = ["partner_create", "client_create", "referral_create"]


@pytest.mark.parametrize("name", LIST_PAGES + FORM_PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(name):
    response = HttpClient().get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", LIST_PAGES + FORM_PAGES)
def test_every_page_renders_for_alice(alice_http, referral, name):
    assert alice_http.get(reverse(name)).status_code == 200


def test_login_with_email_and_password(alice):
    http = HttpClient()
    response = http.post(
        reverse("login"), {"username": "alice@example.com", "password": "password"}
    )
    assert response.status_code == 302
    assert http.get(reverse("dashboard")).status_code == 200
    bad = HttpClient().post(reverse("login"), {"username": "alice@example.com", "password": "nope"})
    assert bad.status_code == 200
    assert b"correct" in bad.content  # "Please enter a correct e-mail address and password"


def test_password_reset_sends_an_email_and_reveals_nothing(alice):
    http = HttpClient()
    response = http.post(reverse("password_reset"), {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body
    # An unknown address leads to the very same page, and no mail.
    response = http.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1


def test_add_a_partner_through_the_form(alice_http, alice):
    response = alice_http.post(
        reverse("partner_create"),
        {
            "name": "Dr. Kim Adjust",
            "professions": ["chiropractor"],
            "zip_code": "53045",
            "stage": "met",
            "website": "kimadjust.example",
        },
    )
    partner = Partner.objects.get(name="Dr. Kim Adjust")
    assert response.status_code == 302
    assert response["Location"] == reverse("partner_detail", args=[partner.pk])
    assert partner.practice == alice.practice
    assert partner.latitude is not None
    assert partner.website == "https://kimadjust.example"
    assert AuditEntry.objects.filter(
        action="referwell.partner.created", object_id=str(partner.pk), actor=alice.user
    ).exists()


def test_partner_form_errors_keep_what_was_typed(alice_http):
    response = alice_http.post(
        reverse("partner_create"),
        {"name": "Dr. Typo", "zip_code": "00000", "stage": "not_a_fit", "npi": "12"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "not a US ZIP code" in body
    assert "exactly 10 digits" in body
    assert "Say why this partner is not a fit" in body
    assert 'value="Dr. Typo"' in body
    assert not Partner.objects.filter(name="Dr. Typo").exists()


def test_partner_list_filters_and_htmx_fragment(alice_http, elm_grove):
    PartnerFactory(practice=elm_grove, name="Ann Chiro", professions=["chiropractor"])
    PartnerFactory(practice=elm_grove, name="Pat Therapist", professions=["physical-therapist"])
    far = PartnerFactory(practice=elm_grove, name="Far Away PT", professions=["physical-therapist"])
    far.zip_code, far.latitude, far.longitude = "10001", 40.75, -73.99
    far.save()
    response = alice_http.get(reverse("partner_list"), {"profession": "physical-therapist"})
    assert b"Pat Therapist" in response.content and b"Ann Chiro" not in response.content
    near = alice_http.get(reverse("partner_list"), {"near_zip": "53122", "miles": "25"})
    assert b"Pat Therapist" in near.content and b"Far Away PT" not in near.content
    fragment = alice_http.get(reverse("partner_list"), {"q": "ann"}, headers={"HX-Request": "true"})
    assert b"Ann Chiro" in fragment.content
    assert b"<html" not in fragment.content and b'id="results"' in fragment.content


def test_partner_list_is_paged_by_name_and_keeps_its_filters(alice_http, elm_grove):
    from referwell.directory.selectors import PARTNER_PAGE_SIZE

    for n in range(PARTNER_PAGE_SIZE + 7):
        PartnerFactory(practice=elm_grove, name=f"Chiro {n:03d}", professions=["chiropractor"])
    PartnerFactory(practice=elm_grove, name="Aaron PT", professions=["physical-therapist"])
    first = alice_http.get(reverse("partner_list"), {"profession": "chiropractor"})
    body = first.content.decode()
    assert f"{PARTNER_PAGE_SIZE + 7} partners · 1–{PARTNER_PAGE_SIZE} here" in body
    assert "Chiro 000" in body and f"Chiro {PARTNER_PAGE_SIZE - 1:03d}" in body
    assert f"Chiro {PARTNER_PAGE_SIZE:03d}" not in body and "Aaron PT" not in body
    assert "?profession=chiropractor&amp;page=2" in body  # the filter stays on the next page
    second = alice_http.get(reverse("partner_list"), {"profession": "chiropractor", "page": 2})
    names = [f"Chiro {n:03d}" for n in range(PARTNER_PAGE_SIZE, PARTNER_PAGE_SIZE + 7)]
    assert all(name in second.content.decode() for name in names)
    assert "Chiro 000" not in second.content.decode()
    beyond = alice_http.get(reverse("partner_list"), {"page": "999"})  # the last page
    assert beyond.status_code == 200 and b"Chiro 056" in beyond.content


def test_referral_list_is_paged_newest_first_and_keeps_its_filters(
    alice_http, elm_grove, client_alice_jones, partner
):
    import datetime as dt

    from django.utils import timezone

    from referwell.referrals.views import REFERRAL_PAGE_SIZE

    start = timezone.now() - dt.timedelta(days=200)
    for n in range(REFERRAL_PAGE_SIZE + 3):
        r = ReferralFactory(
            practice=elm_grove, client=client_alice_jones, partner=partner, direction="out"
        )
        Referral.objects.filter(pk=r.pk).update(created_at=start + dt.timedelta(days=n))
    ReferralFactory(practice=elm_grove, client=client_alice_jones, partner=partner, direction="in")
    first = alice_http.get(reverse("referral_list"), {"direction": "out"})
    body = first.content.decode()
    total = REFERRAL_PAGE_SIZE + 3
    assert f"{total} referrals · newest first, 1–{REFERRAL_PAGE_SIZE} here" in body
    assert "?direction=out&amp;page=2" in body
    second = alice_http.get(reverse("referral_list"), {"direction": "out", "page": 2})
    oldest = Referral.objects.filter(direction="out").order_by("created_at")[:3]
    assert all(f"/referrals/{r.pk}/" in second.content.decode() for r in oldest)
    assert f"/referrals/{oldest[0].pk}/" not in body


def test_log_a_touchpoint_with_htmx(alice_http, partner):
    response = alice_http.post(
        reverse("touchpoint_add", args=[partner.pk]),
        {"kind": "thank_you", "date": "2026-11-20", "note": "Card and two business cards"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert b"Card and two business cards" in response.content
    assert b"<html" not in response.content
    assert Touchpoint.objects.filter(partner=partner, kind="thank_you").count() == 1


def test_add_a_client_record_a_visit_and_a_consent(alice_http, partner):
    response = alice_http.post(
        reverse("client_create"),
        {
            "first_name": "Maria",
            "last_name": "Lopez",
            "stream": "medical",
            "source_partner": partner.pk,
        },
    )
    client = Client.objects.get(last_name="Lopez")
    assert response["Location"] == reverse("client_detail", args=[client.pk])
    alice_http.post(
        reverse("visit_add", args=[client.pk]),
        {"date": "2026-11-02", "service": "Massage, 60 minutes", "fee": "95.00"},
    )
    assert Visit.objects.get(client=client).fee == 95
    client.refresh_from_db()
    assert str(client.first_seen) == "2026-11-02"
    alice_http.post(
        reverse("consent_add", args=[client.pk]),
        {"partner": partner.pk, "scope": "report", "given_on": "2026-11-02", "how": "noted"},
    )
    consent = Consent.objects.get(client=client)
    alice_http.post(reverse("consent_revoke", args=[consent.pk]))
    consent.refresh_from_db()
    assert consent.revoked_at is not None
    assert AuditEntry.objects.filter(action="referwell.consent.revoked").exists()


def test_medical_stream_requires_the_referring_professional(alice_http):
    response = alice_http.post(
        reverse("client_create"), {"first_name": "No", "last_name": "Source", "stream": "medical"}
    )
    assert response.status_code == 200
    assert b"Which professional sent this client?" in response.content


def test_a_negative_fee_is_refused(alice_http, client_alice_jones):
    response = alice_http.post(
        reverse("visit_add", args=[client_alice_jones.pk]),
        {"date": "2026-11-02", "service": "Massage", "fee": "-5"},
    )
    assert response.status_code == 400
    assert b"cannot be negative" in response.content
    assert not Visit.objects.filter(client=client_alice_jones).exists()


def test_create_and_send_a_referral(alice_http, client_alice_jones, partner):
    response = alice_http.post(
        reverse("referral_create"),
        {
            "direction": "out",
            "client": client_alice_jones.pk,
            "partner": partner.pk,
            "reasons": "Whiplash",
        },
    )
    referral = Referral.objects.get(client=client_alice_jones)
    assert response["Location"] == reverse("referral_detail", args=[referral.pk])
    # Without the client's consent it cannot move on.
    page = alice_http.post(
        reverse("referral_transition", args=[referral.pk]), {"to": "consented"}, follow=True
    )
    assert b"has not given consent" in page.content
    alice_http.post(
        reverse("consent_add", args=[client_alice_jones.pk]),
        # A referral letter is written: a consent to talk would not send it.
        {"partner": partner.pk, "scope": "report", "given_on": "2026-01-01", "how": "noted"},
    )
    alice_http.post(reverse("referral_transition", args=[referral.pk]), {"to": "consented"})
    alice_http.post(reverse("referral_send", args=[referral.pk]))
    referral.refresh_from_db()
    assert referral.status == "sent" and referral.sent_at is not None
    page = alice_http.get(reverse("referral_detail", args=[referral.pk]))
    assert page.content.count(b"Draft") >= 1 and b"Sent" in page.content
    assert b"Referral letter" in page.content  # the disclosure


def test_an_illegal_move_is_refused_with_a_message(alice_http, referral):
    response = alice_http.post(
        reverse("referral_transition", args=[referral.pk]), {"to": "closed"}, follow=True
    )
    referral.refresh_from_db()
    assert referral.status == "draft"
    assert b"Choose one of the next steps" in response.content


def test_front_desk_sees_contact_details_but_not_the_intake(bob_http, client_alice_jones):
    client_alice_jones.phone = "262-555-0142"
    client_alice_jones.save()
    page = bob_http.get(reverse("client_detail", args=[client_alice_jones.pk])).content.decode()
    assert "262-555-0142" in page
    assert "rear-ended" not in page
    form = bob_http.get(reverse("client_edit", args=[client_alice_jones.pk])).content.decode()
    assert 'name="complaints"' not in form


def test_front_desk_edit_keeps_the_intake(bob_http, client_alice_jones):
    bob_http.post(
        reverse("client_edit", args=[client_alice_jones.pk]),
        {"first_name": "Alice", "last_name": "Jones", "phone": "414-555-0100"},
    )
    client_alice_jones.refresh_from_db()
    assert client_alice_jones.phone == "414-555-0100"
    assert "rear-ended" in client_alice_jones.complaints


def test_viewing_a_client_is_audited(alice_http, alice, client_alice_jones):
    alice_http.get(reverse("client_detail", args=[client_alice_jones.pk]))
    entry = AuditEntry.objects.get(action="referwell.client.viewed")
    assert entry.actor == alice.user and entry.object_id == str(client_alice_jones.pk)


def _grow(practice, n):
    for i in range(n):
        partner = PartnerFactory(practice=practice, professions=["chiropractor", "podiatrist"])
        client = ClientFactory(practice=practice, source_partner=partner, stream="medical")
        VisitFactory(client=client)
        ReferralFactory(practice=practice, client=client, partner=partner)
        Touchpoint.objects.create(
            practice=practice, partner=partner, kind="call", date=f"2026-01-0{i % 9 + 1}"
        )


@pytest.mark.parametrize("name", LIST_PAGES)
def test_query_count_does_not_grow_with_the_data(
    alice_http, elm_grove, name, django_assert_max_num_queries
):
    _grow(elm_grove, 3)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert alice_http.get(reverse(name)).status_code == 200
    _grow(elm_grove, 15)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert alice_http.get(reverse(name)).status_code == 200


def test_detail_pages_have_a_fixed_query_budget(
    alice_http, elm_grove, django_assert_max_num_queries
):
    _grow(elm_grove, 10)
    partner = Partner.objects.filter(practice=elm_grove).first()
    client = Client.objects.filter(practice=elm_grove).first()
    referral = Referral.objects.filter(practice=elm_grove).first()
    for url in (
        reverse("partner_detail", args=[partner.pk]),
        reverse("client_detail", args=[client.pk]),
        reverse("referral_detail", args=[referral.pk]),
    ):
        # 20, plus 4 for login security: the session renewed on every request (idle timeout;
        # savepoint, update, release) and the two-factor check of TwoFactorMiddleware.
        with django_assert_max_num_queries(24):
            assert alice_http.get(url).status_code == 200


def test_health_check():
    response = HttpClient().get("/health/")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_owner_edits_the_practice_and_its_public_page_shows_it(alice_http, elm_grove):
    response = alice_http.post(
        reverse("practice_settings"),
        {
            "name": "Elm Grove Massage",
            "zip_code": "53122",
            "modalities": "Swedish, deep tissue",
            "treats": "Neck and back pain, sports recovery",
            "does_not_treat": "Acute injuries in the first 72 hours",
            "no_response_business_days": "7",
            "state": "wi",
            "paper_size": "a4",
        },
    )
    assert response.status_code == 302
    elm_grove.refresh_from_db()
    assert elm_grove.no_response_business_days == 7 and elm_grove.state == "WI"
    assert elm_grove.paper_size == "a4"  # the letters' PDFs follow it
    public = HttpClient().get(reverse("refer_practice", args=["elm-grove"])).content.decode()
    assert "Neck and back pain, sports recovery" in public
    assert AuditEntry.objects.filter(action="referwell.practice.changed").exists()


def test_practice_settings_refuse_bad_input_and_non_owners(alice_http, bob_http, charlie_http):
    bad = alice_http.post(
        reverse("practice_settings"),
        {"name": "", "zip_code": "00000", "no_response_business_days": "0"},
    )
    assert bad.status_code == 200
    assert b"not a US ZIP code" in bad.content and b"between 1 and 60" in bad.content
    assert bob_http.get(reverse("practice_settings")).status_code == 403
    assert b"Elm Grove" not in charlie_http.get(reverse("practice_settings")).content


def test_a_consent_is_recorded_on_its_own_page(alice_http, client_alice_jones, partner):
    """The client's page links to it; the list of every partner comes with the form only."""
    detail = alice_http.get(reverse("client_detail", args=[client_alice_jones.pk]))
    url = reverse("consent_add", args=[client_alice_jones.pk])
    assert url.encode() in detail.content and b'name="partner"' not in detail.content
    page = alice_http.get(url)
    assert page.status_code == 200
    assert f'<option value="{partner.pk}">{partner.name}</option>'.encode() in page.content
    refused = alice_http.post(url, {"scope": "talk", "given_on": "2026-01-02", "how": "noted"})
    assert refused.status_code == 400
    assert b"Name the partner, or the kind of professional, the client" in refused.content
    assert b"Constraint" not in refused.content
    assert not Consent.objects.filter(client=client_alice_jones).exists()
    done = alice_http.post(
        url, {"partner": partner.pk, "scope": "talk", "given_on": "2026-01-02", "how": "noted"}
    )
    assert done["Location"] == reverse("client_detail", args=[client_alice_jones.pk]) + "#consents"
    assert Consent.objects.get(client=client_alice_jones).partner == partner


def test_the_client_page_shows_the_latest_visits_and_all_on_asking(
    alice_http, elm_grove, client_alice_jones
):
    import datetime as dt

    from referwell.clients.views import LIST_SHOWN

    first = dt.date(2025, 1, 6)
    Visit.objects.bulk_create(
        Visit(
            practice=elm_grove,
            client=client_alice_jones,
            date=first + dt.timedelta(days=7 * i),
            service=f"Visit {i:02d}",
            fee=90,
        )
        for i in range(LIST_SHOWN + 5)
    )
    url = reverse("client_detail", args=[client_alice_jones.pk])
    page = alice_http.get(url).content.decode()
    assert f"Visits ({LIST_SHOWN + 5})" in page
    assert f"Visit {LIST_SHOWN + 4:02d}" in page and "Visit 04" not in page  # newest first
    assert f"All {LIST_SHOWN + 5} visits" in page
    everything = alice_http.get(url + "?visits=all").content.decode()
    assert "Visit 00" in everything and "All 25 visits" not in everything


def test_the_client_page_shows_the_latest_referrals_and_consents_and_all_on_asking(
    alice_http, elm_grove, client_alice_jones
):
    """A long history does not make the page longer: 20 of each list, the rest on asking."""
    import datetime as dt

    from referwell.clients.views import LIST_SHOWN

    many = LIST_SHOWN + 3
    partners = [PartnerFactory(practice=elm_grove, name=f"Partner {i:02d}") for i in range(many)]
    for i, partner in enumerate(partners):
        ReferralFactory(practice=elm_grove, client=client_alice_jones, partner=partner)
        Consent.objects.create(
            practice=elm_grove,
            client=client_alice_jones,
            partner=partner,
            scope="talk",
            given_on=dt.date(2025, 1, 1) + dt.timedelta(days=i),
        )
    url = reverse("client_detail", args=[client_alice_jones.pk])
    page = alice_http.get(url).content.decode()
    assert page.count(">To Partner ") == LIST_SHOWN  # the newest referrals
    assert page.count("with <strong>Partner ") == LIST_SHOWN  # the newest consents
    assert "All referrals" in page and "All consents" in page
    assert f"Partner {many - 1:02d}" in page
    everything = alice_http.get(url + "?referrals=all&consents=all").content.decode()
    assert everything.count(">To Partner ") == many
    assert everything.count("with <strong>Partner ") == many
    assert "All referrals" not in everything and "All consents" not in everything


def test_the_client_page_shows_the_latest_disclosures_and_all_on_asking(
    alice_http, elm_grove, client_alice_jones
):
    from referwell.audit.models import Disclosure
    from referwell.clients.views import LIST_SHOWN

    many = LIST_SHOWN + 2
    for i in range(many):
        Disclosure.objects.create(
            practice=elm_grove,
            client=client_alice_jones,
            recipient=f"Recipient {i:02d}",
            channel="email",
            what="Referral letter",
        )
    url = reverse("client_detail", args=[client_alice_jones.pk])
    page = alice_http.get(url).content.decode()
    assert page.count("Referral letter to Recipient ") == LIST_SHOWN
    assert f"Recipient {many - 1:02d}" in page and "Recipient 00" not in page  # newest first
    assert "All disclosures" in page
    everything = alice_http.get(url + "?disclosures=all").content.decode()
    assert everything.count("Referral letter to Recipient ") == many
    assert "All disclosures" not in everything


def test_the_visit_form_is_blank_on_every_client_page_and_shows_its_errors(
    alice_http, elm_grove, client_alice_jones
):
    """The empty form's fields are rendered once a day; a rejected visit shows its own."""
    from django.utils import timezone

    url = reverse("client_detail", args=[client_alice_jones.pk])
    other = ClientFactory(practice=elm_grove)
    for page in (alice_http.get(url), alice_http.get(reverse("client_detail", args=[other.pk]))):
        html = page.content.decode()
        assert f'value="{timezone.localdate():%Y-%m-%d}"' in html and 'value="95.00"' in html
        assert "csrfmiddlewaretoken" in html
    rejected = alice_http.post(
        reverse("visit_add", args=[client_alice_jones.pk]),
        {"date": "2026-11-02", "service": "Massage", "fee": "-5"},
    )
    assert rejected.status_code == 400
    html = rejected.content.decode()
    assert "A fee cannot be negative." in html and 'value="-5"' in html
    assert "<details open>" in html
    again = alice_http.get(url).content.decode()
    assert "A fee cannot be negative." not in again and 'value="95.00"' in again
