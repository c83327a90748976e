"""The phone screenshots of docs/first-ten-minutes.md, taken again from a running Referwell.

    .venv/bin/python docs/screenshots.py http://127.0.0.1:8000

The server must hold the demo practice (`referwell demo`): the script logs in as its owner,
only reads pages (it changes nothing), and writes docs/img/*.png at 390x844, each kept under
150 KB. Chromium is Debian's (/usr/bin/chromium) when there, else Playwright's own.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
from pathlib import Path
from urllib.parse import urljoin

from playwright.sync_api import Page, sync_playwright

IMG = Path(__file__).resolve().parent / "img"
WIDTH, HEIGHT = 390, 844
MAX_BYTES = 150 * 1024
OWNER = ("maya@elmgrove.example", "elmgrove-owner")


def first_link(page: Page, selector: str) -> str:
    """The href of the first link that matches, on the page as it is."""
    href = page.locator(selector).first.get_attribute("href")
    if not href:
        raise SystemExit(f"no link {selector!r} on {page.url}: is the demo practice loaded?")
    return href


def show(page: Page, selector: str) -> None:
    """Scroll so that this part of the page is near the top of the screen."""
    page.locator(selector).first.evaluate(
        "el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 12)"
    )


def save(page: Page, name: str) -> Path:
    """The screen as a PNG under docs/img/, made smaller (fewer colours) if it is too heavy."""
    path = IMG / f"{name}.png"
    data = page.screenshot(full_page=False, animations="disabled", caret="hide")
    if len(data) >= MAX_BYTES:
        from PIL import Image  # Pillow comes with fpdf2, which the app needs

        image = Image.open(io.BytesIO(data)).convert("RGB")
        for colours in (256, 128, 64):
            out = io.BytesIO()
            image.quantize(colours).save(out, "PNG", optimize=True)
            data = out.getvalue()
            if len(data) < MAX_BYTES:
                break
    path.write_bytes(data)
    print(f"{path.relative_to(IMG.parent.parent)}  {len(data) // 1024} KB  {page.url}")
    return path


def take(base: str, page: Page) -> None:
    """Each screen of the guide, in its order."""

    def go(path: str, ready: str = "main h1") -> None:
        page.goto(urljoin(base, path))
        page.wait_for_selector(ready)
        page.evaluate("window.scrollTo(0, 0)")

    go("/")
    save(page, "dashboard")
    go("/partners/new/")
    save(page, "partner-form")
    go("/partners/import/")
    save(page, "import-cards")
    go("/clients/new/")
    save(page, "client-form")

    # A referral the client agreed to: its next step is to read and send the letter.
    go("/referrals/?direction=out&status=consented")
    go(first_link(page, "#results td a[href^='/referrals/']"))
    client = first_link(page, "main dd a[href^='/clients/']")
    letter = first_link(page, "main a[href$='/send/']")
    save(page, "referral")
    go(letter)
    save(page, "letter")

    # That client's page, at the suggested referrals; then the consent form.
    go(client)
    if page.locator("#suggested").count():
        show(page, "#suggested")
    save(page, "client")
    go(first_link(page, "main a[href$='/consents/']"))
    save(page, "consent-form")

    # A referral the partner accepted through their link: the answer is on its timeline.
    go("/referrals/?direction=out&status=accepted")
    go(first_link(page, "#results td a[href^='/referrals/']"))
    show(page, "#timelinehead")
    save(page, "referral-answered")

    go("/outreach/today/")
    save(page, "today")
    go("/insights/")
    save(page, "insights")
    go("/help/")
    save(page, "help")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the running Referwell, e.g. http://127.0.0.1:8000")
    parser.add_argument("--email", default=OWNER[0])
    parser.add_argument("--password", default=OWNER[1])
    args = parser.parse_args()
    base = args.url.rstrip("/") + "/"
    IMG.mkdir(exist_ok=True)
    chromium = shutil.which("chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, args=["--no-sandbox"] if chromium else []
        )
        context = browser.new_context(
            viewport={"width": WIDTH, "height": HEIGHT},
            device_scale_factor=1,
            is_mobile=True,
            has_touch=True,
            locale="en-US",
        )
        page = context.new_page()
        page.goto(urljoin(base, "accounts/login/"))
        page.fill("#id_username", args.email)
        page.fill("#id_password", args.password)
        page.locator("main form button[type=submit], main form button").first.click()
        page.wait_for_load_state()
        if "/accounts/login/" in page.url:
            sys.exit("could not log in: is this the demo practice, with its demo owner?")
        take(base, page)
        browser.close()


if __name__ == "__main__":
    main()
