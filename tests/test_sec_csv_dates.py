"""Issue #20, items 3 and 10: no CSV the app writes carries a formula a spreadsheet would
run; a date at the edge of the calendar in a query string is a message, not a 500."""

from __future__ import annotations

import csv
import inspect
import io
import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from referwell.accounts.models import Role
from referwell.audit.services import log_action
from referwell.core import csvout
from referwell.insights.selectors import insights
from referwell.interop.csv.exporter import LISTS
from referwell.outreach.models import OutgoingMessage
from referwell.referrals.models import Direction, Referral
from tests.factories import (
    ClientFactory,
    MemberFactory,
    PartnerFactory,
    ReferralFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://evil.example","x")'
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")

# The pages of the modules that write CSV which are not CSV themselves. A new route in one of
# those modules must be added here or to `_csv_requests` below, so no CSV goes unchecked.
NOT_CSV = {
    "csv_import",
    "csv_import_map",
    "csv_import_preview",
    "csv_import_confirm",
    "csv_import_cancel",
    "insights",
    "insights_cost_add",
    "client_disclosures",
}


def _patterns(resolver=None):
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            yield from _patterns(p)
        elif isinstance(p, URLPattern):
            yield p


def _csv_modules_routes() -> set[str]:
    """The URL names of every view whose module answers text/csv."""
    names = set()
    for p in _patterns():
        module = inspect.getmodule(p.callback)
        if module and module.__name__.startswith("referwell") and p.name:
            if "text/csv" in inspect.getsource(module):
                names.add(p.name)
    return names


@pytest.fixture
def poisoned(elm_grove, alice):
    """Names typed by strangers, each starting with a character a spreadsheet runs."""
    partner = PartnerFactory(practice=elm_grove, name=EVIL, professions=["chiropractor"])
    client = ClientFactory(practice=elm_grove, first_name="+1+cmd|' /C calc'!A0", last_name="x")
    ClientFactory(practice=elm_grove, first_name="\t=1+1", last_name="-2+3")
    ReferralFactory(practice=elm_grove, client=client, partner=partner)  # out: a balance of -1
    ReferralFactory(practice=elm_grove, client=client, partner=partner)
    ReferralFactory(practice=elm_grove, client=client, partner=partner, direction=Direction.IN)
    # As the public referral form leaves it: a referrer who is neither partner nor client.
    Referral.objects.create(
        practice=elm_grove,
        client=client,
        direction=Direction.IN,
        referrer_name="@SUM(1+1)*cmd|' /C calc'!A0",
        profession_id="chiropractor",
    )
    OutgoingMessage.objects.create(
        practice=elm_grove,
        kind="thank_you",
        to_name=EVIL,
        subject="-2+3",
        body="Thanks",
        status=OutgoingMessage.Status.SENT,
        error="\r=1+1",
    )
    stranger = UserFactory(email="evil@example.com", first_name=EVIL, last_name="")
    MemberFactory(user=stranger, practice=elm_grove, role=Role.THERAPIST)
    log_action(practice=elm_grove, actor=stranger, action="referwell.client.viewed")
    return elm_grove


def _csv_requests(practice) -> dict[str, list[str]]:
    today = timezone.localdate()
    keys = insights(practice=practice, start=today.replace(day=1), end=today).tables
    return {
        "csv_export": [reverse("csv_export", kwargs={"kind": k}) for k in LISTS],
        "insights_csv": [reverse("insights_csv", kwargs={"key": k}) for k in keys],
        "audit_trail": [reverse("audit_trail") + "?format=csv"],
    }


def test_every_csv_route_neutralises_formulas(poisoned, alice_http):
    requests = _csv_requests(poisoned)
    unknown = _csv_modules_routes() - NOT_CSV - set(requests)
    assert not unknown, f"routes in a module that writes CSV, not checked here: {unknown}"
    seen_evil = 0
    negative_numbers = 0
    for urls in requests.values():
        for url in urls:
            response = alice_http.get(url)
            assert response.status_code == 200, url
            assert response["Content-Type"].startswith("text/csv"), url
            text = response.content.decode("utf-8-sig")
            for row in csv.reader(io.StringIO(text, newline="")):
                for cell in row:
                    if cell.startswith(FORMULA_START):
                        assert NUMBER.fullmatch(cell), f"{url}: formula cell {cell!r}"
                        negative_numbers += 1
                    seen_evil += cell.startswith("'=HYPERLINK")
    assert seen_evil >= 5  # the planted names did reach the files, quoted
    assert negative_numbers  # a balance of -1 stays a number


def test_no_csv_is_written_outside_the_one_writer():
    root = Path(__file__).resolve().parent.parent / "referwell"
    writers = re.compile(r"\bcsv\.(writer|DictWriter)\(")
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "csvout.py" and writers.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_safe_cell():
    assert csvout.safe_cell(EVIL) == "'" + EVIL
    for start in FORMULA_START:
        assert csvout.safe_cell(start + "x") == "'" + start + "x"
    assert csvout.safe_cell(-3) == -3
    assert csvout.safe_cell(None) == ""
    assert csvout.safe_cell("Dr. Dana") == "Dr. Dana"


EDGES = ("9999-12-31", "0001-01-01")


@pytest.mark.parametrize("day", EDGES)
def test_today_edge_date(alice_http, day):
    response = alice_http.get(reverse("today") + f"?on={day}")
    assert response.status_code == 200
    assert "Dates run from 1900 to 2199" in response.content.decode()


@pytest.mark.parametrize("day", EDGES)
@pytest.mark.parametrize("field", ["start", "end"])
def test_insights_edge_date(alice_http, day, field):
    response = alice_http.get(reverse("insights") + f"?{field}={day}")
    assert response.status_code == 200
    assert "Dates run from 1900 to 2199" in response.content.decode()
    both = alice_http.get(reverse("insights") + f"?start={day}&end={day}")
    assert both.status_code == 200


@pytest.mark.parametrize("day", EDGES)
@pytest.mark.parametrize("field", ["start", "end"])
def test_insights_csv_edge_date(alice_http, day, field):
    url = reverse("insights_csv", kwargs={"key": "sources"})
    response = alice_http.get(url + f"?{field}={day}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    both = alice_http.get(url + f"?start={day}&end={day}")
    assert both.status_code == 200
    assert day not in both["Content-Disposition"]  # the last 12 months instead


@pytest.mark.parametrize("day", EDGES)
@pytest.mark.parametrize("field", ["since", "until"])
def test_audit_edge_date(alice_http, day, field):
    response = alice_http.get(reverse("audit_trail") + f"?{field}={day}")
    assert response.status_code == 200
    assert "Dates run from 1900 to 2199" in response.content.decode()
    csv_response = alice_http.get(reverse("audit_trail") + f"?{field}={day}&format=csv")
    assert csv_response.status_code == 200
    both = alice_http.get(reverse("audit_trail") + f"?since={day}&until={day}")
    assert both.status_code == 200
