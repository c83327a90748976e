"""What is kept of a practice's data while its data version holds (referwell.accounts.kept)."""

import pickle

import pytest
from django.core.cache import cache

from referwell.accounts.kept import Kept, forget_all
from referwell.core.selectors import dashboard_summary
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db


def test_kept_in_the_process_then_in_the_shared_cache_then_made(elm_grove, other_practice):
    made = []

    def make():
        made.append(1)
        return {"n": len(made)}

    kept = Kept("test-counter")
    assert kept.get(practice_id=elm_grove.pk, parts="a", make=make) == {"n": 1}
    assert kept.get(practice_id=elm_grove.pk, parts="a", make=make) == {"n": 1}  # process
    forget_all()
    assert kept.get(practice_id=elm_grove.pk, parts="a", make=make) == {"n": 1}  # shared
    assert kept.get(practice_id=elm_grove.pk, parts="b", make=make) == {"n": 2}  # other parts
    assert kept.get(practice_id=other_practice.pk, parts="b", make=make) == {"n": 3}
    cache.clear()
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
