"""LongSelect writes the markup Django's Select would, much faster, everything escaped."""

import re

import pytest
from django import forms

from referwell.core.widgets import LongSelect
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db

OPTION = re.compile(r'<option value="([^"]*)"( selected)?>(.*?)</option>')


def _options(html):
    return OPTION.findall(html)


def test_long_select_renders_what_select_renders(elm_grove):
    from referwell.directory.models import Partner

    PartnerFactory(practice=elm_grove, name='Dr. <b>Bold</b> & "Quoted"')
    chosen = PartnerFactory(practice=elm_grove, name="Zed Spine")
    PartnerFactory(practice=elm_grove, name="Ann Stretch")

    def form(widget):
        class F(forms.Form):
            partner = forms.ModelChoiceField(
                Partner.objects.filter(practice=elm_grove).order_by("name"), widget=widget
            )

        return F(initial={"partner": chosen.pk})

    fast = str(form(LongSelect)["partner"])
    django = str(form(forms.Select)["partner"])
    assert _options(fast) == _options(django)
    assert len(_options(fast)) == 4  # the empty choice and the three partners
    assert ("" + str(chosen.pk), " selected", "Zed Spine") in _options(fast)
    assert "<b>" not in fast and "&lt;b&gt;Bold&lt;/b&gt; &amp; &quot;Quoted&quot;" in fast
    for attribute in ('name="partner"', 'id="id_partner"', "required"):
        assert attribute in fast


def test_long_select_reads_keys_and_labels_in_one_query(elm_grove, django_assert_num_queries):
    """No model instance per option: one query for the keys and names, however many."""
    from referwell.directory.models import Partner

    for n in range(30):
        PartnerFactory(practice=elm_grove, name=f"O'Partner {n:02d}")

    class F(forms.Form):
        partner = forms.ModelChoiceField(
            Partner.objects.filter(practice=elm_grove).order_by("name"), widget=LongSelect
        )

    field = F()["partner"]
    with django_assert_num_queries(1):
        html = str(field)
    options = _options(html)
    assert len(options) == 31
    assert options[1][2] == "O&#x27;Partner 00"
