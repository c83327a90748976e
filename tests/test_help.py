"""The help written for the therapist: the page, its topics, the Help link of every page, and the
guide in docs/ with its screenshots."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from referwell.site.help import GUIDE_TOP, NO_HELP, PAGE_TOPICS, TOPICS, topic_for
from tests.factories import ClientFactory, PartnerFactory, ReferralFactory

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "first-ten-minutes.md"

pytestmark = pytest.mark.django_db


def _ids(html: str) -> list[str]:
    return re.findall(r'\bid="([^"]+)"', html)


def _url_names() -> set[str]:
    """Every URL name a page can be reversed by (the API's and the admin's namespaces aside)."""
    names: set[str] = set()

    def walk(patterns: list[URLPattern | URLResolver]) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace is None:
                    walk(p.url_patterns)
            elif p.name:
                names.add(p.name)

    walk(get_resolver().url_patterns)
    return names


# --- The page -------------------------------------------------------------------------------


def test_the_owner_reads_the_guide(alice_http):
    response = alice_http.get(reverse("help"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your first ten minutes" in html
    for button in (
        "Add partner",
        "Import business cards",
        "Save client",
        "Record a consent",
        "Save draft",
        "Client agreed",
        "Read and send the letter",
        "Send the letter",
    ):
        assert button in html, button
    assert "You are logged in as" not in html  # the role note is for the front desk


def test_the_front_desk_reads_the_guide_with_a_word_on_their_role(bob_http):
    response = bob_http.get(reverse("help"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your first ten minutes" in html
    assert "You are logged in as <strong>front desk</strong>" in html


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(reverse("help"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_page_is_only_read(alice_http):
    assert alice_http.post(reverse("help")).status_code == 405


def test_the_page_shows_no_practice_data(elm_grove, alice_http, charlie_http):
    partner = PartnerFactory(practice=elm_grove, name="Dr. Quentin Vertebra")
    client = ClientFactory(practice=elm_grove, first_name="Zelda", last_name="Marchbanks")
    ReferralFactory(practice=elm_grove, client=client, partner=partner)
    own = alice_http.get(reverse("help")).content.decode()
    other = charlie_http.get(reverse("help")).content.decode()
    for html in (own, other):
        assert "Vertebra" not in html and "Marchbanks" not in html and "Zelda" not in html
    # Another practice's owner sees the same guide, and nothing of Elm Grove.
    assert "Elm Grove" not in other
    assert "Your first ten minutes" in other


# --- Topics and the pages that point at them ------------------------------------------------


def test_every_topic_is_a_place_on_the_page_once(alice_http):
    ids = _ids(alice_http.get(reverse("help")).content.decode())
    assert len(ids) == len(set(ids)), "an id is used twice"
    missing = [t for t in TOPICS if t not in ids]
    assert not missing, f"topics without their place on the page: {missing}"
    assert GUIDE_TOP in TOPICS


def test_every_page_named_in_the_mapping_exists_and_points_at_a_topic():
    names = _url_names()
    unknown = sorted(n for n in PAGE_TOPICS if n not in names)
    assert not unknown, f"no such page: {unknown}"
    dangling = sorted(f"{n} → {t}" for n, t in PAGE_TOPICS.items() if t not in TOPICS)
    assert not dangling, f"these pages point at no topic: {dangling}"


def test_every_page_has_its_help_or_is_said_to_need_none():
    names = _url_names()
    assert not set(PAGE_TOPICS) & NO_HELP, "a page is both helped and said to need no help"
    stale = sorted(NO_HELP - names)
    assert not stale, f"NO_HELP names pages that are gone: {stale}"
    missing = sorted(names - set(PAGE_TOPICS) - NO_HELP)
    assert not missing, (
        f"give these pages a help topic in referwell/site/help.py (PAGE_TOPICS), or list them "
        f"in NO_HELP if they have no page of their own: {missing}"
    )


def test_the_main_pages_open_their_own_topic():
    assert topic_for("today") == "answer-today"
    assert topic_for("partner_create") == "add-partners"
    assert topic_for("partner_import") == "import-cards"
    assert topic_for("client_create") == "record-client"
    assert topic_for("consent_add") == "consent"
    assert topic_for("referral_create") == "first-referral"
    assert topic_for("pipeline") == "outreach"
    assert topic_for("two_factor") == "two-factor"
    assert topic_for("no_such_page") == GUIDE_TOP
    assert topic_for(None) == GUIDE_TOP


# --- The tag ----------------------------------------------------------------------------------

LINK = Template("{% load help %}{% help_link %}")


def _render_for(path: str, user) -> str:
    request = RequestFactory().get(path)
    request.user = user
    request.resolver_match = resolve(path)
    return LINK.render(Context({"request": request}))


def test_the_tag_links_each_page_to_its_topic(alice, referral):
    html = _render_for(reverse("today"), alice.user)
    assert html == (
        '<a class="help-link" href="/help/#answer-today">Help'
        '<span class="visually-hidden"> with this page</span></a>'
    )
    assert 'href="/help/#referrals"' in _render_for(
        reverse("referral_detail", args=[referral.pk]), alice.user
    )
    assert 'href="/help/#add-partners"' in _render_for(reverse("partner_create"), alice.user)


def test_the_tag_falls_back_to_the_guide_top(alice):
    # A URL with no topic of its own (the health check).
    assert f'href="/help/#{GUIDE_TOP}"' in _render_for(reverse("health"), alice.user)
    request = RequestFactory().get("/nowhere/")
    request.user = alice.user
    request.resolver_match = None  # a page not found
    assert f'href="/help/#{GUIDE_TOP}"' in LINK.render(Context({"request": request}))


def test_the_tag_says_nothing_to_a_visitor_or_without_a_request():
    assert _render_for(reverse("login"), AnonymousUser()) == ""
    assert LINK.render(Context({})) == ""  # the 500 page renders without a request


def test_every_page_carries_its_help_link(alice_http, bob_http):
    # base.html puts the tag in every member's page menu.
    today = alice_http.get(reverse("today")).content.decode()
    assert 'class="help-link" href="/help/#answer-today"' in today
    clients = bob_http.get(reverse("client_list")).content.decode()
    assert 'class="help-link" href="/help/#clients"' in clients
    help_page = alice_http.get(reverse("help")).content.decode()
    assert f'class="help-link" href="/help/#{GUIDE_TOP}"' in help_page


# --- The guide in docs/ -----------------------------------------------------------------------


def test_the_guide_shows_only_images_that_exist():
    text = GUIDE.read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text) + re.findall(
        r'<img [^>]*src="([^"]+)"', text
    )
    assert len(images) >= 5, "the guide shows the phone screens it walks through"
    missing = [i for i in images if not (GUIDE.parent / i).is_file()]
    assert not missing, f"docs/first-ten-minutes.md shows images that are not there: {missing}"
    heavy = [i for i in images if (GUIDE.parent / i).stat().st_size >= 150 * 1024]
    assert not heavy, f"keep each screenshot under 150 KB: {heavy}"


def test_the_guide_walks_through_the_four_steps():
    text = GUIDE.read_text()
    for step in ("Add your partners", "Record a client", "first referral", "Answer Today"):
        assert step in text, step
