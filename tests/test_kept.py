"""What is kept of a practice's data while its data version holds (referwell.accounts.kept)."""

import pickle

import pytest
from django.core.cache import caches

from referwell.accounts.kept import Kept, forget_all
from referwell.site.selectors import dashboard_summary
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db


def test_kept_in_the_process_then_in_the_shared_cache_then_made(elm_grove, other_practice):
    made = []

    def make():
        made.append(1)
        return {"n": len(made)}

    kept = Kept("test-counter", reads=("directory.Partner",))
    assert kept.get(practice_id=elm_grove.pk, parts="a", make=make) == {"n": 1}
    assert kept.get(practice_id=elm_grove.pk, parts="a", make=make) == {"n": 1}  # process
    forget_all()
    assert kept.get(practice_id=elm_grove.pk, parts="a", make=make) == {"n": 1}  # shared
    assert kept.get(practice_id=elm_grove.pk, parts="b", make=make) == {"n": 2}  # other parts
    assert kept.get(practice_id=other_practice.pk, parts="b", make=make) == {"n": 3}
    caches["kept"].clear()
    forget_all()
    assert kept.get(practice_id=elm_grove.pk, parts="b", make=make) == {"n": 4}


def test_the_dashboard_is_kept_until_a_change_and_holds_no_clinical_text(
    elm_grove, client_alice_jones, partner, django_assert_num_queries
):
    ReferralFactory(
        practice=elm_grove, client=client_alice_jones, partner=partner, reasons="SECRET-REASON"
    )
    first = dashboard_summary(practice=elm_grove)
    assert [r.client for r in first["open_out"]] == ["Alice Jones"]
    with django_assert_num_queries(1):  # the data version
        assert dashboard_summary(practice=elm_grove) == first
    assert b"SECRET-REASON" not in pickle.dumps(first)
    ReferralFactory(practice=elm_grove, client=client_alice_jones, partner=partner)
    assert len(dashboard_summary(practice=elm_grove)["open_out"]) == 2  # at once


def test_list_results_are_kept_until_a_change(alice_http, elm_grove, partner, client_alice_jones):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from tests.factories import PartnerFactory

    url = reverse("partner_list") + "?stage=trusted"
    first = alice_http.get(url)
    assert partner.name.encode() in first.content
    with CaptureQueriesContext(connection) as queries:
        again = alice_http.get(url)

    def results(page):
        return page.content.split(b'id="results"')[1].split(b"</table>")[0]

    assert results(again) == results(first)
    assert not [q for q in queries.captured_queries if "directory_partner" in q["sql"]]
    PartnerFactory(practice=elm_grove, name="Newly Trusted", stage="trusted")
    assert b"Newly Trusted" in alice_http.get(url).content  # at once
    fragment = alice_http.get(url, headers={"HX-Request": "true"})
    assert fragment.content.strip().startswith(b'<div id="results"')
    assert b"<html" not in fragment.content
    ReferralFactory(practice=elm_grove, client=client_alice_jones, partner=partner)
    referrals = alice_http.get(reverse("referral_list")).content
    assert (
        b"Alice Jones" in referrals
        and b"csrfmiddlewaretoken" not in referrals.split(b'id="results"')[1].split(b"</div>")[0]
    )
