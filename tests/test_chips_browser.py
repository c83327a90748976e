"""Chips in a real browser, on a phone: a therapist ticks professions with a thumb, narrows the
long list with the search box, saves, and finds them on the partner's page; without the
script the chips are plain checkboxes that still save.

Run with: .venv/bin/pytest tests/test_chips_browser.py -q
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from referwell.directory.models import Partner

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}


def log_in(page: Page, live_server, email: str = "alice@example.com") -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/")


def chip(page: Page, text: str):
    return page.locator("#id_professions label.chip", has_text=text)


def test_tick_two_professions_by_thumb_search_the_list_save_and_see_them(
    browser: Browser, live_server, alice
):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    log_in(page, live_server)
    page.goto(f"{live_server.url}/partners/new/")
    expect(page.get_by_role("heading", name="Add a partner")).to_be_visible()
    page.locator("#id_name").fill("Dr. Thumb Picked")
    page.locator("#id_zip_code").fill("53122")
    page.locator("#id_phone").fill("(414) 555-0123")
    page.locator("#id_stage").select_option(label="Met")

    # The professions are a named group of chips, each at least 44 px tall, none off screen.
    group = page.get_by_role("group", name=re.compile("^Professions"))
    expect(group).to_be_visible()
    box = chip(page, "Chiropractor").bounding_box()
    assert box and box["height"] >= 44 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 391

    # The search box (shown by app.js) narrows the chips as one types.
    search = page.get_by_role("searchbox", name="Search professions")
    expect(search).to_be_visible()
    search.fill("phys")
    expect(chip(page, "Physical therapist")).to_be_visible()
    expect(chip(page, "Chiropractor")).to_be_hidden()
    expect(page.locator("#id_professions_found")).to_have_text(re.compile(r"^\d+ of \d+ shown\.$"))
    chip(page, "Physical therapist").tap()
    expect(page.get_by_role("checkbox", name="Physical therapist")).to_be_checked()

    search.fill("CHIRO")  # any case
    expect(chip(page, "Physical therapist")).to_be_hidden()
    chip(page, "Chiropractor").tap()
    expect(page.get_by_role("checkbox", name="Chiropractor")).to_be_checked()

    # Nothing matches: it says so; Enter in the box never sends the form.
    search.fill("zzz")
    expect(page.locator("#id_professions label.chip:visible")).to_have_count(0)
    expect(page.locator("#id_professions_found")).to_have_text("Nothing matches “zzz”.")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/partners/new/$"))
    assert not Partner.objects.filter(name="Dr. Thumb Picked").exists()

    # Escape empties the box and every chip is back, the two still ticked.
    search.press("Escape")
    expect(search).to_have_value("")
    expect(chip(page, "Dentist")).to_be_visible()
    expect(page.locator("#id_professions input:checked")).to_have_count(2)

    # By keyboard: Tab from the box reaches the first chip left, Space ticks and unticks it.
    search.fill("podia")
    search.press("Tab")
    podiatrist = page.get_by_role("checkbox", name="Podiatrist")
    expect(podiatrist).to_be_focused()
    page.keyboard.press("Space")
    expect(podiatrist).to_be_checked()
    page.keyboard.press("Space")
    expect(podiatrist).not_to_be_checked()

    page.get_by_role("button", name="Save partner").tap()
    # The first save of a fresh test server may take a while: wait for the page, not a time.
    expect(page).to_have_url(re.compile(r"/partners/\d+/$"), timeout=30_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Dr. Thumb Picked")
    facts = page.locator("dl.facts")
    expect(facts.locator("dt", has_text="Profession").locator("+ dd")).to_have_text(
        "Chiropractor, Physical therapist"
    )
    # The number calls with one tap.
    expect(page.get_by_role("link", name="(414) 555-0123")).to_have_attribute(
        "href", "tel:+14145550123"
    )
    partner = Partner.objects.get(name="Dr. Thumb Picked")
    assert sorted(partner.professions.values_list("slug", flat=True)) == [
        "chiropractor",
        "physical-therapist",
    ]
    context.close()


def test_without_the_script_the_chips_are_plain_checkboxes_that_save(
    browser: Browser, live_server, alice
):
    context = browser.new_context(**PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill("alice@example.com")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/partners/new/")

    expect(page.locator("input.chips-filter")).to_be_hidden()  # no search without the script
    page.locator("#id_name").fill("Dr. No Script")
    page.locator("#id_zip_code").fill("53122")
    page.locator("#id_stage").select_option(label="Met")
    chip(page, "Acupuncturist").tap()
    chip(page, "Dentist").tap()
    chip(page, "Dentist").tap()  # a second tap unticks
    chip(page, "Massage therapist").tap()
    page.get_by_role("button", name="Save partner").tap()

    # The first save of a fresh test server may take a while: wait for the page, not a time.
    expect(page).to_have_url(re.compile(r"/partners/\d+/$"), timeout=30_000)
    partner = Partner.objects.get(name="Dr. No Script")
    assert sorted(partner.professions.values_list("slug", flat=True)) == [
        "acupuncturist",
        "massage-therapist",
    ]
    context.close()
