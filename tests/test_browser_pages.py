"""Issue 24: every page of the tenancy inventory (tests/test_tenancy.py: OBJECTS and
PAGES_WITHOUT_ID), walked in Chromium on two phones (360 × 740, 390 × 844) and a laptop
(1280 × 900) — as the owner, plus the front desk's dashboard, the partner's no-account link, the
public referral page, the client's consent link, the help page and the login page — and each
checked for:

- no horizontal scrolling (the page no wider than the window);
- target sizes (WCAG 2.2 AA 2.5.8): a primary action in `main` (`.button`, `button`, neither
  `.secondary` nor `.small`, nor `button.link`) at least 44 px tall, and every visible target at
  least 24 × 24 px — except a link inside a sentence (an inline link whose parent says more than
  the link) and a checkbox or radio button inside a label 24 px or taller;
- axe-core (axe-playwright-python): no serious or critical violation of WCAG 2.0/2.1/2.2 A and
  AA and axe's best practices.

One test per size walks every page and collects every failure, so one run shows them all; the
list also goes to /tmp/walk-failures.txt, grouped by page (every size run so far)."""

from __future__ import annotations

import base64
import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import NoReverseMatch, resolve, reverse
from django.utils import timezone
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError

from referwell.accounts.models import Role
from referwell.clients.models import Consent, ConsentScope, SignedHow
from referwell.clients.services import consent_link_send
from referwell.core.jobs import ImportJob
from referwell.directory.models import Niche, Stage, Touchpoint, TouchpointKind
from referwell.inbound.models import ReferralRequest
from referwell.outreach.models import ContactPlan, OutgoingMessage
from referwell.referrals.models import ReferralLink
from referwell.referrals.states import Status
from tests.browser import horizontal_overflow
from tests.factories import (
    ClientFactory,
    MemberFactory,
    PartnerFactory,
    ReferralFactory,
    UserFactory,
    VisitFactory,
)
from tests.test_browser import PASSWORD, log_in
from tests.test_tenancy import OBJECTS, PAGES_WITHOUT_ID

SIZES = [(360, 740), (390, 844), (1280, 900)]

# In the inventory but not walked: each answers a GET with 405 (checked below, so the list
# stays exact): they are a form's POST, with no page of their own.
POST_ONLY = {
    "consent_revoke": "withdraws a consent (the consent page's button)",
    "consent_send_link": "e-mails the signing link (the consent page's button)",
    "inbound_accept": "accepts a request (the request page's button)",
    "inbound_reject": "turns a request down (the request page's button)",
    "member_edit": "changes a member's role (the members page's form)",
    "niche_delete": "deletes a niche (the niches page's button)",
    "outbox_retry": "sends a letter again (the outbox's button)",
    "partner_letter": "prepares a letter to the partner (the partner page's button)",
    "pipeline_move": "moves a partner on the outreach board (the board's buttons)",
    "plan_add": "plans a contact (the outreach board's form)",
    "plan_done": "marks a planned contact done (the Today list's button)",
    "referral_followup_done": "marks the follow-up done (the referral page's button)",
    "referral_link_new": "makes the partner's link (the referral page's button)",
    "referral_link_revoke": "withdraws the partner's link (the referral page's button)",
    "referral_note": "adds a note (the referral page's form)",
    "referral_transition": "moves a referral (the referral page's buttons)",
    "referral_undo": "undoes the last move (the referral page's button)",
    "touchpoint_add": "records a contact (the partner page's form)",
    "visit_add": "records a visit (the client page's form)",
}
# In the inventory, answered with a file rather than a page (checked below as well).
FILES = {
    "outbox_pdf": "the letter's PDF",
    "partner_vcard": "the partner's vCard",
    "consent_document": "the signed consent form (PDF or image)",
}

# Walked, though a GET only sends the browser on to another page (followed in the walk).
REDIRECTS = {"consent_upload": "opens the consent page at its paper-form upload"}

# The object each walked page is opened with: the inventory's (OBJECTS), except the letters
# about a referral, each opened with a referral it can be written for (otherwise the page sends
# the therapist back to the referral, saying why), and the signed form, which needs one.
OPENED_WITH = OBJECTS | {
    "referral_send": "referral_to_send",
    "referral_report": "referral_in",
    "referral_thank": "referral_in",
    "referral_thank_care": "referral_taken_on",
    "consent_document": "signed_consent",
}

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
AXE_FAILS_ON = {"serious", "critical"}
REPORT_DIR = Path("/tmp/walk")
REPORT = Path("/tmp/walk-failures.txt")

# The targets in a page that are too small (see the module's docstring for what is exempt).
_TARGETS = """() => {
  const shown = (e) => {
    const r = e.getBoundingClientRect();
    // Not shown, or visually hidden for screen readers (1 px, clipped): no target for a finger.
    if (r.width <= 1 || r.height <= 1) return null;
    // Off the page (a honeypot field at left: -10000px, a skip link before it is focused).
    if (r.right <= 0 || r.bottom <= 0) return null;
    const s = getComputedStyle(e);
    if (s.visibility === "hidden" || s.display === "none") return null;
    // Inside a box cut down to a pixel (.visually-hidden and the like).
    for (let p = e.parentElement; p; p = p.parentElement) {
      const box = p.getBoundingClientRect();
      if ((box.width <= 1 || box.height <= 1) && getComputedStyle(p).overflow !== "visible") {
        return null;
      }
    }
    return r;
  };
  const text = (e) => ((e.labels && e.labels.length ? e.labels[0].innerText : e.innerText)
      || e.getAttribute("aria-label") || e.title || e.getAttribute("name") || "")
    .replace(/\\s+/g, " ").trim().slice(0, 40);
  const what = (e, r) => ({
    tag: e.tagName.toLowerCase()
      + (e.type && e.tagName !== "BUTTON" && e.tagName !== "A" ? "[" + e.type + "]" : "")
      + (typeof e.className === "string" && e.className.trim()
         ? "." + e.className.trim().split(/\\s+/).join(".") : ""),
    text: text(e),
    width: Math.round(r.width * 10) / 10,
    height: Math.round(r.height * 10) / 10,
  });
  const primary = [];
  const PRIMARY = "main .button:not(.secondary):not(.small), "
    + "main button:not(.secondary):not(.small):not(.link)";
  for (const e of document.querySelectorAll(PRIMARY)) {
    const r = shown(e);
    if (r && r.height < 44 - 0.05) primary.push(what(e, r));
  }
  const small = [];
  const TARGETS = "a[href], button, input:not([type=hidden]), select, textarea, summary, "
    + "[role=button], [role=link], [role=checkbox], [role=radio], [role=switch], [role=tab], "
    + "[role=menuitem], [tabindex]:not([tabindex='-1'])";
  const words = (e) => (e.textContent || "").replace(/\\s+/g, " ").trim().length;
  for (const e of document.querySelectorAll(TARGETS)) {
    if (e.disabled) continue;
    const r = shown(e);
    if (!r || (r.width >= 24 - 0.05 && r.height >= 24 - 0.05)) continue;
    // A link inside a sentence (2.5.8's inline exception).
    if (e.matches("a") && getComputedStyle(e).display === "inline" && e.parentElement
        && words(e.parentElement) > words(e)) continue;
    // A checkbox or radio button whose label is the target.
    if (e.matches("input[type=checkbox], input[type=radio]")) {
      const label = e.closest("label") || (e.id && document.querySelector(`label[for="${e.id}"]`));
      if (label && label.getBoundingClientRect().height >= 24 - 0.05) continue;
    }
    small.push(what(e, r));
  }
  return [primary, small];
}"""


def _ready(page: Page) -> None:
    """The page as the therapist sees it: its fonts in, and what htmx loads on its own loaded."""
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_function("!document.querySelector('.htmx-request')")


def check_page(page: Page, axe: Axe) -> list[tuple[str, str]]:
    """Every failure of the page as it stands: (kind, what)."""
    failures: list[tuple[str, str]] = []
    extra, culprits = horizontal_overflow(page)
    if extra:
        failures.append(("overflow", f"{extra}px wider than the window: {', '.join(culprits)}"))
    primary, small = page.evaluate(_TARGETS)
    for kind, found, size in (("primary<44", primary, "44px tall"), ("target<24", small, "24×24")):
        counted = Counter(
            f"<{t['tag']}> {t['text']!r} {t['width']:g}×{t['height']:g}" for t in found
        )
        for target, n in counted.items():
            failures.append((kind, f"{target} (not {size})" + (f" ×{n}" if n > 1 else "")))
    results = axe.run(
        page,
        options={
            "runOnly": {"type": "tag", "values": AXE_TAGS},
            "resultTypes": ["violations"],
        },
    )
    for violation in results.response["violations"]:
        if violation["impact"] not in AXE_FAILS_ON:
            continue
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
        shown = ", ".join(targets[:8]) + (
            f" (+{len(targets) - 8} more)" if len(targets) > 8 else ""
        )
        failures.append(
            ("axe", f"{violation['id']} ({violation['impact']}): {violation['help']} — {shown}")
        )
    return failures


# --------------------------------------------------------------------------- the practice


@pytest.fixture
def practice_pages(elm_grove, alice, bob, partner, client_alice_jones, referral):
    """Alice's practice with one of everything the inventory names (as tests/test_tenancy.py
    builds it), a little more so that lists are lists, and the links its public pages need."""
    elm_grove.phone = "414-555-0100"
    elm_grove.email = "hello@elmgrove.example"
    elm_grove.save()
    partner.email = "dana@spine.example"
    partner.phone = "414-555-0123"
    partner.save()
    client_alice_jones.email = "alice.jones@example.com"
    client_alice_jones.phone = "414-555-0101"
    client_alice_jones.save()
    pt = PartnerFactory(
        practice=elm_grove, name="Lakeshore Physical Therapy", professions=["physical-therapist"]
    )
    PartnerFactory(practice=elm_grove, name="Dr. Priya Counsel", stage=Stage.PROSPECT)
    other_client = ClientFactory(practice=elm_grove, first_name="Ben", last_name="Okafor")
    VisitFactory(practice=elm_grove, client=client_alice_jones)
    Touchpoint.objects.create(
        practice=elm_grove,
        partner=partner,
        kind=TouchpointKind.OFFICE_VISIT,
        date=timezone.localdate(),
        note="Dropped off cards.",
    )
    sent = ReferralFactory(
        practice=elm_grove,
        client=other_client,
        partner=pt,
        profession_id="physical-therapist",
        status=Status.SENT,
    )
    _link, partner_token = ReferralLink.issue(referral=sent)
    # The letters' referrals, each with the consent its letter needs.
    to_send = ReferralFactory(
        practice=elm_grove, client=client_alice_jones, partner=partner, status=Status.CONSENTED
    )
    referral_in = ReferralFactory(
        practice=elm_grove,
        client=other_client,
        partner=partner,
        direction="in",
        status=Status.RECEIVED,
    )
    taken_on = ReferralFactory(
        practice=elm_grove,
        client=other_client,
        partner=pt,
        profession_id="physical-therapist",
        status=Status.ACCEPTED,
    )
    for client, to, scope in (
        (client_alice_jones, partner, ConsentScope.REPORT),
        (other_client, partner, ConsentScope.REPORT),
        (other_client, pt, ConsentScope.TALK),
    ):
        Consent.objects.create(practice=elm_grove, client=client, partner=to, scope=scope)
    signed_consent = Consent.objects.create(
        practice=elm_grove,
        client=other_client,
        partner=pt,
        scope=ConsentScope.REPORT,
        signed_how=SignedHow.PAPER,
        signed_at=timezone.now(),
        signed_form=base64.b64encode(b"%PDF-1.4 signed on paper").decode(),
        signed_form_type="application/pdf",
    )
    consent = Consent.objects.create(
        practice=elm_grove, client=client_alice_jones, partner=partner, scope=ConsentScope.TALK
    )
    consent_url = consent_link_send(consent=consent, by=alice.user, base_url="http://x")
    message = OutgoingMessage.objects.create(
        practice=elm_grove,
        kind="referral",
        subject="Referral: Alice Jones",
        body="Dear Dr. Dana Spine,",
        status="printed",
        referral=referral,
    )
    inbound_request = ReferralRequest.objects.create(
        practice=elm_grove,
        partner=partner,
        referrer_name="Dr. Dana Spine",
        client_first_name="Carla",
        client_last_name="Reyes",
        client_phone="414-555-0199",
        reason="Neck pain.",
        client_agreed_to_be_contacted=True,
    )
    objects = {
        "nppes_job": ImportJob.objects.create(
            kind="registry.nppes", practice=elm_grove, file_name="npidata.csv"
        ),
        "restore_job": ImportJob.objects.create(
            kind="interop.restore", practice=elm_grove, file_name="export.zip"
        ),
        "member": MemberFactory(
            practice=elm_grove,
            role=Role.THERAPIST,
            user=UserFactory(email="terry@example.com", first_name="Terry", last_name="Hands"),
        ),
        "plan": ContactPlan.objects.create(
            practice=elm_grove, partner=partner, method="call", planned_on=timezone.localdate()
        ),
        "niche": Niche.objects.create(practice=elm_grove, name="Runners"),
        "partner": partner,
        "client": client_alice_jones,
        "referral": referral,
        "consent": consent,
        "signed_consent": signed_consent,
        "referral_to_send": to_send,
        "referral_in": referral_in,
        "referral_taken_on": taken_on,
        "message": message,
        "inbound_request": inbound_request,
    }
    return {
        "objects": objects,
        "partner_link": f"/l/{partner_token}/",
        "consent_link": consent_url.removeprefix("http://x"),
        "refer": reverse("refer_practice", kwargs={"practice_slug": elm_grove.slug}),
    }


def inventory() -> list[str]:
    """The names walked as the owner: the inventory less its POST-only actions and files."""
    return sorted((set(OBJECTS) | PAGES_WITHOUT_ID) - set(POST_ONLY) - set(FILES))


def owner_pages(objects: dict[str, Any]) -> list[tuple[str, str]]:
    pages = []
    for name in inventory():
        if name in OBJECTS:
            pages.append((name, reverse(name, kwargs={"pk": objects[OPENED_WITH[name]].pk})))
        else:
            pages.append((name, reverse(name)))
    if "help" not in PAGES_WITHOUT_ID:
        try:
            pages.append(("help", reverse("help")))
        except NoReverseMatch:
            pass  # no help page on this server: nothing to walk
    return pages


# --------------------------------------------------------------------------- the tests


@pytest.mark.django_db
def test_the_walk_skips_only_post_only_actions_and_files(alice_http, practice_pages):
    """What the walk leaves out is exactly what answers a GET with 405 (POST_ONLY) or with a
    file (FILES); every other page of the inventory opens for the owner as a page."""
    for name in sorted(set(OBJECTS) | PAGES_WITHOUT_ID):
        objects = practice_pages["objects"]
        kwargs = {"pk": objects[OPENED_WITH[name]].pk} if name in OBJECTS else {}
        response = alice_http.get(reverse(name, kwargs=kwargs))
        if name in POST_ONLY:
            assert response.status_code == 405, (name, response.status_code)
        elif name in FILES:
            assert response.status_code == 200, (name, response.status_code)
            assert not response["Content-Type"].startswith("text/html"), name
        else:
            expected = 302 if name in REDIRECTS else 200
            assert response.status_code == expected, (name, response.status_code, response)
            assert response["Content-Type"].startswith("text/html"), name


@pytest.mark.browser
def test_the_checks_catch_what_they_look_for(page: Page):
    """The walk's checks fail a page that is wrong and pass the exceptions WCAG allows."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_content(
        """<!doctype html><html lang="en"><head><title>Self-check</title></head><body>
        <main><h1>Self-check</h1>
          <div id="wide" style="width: 2000px">wide</div>
          <a class="button" href="/x" style="display:inline-block;height:30px">Short primary</a>
          <button class="small" style="height:36px">Small is fine</button>
          <a href="/y" style="display:inline-block;width:10px;height:10px" id="tiny"></a>
          <p>Read <a href="/z">the guide</a> first.</p>
          <label style="display:block;height:30px"><input type="checkbox"> Tall label</label>
          <label><input type="checkbox" name="short"> Short label</label>
          <div style="position:absolute;left:-10000px" aria-hidden="true">
            <label>Website <input name="website" tabindex="-1"></label></div>
          <div style="width:1px;height:1px;overflow:hidden"><a href="/v">Hidden</a></div>
          <img src="/none.png">
        </main></body></html>"""
    )
    found = check_page(page, Axe())
    kinds = Counter(kind for kind, _ in found)
    text = "\n".join(f"{k}: {w}" for k, w in found)
    assert kinds["overflow"] == 1 and "div#wide" in text, text
    assert kinds["primary<44"] == 1 and "'Short primary' " in text, text
    assert "Small is fine" not in text  # .small: 24 px is its floor, and it is 36
    assert "<a> '' 10×10" in text, text  # the tiny link
    assert "the guide" not in text  # a link inside a sentence
    assert "Tall label" not in text  # the checkbox's label is the target
    assert "<input[checkbox]> 'Short label'" in text, text  # a label shorter than 24 px is not
    assert "website" not in text and "Hidden" not in text  # off the page, visually hidden
    assert any(k == "axe" and w.startswith("image-alt (critical)") for k, w in found), text

    page.set_content(
        """<!doctype html><html lang="en"><head><title>Fine</title></head><body>
        <main><h1>Fine</h1><p>Nothing wrong here.</p></main></body></html>"""
    )
    assert check_page(page, Axe()) == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_page_fits_has_big_enough_targets_and_passes_axe(
    browser: Browser, live_server, practice_pages, width, height
):
    started = time.monotonic()
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    axe = Axe()
    failures: list[tuple[str, str, str]] = []
    walked: list[str] = []

    def visit(label: str, path: str) -> None:
        # Named by its route (the same at every size, whatever the ids), and where it led.
        where = f"{label} /{resolve(path).route}"
        try:
            response = page.goto(live_server.url + path)
            _ready(page)
        except PlaywrightError as exc:
            walked.append(where)
            failures.append((where, "status", f"did not open: {exc.message.splitlines()[0]}"))
            return
        landed = urlsplit(page.url).path
        if landed != path:
            where += f" → /{resolve(landed).route}"
        walked.append(where)
        if response is None or response.status >= 400:
            status = response.status if response else "no answer"
            failures.append((where, "status", f"answered {status}"))
        if landed == reverse("login") and label != "login":
            failures.append((where, "status", "sent to the login page"))
        failures.extend((where, kind, what) for kind, what in check_page(page, axe))

    try:
        # Logged out: the login page and the pages reached without an account.
        visit("login", reverse("login"))
        visit("partner_link (the partner, no account)", practice_pages["partner_link"])
        visit("refer_practice (public referral page)", practice_pages["refer"])
        visit("client_consent (the client's consent link)", practice_pages["consent_link"])
        # The front desk's dashboard.
        log_in(page, live_server, "bob@example.com", PASSWORD)
        visit("dashboard (front desk)", reverse("dashboard"))
        context.clear_cookies()
        # The owner: every page of the inventory.
        log_in(page, live_server, "alice@example.com", PASSWORD)
        for name, path in owner_pages(practice_pages["objects"]):
            visit(name, path)
    finally:
        context.close()

    seconds = time.monotonic() - started
    _report(f"{width}x{height}", walked, failures, seconds)
    assert not failures, (
        f"{len(failures)} failures on {len({f[0] for f in failures})} of {len(walked)} pages "
        f"at {width}×{height}:\n" + _grouped({f"{width}x{height}": failures})
    )


# --------------------------------------------------------------------------- the report


def _grouped(by_size: dict[str, list[Any]]) -> str:
    pages: dict[str, list[str]] = defaultdict(list)
    for size, failures in by_size.items():
        for where, kind, what in failures:
            pages[where].append(f"    {size}  {kind}: {what}")
    return "\n".join(f"{where}\n" + "\n".join(lines) for where, lines in sorted(pages.items()))


def _report(size: str, walked: list[str], failures: list[tuple[str, str, str]], seconds: float):
    """This size's failures kept in /tmp/walk/, and /tmp/walk-failures.txt rewritten from every
    size kept there, grouped by page."""
    REPORT_DIR.mkdir(exist_ok=True)
    (REPORT_DIR / f"{size}.json").write_text(
        json.dumps({"walked": walked, "failures": failures, "seconds": round(seconds, 1)})
    )
    by_width = sorted(REPORT_DIR.glob("*.json"), key=lambda path: int(path.stem.split("x")[0]))
    runs = {path.stem: json.loads(path.read_text()) for path in by_width}
    head = [
        f"{size}: {len(run['walked'])} pages in {run['seconds']}s, {len(run['failures'])} "
        f"failures ({', '.join(f'{k} {n}' for k, n in Counter(f[1] for f in run['failures']).most_common())})"
        for size, run in runs.items()
    ]
    head.append(
        f"Not walked, no page of their own: POST only {sorted(POST_ONLY)}; files {sorted(FILES)}."
    )
    REPORT.write_text(
        "\n".join(head)
        + "\n\n"
        + _grouped({size: [tuple(f) for f in run["failures"]] for size, run in runs.items()})
        + "\n"
    )
