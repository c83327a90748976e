"""Choosing several by thumb: professions and niches are chips (a real checkbox in a 44 px
label) in a named group with a search box; phone numbers and e-mail addresses are links a
phone acts on (tel:, mailto:) on the partner's and the client's pages."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.template import Context, Template
from django.urls import reverse

from referwell.core.templatetags.contact_links import email_link, phone_link, tel_uri
from referwell.core.widgets import Chips
from referwell.directory.forms import PartnerForm
from referwell.directory.models import Niche, Partner
from tests.factories import ClientFactory, PartnerFactory

pytestmark = pytest.mark.django_db

CHECKBOX = re.compile(r'<input type="checkbox" name="(\w+)" value="([^"]*)"([^>]*)>')


def _checkboxes(html: str) -> list[tuple[str, str, bool]]:
    return [(name, value, " checked" in rest) for name, value, rest in CHECKBOX.findall(html)]


class Colours(forms.Form):
    colours = forms.MultipleChoiceField(
        label="Favourite colours",
        help_text="As many as you like.",
        choices=[(str(n), f"Colour <{n}>") for n in range(10)],
        widget=Chips,
    )
    few = forms.MultipleChoiceField(required=False, choices=[("a", "A"), ("b", "B")], widget=Chips)
    none = forms.MultipleChoiceField(
        required=False, choices=[], widget=Chips(empty="Nothing here yet.")
    )
    name = forms.CharField()


# --- The widget --------------------------------------------------------------------------------


def test_chips_are_real_checkboxes_each_in_its_chip():
    form = Colours(initial={"colours": ["2", "7"]})
    html = str(form["colours"])
    assert html.startswith('<div class="chips-field" id="id_colours">')
    boxes = _checkboxes(html)
    assert [v for _n, v, _c in boxes] == [str(n) for n in range(10)]
    assert {v for _n, v, checked in boxes if checked} == {"2", "7"}
    assert {n for n, _v, _c in boxes} == {"colours"}
    # Each checkbox is inside its chip, and its label says what it is, escaped.
    assert (
        '<label class="chip" for="id_colours_3"><input type="checkbox" name="colours" value="3"'
        in html
    )
    assert "<span>Colour &lt;3&gt;</span></label>" in html
    assert "<span>Colour <3>" not in html
    # "At least one" is the form's to check: no browser `required` on each box.
    assert "required" not in html


def test_the_search_box_waits_for_the_script_and_is_never_sent():
    html = str(Colours()["colours"])
    find = re.search(r'<div class="chips-find" hidden>(.*?)</div>', html, re.S)
    assert find, "a long list has a search box, hidden until app.js shows it"
    box = re.search(r'<input type="search"[^>]*>', find.group(1)).group(0)
    assert 'class="chips-filter"' in box
    assert "name=" not in box  # never part of what the form sends
    assert 'aria-controls="id_colours_chips"' in box
    assert '<label class="visually-hidden" for="id_colours_search">Search colours</label>' in (
        find.group(1)
    )
    assert '<div class="chips" id="id_colours_chips">' in html


def test_a_short_list_has_no_search_box_and_an_empty_one_says_so():
    form = Colours()
    assert "chips-filter" not in str(form["few"])
    assert len(_checkboxes(str(form["few"]))) == 2
    empty = str(form["none"])
    assert '<p class="muted">Nothing here yet.</p>' in empty
    assert _checkboxes(empty) == []


def test_the_form_draws_the_group_legend_help_and_errors_then_the_chips():
    """The labels-above template draws a group's fieldset and legend (as Django's own do):
    the chips are inside it, after the help text and the errors, with no second group."""
    form = Colours(data={"name": "x"})
    assert not form.is_valid()
    html = Template('{% include "form_fields.html" with fields=form %}').render(
        Context({"form": form})
    )
    group = re.search(r"<fieldset[^>]*>(.*?)</fieldset>", html, re.S)
    assert group, html
    inside = group.group(1)
    assert re.match(r"\s*<legend>Favourite colours:?</legend>", inside)
    order = [
        inside.index("As many as you like."),
        inside.index("This field is required."),
        inside.index('<div class="chips-field"'),
    ]
    assert order == sorted(order)
    assert "<fieldset" not in inside and "<legend>" not in inside[10:]  # no group in the group
    assert html.count("<fieldset") == html.count("<legend>") == 3  # one per chooser
    assert "Favourite colours:</label>" not in html
    for box in re.findall(r'<input type="checkbox"[^>]*>', inside):
        assert 'aria-invalid="true"' in box
    assert '<label for="id_name">Name:</label>' in html


def test_chips_search_box_names_what_it_searches():
    class Plain(forms.Form):
        body_parts = forms.MultipleChoiceField(
            choices=[(str(n), str(n)) for n in range(8)], widget=Chips
        )
        kinds = forms.MultipleChoiceField(
            choices=[(str(n), str(n)) for n in range(8)], widget=Chips(noun="sorts")
        )
        short = forms.MultipleChoiceField(
            choices=[(str(n), str(n)) for n in range(8)], widget=Chips(search_from=20)
        )

    form = Plain()
    assert 'placeholder="Search body parts"' in str(form["body_parts"])
    assert 'placeholder="Search sorts"' in str(form["kinds"])
    assert "chips-filter" not in str(form["short"])


def test_chips_send_what_was_ticked():
    form = Colours(data={"colours": ["1", "9"], "name": "x"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["colours"] == ["1", "9"]


# --- The partner form ------------------------------------------------------------------------


def test_the_partner_form_chooses_professions_and_niches_with_chips(elm_grove):
    Niche.objects.create(practice=elm_grove, name="Endurance runners")
    form = PartnerForm(practice=elm_grove)
    professions = str(form["professions"])
    assert 'placeholder="Search professions"' in professions
    assert "chips-filter" in professions  # a long list: searchable
    assert ("professions", "chiropractor", False) in _checkboxes(professions)
    assert "<select" not in professions
    niches = str(form["niches"])
    assert "chips-filter" not in niches  # four: no need to search
    assert [v for _n, v, _c in _checkboxes(niches)] == [
        str(Niche.objects.get(name="Endurance runners").pk)
    ]
    # A phone's keyboard for numbers.
    assert 'type="tel"' in str(form["phone"])
    assert 'inputmode="numeric"' in str(form["zip_code"])


def test_the_partner_form_without_niches_says_where_to_add_them(elm_grove):
    html = str(PartnerForm(practice=elm_grove)["niches"])
    assert "No niches yet: add them under Outreach, then Niches." in html


def test_add_a_partner_with_two_professions_then_see_them_on_their_page(alice_http, elm_grove):
    runners = Niche.objects.create(practice=elm_grove, name="Endurance runners")
    page = alice_http.get(reverse("partner_create")).content.decode()
    assert '<div class="chips-field" id="id_professions">' in page
    assert len(re.findall(r"<legend>Professions:?</legend>", page)) == 1
    assert "Professions:</label>" not in page  # no second label above the group
    assert "<select" not in page.split('id="id_professions"')[1].split("</fieldset>")[0]

    response = alice_http.post(
        reverse("partner_create"),
        {
            "name": "Dr. Two Hats",
            "professions": ["chiropractor", "physical-therapist"],
            "niches": [runners.pk],
            "zip_code": "53122",
            "phone": "(414) 555-0101 ext. 12",
            "email": "two.hats@example.com",
            "stage": "met",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    partner = Partner.objects.get(name="Dr. Two Hats")
    assert set(partner.professions.values_list("slug", flat=True)) == {
        "chiropractor",
        "physical-therapist",
    }
    assert list(partner.niches.all()) == [runners]

    detail = alice_http.get(reverse("partner_detail", args=[partner.pk])).content.decode()
    assert "Chiropractor, Physical therapist" in detail
    assert '<a href="tel:+14145550101;ext=12">(414) 555-0101 ext. 12</a>' in detail
    assert '<a href="mailto:two.hats@example.com">two.hats@example.com</a>' in detail

    # Editing shows the two ticked.
    edit = alice_http.get(reverse("partner_edit", args=[partner.pk])).content.decode()
    ticked = {v for n, v, checked in _checkboxes(edit) if n == "professions" and checked}
    assert ticked == {"chiropractor", "physical-therapist"}


def test_a_partner_with_no_profession_is_asked_for_one_in_plain_words(alice_http):
    response = alice_http.post(
        reverse("partner_create"),
        {"name": "Dr. Nobody", "zip_code": "53122", "stage": "met"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose at least one profession." in page
    assert not Partner.objects.filter(name="Dr. Nobody").exists()


def test_a_failed_save_keeps_the_chips_ticked(alice_http):
    response = alice_http.post(
        reverse("partner_create"),
        {
            "name": "Dr. Zed",
            "professions": ["chiropractor", "podiatrist"],
            "zip_code": "00000",
            "stage": "met",
        },
    )
    assert response.status_code == 200
    ticked = {
        v
        for n, v, checked in _checkboxes(response.content.decode())
        if n == "professions" and checked
    }
    assert ticked == {"chiropractor", "podiatrist"}


def test_another_practices_partner_form_is_not_found(charlie_http, partner):
    assert charlie_http.get(reverse("partner_edit", args=[partner.pk])).status_code == 404


def test_the_front_desk_edits_professions_with_chips_too(bob_http, partner):
    page = bob_http.get(reverse("partner_edit", args=[partner.pk])).content.decode()
    assert ("professions", "chiropractor", True) in _checkboxes(page)


# --- Tap to call, tap to write ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "uri"),
    [
        ("(414) 555-0101", "tel:+14145550101"),
        ("414.555.0101", "tel:+14145550101"),
        ("+1 414 555 0101", "tel:+14145550101"),
        ("414-555-0101 ext. 12", "tel:+14145550101;ext=12"),
        ("tel:+1-414-555-0100;ext=7", "tel:+14145550100;ext=7"),
        ("+44 20 7946 0958", "tel:+442079460958"),
        ("call the front desk", ""),
        ("12", ""),
        ("", ""),
    ],
)
def test_a_phone_number_becomes_an_e164_tel_uri(raw, uri):
    assert tel_uri(raw) == uri


def test_a_phone_link_shows_the_number_as_typed():
    assert phone_link("(414) 555-0101") == '<a href="tel:+14145550101">(414) 555-0101</a>'
    # What cannot be called is shown, escaped, and not linked.
    assert phone_link('ask for <b>"Sam"</b>') == "ask for &lt;b&gt;&quot;Sam&quot;&lt;/b&gt;"
    assert phone_link("") == ""
    assert email_link("a@b.example") == '<a href="mailto:a@b.example">a@b.example</a>'
    assert email_link('x"><script>@b.example').startswith('<a href="mailto:x&quot;&gt;&lt;script')
    assert email_link("") == ""


def test_the_partner_page_links_phone_and_email(alice_http, elm_grove):
    partner = PartnerFactory(practice=elm_grove, phone="262-555-0106", email="dana@spine.example")
    page = alice_http.get(reverse("partner_detail", args=[partner.pk])).content.decode()
    assert '<dd><a href="tel:+12625550106">262-555-0106</a></dd>' in page
    assert '<dd><a href="mailto:dana@spine.example">dana@spine.example</a></dd>' in page


def test_the_client_page_links_phone_and_email(alice_http, bob_http, elm_grove):
    client = ClientFactory(practice=elm_grove, phone="(414) 555-0199", email="jo@example.com")
    for http in (alice_http, bob_http):  # the front desk sees the contact card too
        page = http.get(reverse("client_detail", args=[client.pk])).content.decode()
        assert '<dd><a href="tel:+14145550199">(414) 555-0199</a></dd>' in page
        assert '<dd><a href="mailto:jo@example.com">jo@example.com</a></dd>' in page


def test_a_client_without_phone_or_email_shows_a_dash(alice_http, elm_grove):
    client = ClientFactory(practice=elm_grove, phone="", email="")
    page = alice_http.get(reverse("client_detail", args=[client.pk])).content.decode()
    assert "<dt>Phone</dt><dd>—</dd>" in page
    assert "<dt>E-mail</dt><dd>—</dd>" in page
    assert 'href="tel:' not in page and 'href="mailto:' not in page
