"""What the browser tests measure in a page, written once (the Chromium they run is chosen by
`browser_type_launch_args` in tests/conftest.py)."""

from __future__ import annotations

from playwright.sync_api import Page

# How far the page is wider than the window, and the outermost elements that stick out past its
# right edge (those inside a box that scrolls or clips on its own, such as `.table-wrap`, make
# nothing wider). The body counts too: `overflow-x: hidden` on it would cut content off unseen.
_OVERFLOW = """() => {
  const width = window.innerWidth;
  const page = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
  const clips = (e) => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  const out = (e) => e.getBoundingClientRect().right > width + 0.5;
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (typeof e.className === "string" && e.className.trim()
       ? "." + e.className.trim().split(/\\s+/).join(".") : "");
  const culprits = page > width
    ? Array.from(document.querySelectorAll("body *"))
        .filter((e) => out(e) && !(e.parentElement && out(e.parentElement)) && !clips(e))
        .slice(0, 6)
        .map((e) => `${name(e)} ends at ${Math.round(e.getBoundingClientRect().right)}px`)
    : [];
  return [page - width, culprits];
}"""


def horizontal_overflow(page: Page) -> tuple[int, list[str]]:
    """How many pixels the page is wider than its window (0 when it fits), and what sticks out."""
    extra, culprits = page.evaluate(_OVERFLOW)
    return max(0, round(extra)), culprits
