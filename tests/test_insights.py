"""Insights checked against hand-computed figures on a small practice."""

import csv
import datetime as dt
import html
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from referwell.clients.models import Client, Visit
from referwell.directory.models import Partner
from referwell.insights.models import StreamCost
from referwell.insights.selectors import insights
from referwell.referrals.models import Referral
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db
START, END = dt.date(2026, 1, 1), dt.date(2026, 6, 30)


def at(day):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


@pytest.fixture
def small(elm_grove):
    chiro = PartnerFactory(practice=elm_grove, name="Chiro Ann", professions=["chiropractor"])
    pt = PartnerFactory(practice=elm_grove, name="PT Bob", professions=["physical-therapist"])
    P = elm_grove

    def client(name, stream, first, source=None):
        return Client.objects.create(
            practice=P,
            first_name=name,
            last_name="X",
            stream=stream,
            first_seen=first,
            source_partner=source,
        )

    a = client("A", "medical", dt.date(2026, 1, 10), chiro)
    b = client("B", "medical", dt.date(2026, 2, 5), chiro)
    c = client("C", "people_you_know", dt.date(2026, 2, 20))
    d = client("D", "business", dt.date(2025, 12, 1))  # before the range
    for cl, day, fee, payer in [
        (a, dt.date(2026, 1, 10), 100, "mvc"),
        (a, dt.date(2026, 3, 1), 100, "mvc"),
        (b, dt.date(2026, 2, 5), 120, "client"),
        (c, dt.date(2026, 2, 20), 80, "client"),
        (c, dt.date(2026, 4, 2), 80, "workers_comp"),
        (d, dt.date(2026, 5, 5), 90, "client"),
        (d, dt.date(2025, 12, 1), 90, "client"),  # outside the range
    ]:
        Visit.objects.create(practice=P, client=cl, date=day, fee=Decimal(fee), payer=payer)

    def referral(direction, cl, partner, status, created, sent=None, answered=None):
        r = Referral.objects.create(
            practice=P,
            direction=direction,
            client=cl,
            partner=partner,
            reasons="x",
            status=status,
            sent_at=sent and at(sent),
            answered_at=answered and at(answered),
        )
        Referral.objects.filter(pk=r.pk).update(created_at=at(created))
        return r

    referral("in", a, chiro, "closed", dt.date(2026, 1, 9))
    referral("in", b, chiro, "seen", dt.date(2026, 2, 4))
    # Out: to chiro, answered after 2 and 4 days; to pt, one declined, one silent.
    referral(
        "out", c, chiro, "closed", dt.date(2026, 3, 1), dt.date(2026, 3, 1), dt.date(2026, 3, 3)
    )
    referral(
        "out", d, chiro, "accepted", dt.date(2026, 4, 1), dt.date(2026, 4, 1), dt.date(2026, 4, 5)
    )
    referral(
        "out", a, pt, "declined", dt.date(2026, 2, 1), dt.date(2026, 2, 1), dt.date(2026, 2, 2)
    )
    referral("out", b, pt, "sent", dt.date(2026, 6, 1), dt.date(2026, 6, 1))
    referral("out", b, pt, "draft", dt.date(2026, 6, 2))
    StreamCost.objects.create(
        practice=P, stream="medical", month=dt.date(2026, 1, 1), amount=Decimal("50")
    )
    return P


def test_new_clients_by_stream_month_by_month(small):
    t = insights(practice=small, start=START, end=END).tables["new_clients"]
    rows = {r[0]: r for r in t.rows}
    assert t.headers[1:4] == ["Current clients", "People you know", "Medical professionals"]
    assert rows["2026-01"][3] == 1 and rows["2026-01"][-1] == 1
    assert rows["2026-02"][2] == 1 and rows["2026-02"][3] == 1 and rows["2026-02"][-1] == 2
    assert sum(r[-1] for r in t.rows) == 3  # D was new in December, outside the range


def test_partners_both_ways_answers_and_leakage(small):
    t = insights(practice=small, start=START, end=END).tables["partners"]
    rows = {r[0]: r for r in t.rows}
    # Partner, Out, In, Balance, Acknowledged %, Median days, Loop closed %, Leakage, Declined
    assert rows["Chiro Ann"] == ["Chiro Ann", 2, 2, 0, 100.0, 3.0, 100.0, 0, 0]
    assert rows["PT Bob"] == ["PT Bob", 3, 0, -3, 50.0, 1.0, 50.0, 1, 1]


def test_value_by_stream_cost_and_insurance(small):
    data = insights(practice=small, start=START, end=END)
    value = {r[0]: r for r in data.tables["value"].rows}
    # Stream, Clients, Visits, Revenue, per client, New clients, Spent, Cost per new, Insured %
    assert value["Medical professionals"] == [
        "Medical professionals",
        2,
        3,
        Decimal("320"),
        Decimal("160.00"),
        2,
        Decimal("50"),
        Decimal("25.00"),
        66.7,
    ]
    assert value["Business professionals"][1:4] == [1, 1, Decimal("90")]
    insurance = {r[0]: r for r in data.tables["insurance"].rows}
    assert insurance["Motor-vehicle collision"] == ["Motor-vehicle collision", 2, 33.3]
    assert insurance["All insurance"] == ["All insurance", 3, 50.0]


def test_return_rate_after_a_referral_out(small):
    # Out (not draft/cancelled): c (visit Apr 2 after Mar 1: back), d (none after Apr 1 … May 5:
    # back), a (Mar 1 after Feb 1: back), b (none after Jun 1: not back).
    t = insights(practice=small, start=START, end=END).tables["return"]
    assert t.rows == [[4, 3, 75.0]]


def test_top_referrers(small):
    t = insights(practice=small, start=START, end=END).tables["top"]
    assert t.rows == [["Chiro Ann", 2, 2]]


def test_page_csv_and_a_fixed_number_of_queries(alice_http, small, django_assert_max_num_queries):
    url = reverse("insights") + "?start=2026-01-01&end=2026-06-30"
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as first:
        page = alice_http.get(url)
    body = page.content.decode()
    assert page.status_code == 200 and "<svg" in body and 'role="img"' in body
    assert "Chiro Ann" in body
    for i in range(20):
        p = PartnerFactory(practice=small, professions=["podiatrist"])
        cl = Client.objects.create(
            practice=small,
            first_name=f"N{i}",
            last_name="Y",
            stream="medical",
            first_seen=dt.date(2026, 3, 3),
            source_partner=p,
        )
        Visit.objects.create(practice=small, client=cl, date=dt.date(2026, 3, 3), fee=50)
        Referral.objects.create(
            practice=small, direction="in", client=cl, partner=p, reasons="x", status="seen"
        )
    with django_assert_max_num_queries(len(first.captured_queries)):
        alice_http.get(url + "&fresh=1")
    response = alice_http.get(
        reverse("insights_csv", args=["partners"]) + "?start=2026-01-01&end=2026-06-30"
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Partner", "Out", "In"]
    assert ["PT Bob", "3", "0", "-3", "50.0", "1.0", "50.0", "1", "1"] in rows
    assert alice_http.get(reverse("insights_csv", args=["nope"])).status_code == 404


def test_the_report_is_kept_five_minutes_and_counted_again_on_demand(alice_http, small):
    """A second view within five minutes shows the kept figures (and says when they were
    counted); "count again now" and a recorded cost count again."""
    url = reverse("insights") + "?start=2026-01-01&end=2026-06-30"
    assert "PT Bob" in alice_http.get(url).content.decode()
    Partner.objects.filter(practice=small, name="PT Bob").update(name="PT Robert")
    kept = alice_http.get(url).content.decode()
    assert "PT Bob" in kept and "PT Robert" not in kept and "count again now" in kept
    fresh = alice_http.get(url + "&fresh=1").content.decode()
    assert "PT Robert" in fresh and "PT Bob" not in fresh
    Partner.objects.filter(practice=small, name="PT Robert").update(name="PT Roberta")
    still = alice_http.get(url).content.decode()
    assert "PT Robert" in still and "PT Roberta" not in still
    alice_http.post(
        reverse("insights_cost_add"), {"stream": "medical", "month": "2026-03", "amount": "10"}
    )
    assert "PT Roberta" in alice_http.get(url).content.decode()


def test_bad_dates_fall_back_with_a_message(alice_http, small):
    page = alice_http.get(reverse("insights") + "?start=yesterday")
    assert page.status_code == 200 and b"last 12 months" in page.content


def test_charlie_sees_his_own_figures_only(charlie_http, small):
    body = charlie_http.get(
        reverse("insights") + "?start=2026-01-01&end=2026-06-30"
    ).content.decode()
    assert "Chiro Ann" not in body and "PT Bob" not in body
    csv_body = charlie_http.get(reverse("insights_csv", args=["partners"])).content.decode()
    assert "Chiro Ann" not in csv_body


def test_costs_are_recorded_with_validation(alice_http, elm_grove):
    alice_http.post(
        reverse("insights_cost_add"), {"stream": "medical", "month": "2026-03", "amount": "120.50"}
    )
    assert StreamCost.objects.get().amount == Decimal("120.50")
    bad = alice_http.post(
        reverse("insights_cost_add"),
        {"stream": "martians", "month": "2026-03", "amount": "-1"},
        follow=True,
    )
    assert b"Give a stream" in bad.content and StreamCost.objects.count() == 1


def test_the_charts_and_tables_of_a_kept_report_are_drawn_once(alice_http, small, monkeypatch):
    """Drawing the charts and rendering the tables is most of the page: done once per report
    (and again for a new one), not on every view."""
    from referwell.insights import views

    drawn = []
    network_picture = views.charts.network_picture
    monkeypatch.setattr(
        views.charts,
        "network_picture",
        lambda **kwargs: drawn.append(kwargs["width"]) or network_picture(**kwargs),
    )
    url = reverse("insights") + "?start=2026-01-01&end=2026-06-30"
    first = alice_http.get(url).content.decode()
    again = alice_http.get(url).content.decode()
    # Drawn once for a phone and once for a wider screen.
    assert drawn == [320, 720] and "PT Bob" in first and "PT Bob" in again
    assert "csrfmiddlewaretoken" in again  # the cost form is the page's own, not kept
    Partner.objects.filter(practice=small, name="PT Bob").update(name="PT Robert")
    assert "PT Robert" in alice_http.get(url + "&fresh=1").content.decode()
    assert drawn == [320, 720] * 2


def cells(body, label):
    """The texts of the page's table cells labelled `label` (their column's name)."""
    return [html.unescape(t) for t in re.findall(rf'<td data-label="{label}">([^<]*)</td>', body)]


def test_the_page_writes_months_money_and_percentages_as_people_do(alice_http, small):
    body = alice_http.get(reverse("insights") + "?start=2026-01-01&end=2026-06-30").content.decode()
    # Months: "Jan 2026" in the tables, the month and its year in the charts; never "2026-01".
    assert cells(body, "Month")[:2] == ["Jan 2026", "Feb 2026"]
    assert ">2026-01<" not in body and ">2026-02<" not in body
    assert '<text class="period"' in body and ">Jan</text>" in body and ">2026</text>" in body
    # Money: the same "$320" in the revenue chart and in its table.
    assert cells(body, "Revenue")[2] == "$320"  # Medical professionals: 100 + 120 + 100
    assert cells(body, "Revenue per client")[2] == "$160"
    assert cells(body, "Cost per new client")[2] == "$25"
    assert '<text class="value"' in body and ">$320</text>" in body
    # Percentages: whole, with their sign; the column's name no longer ends with "%".
    assert cells(body, "Insurance-paid visits")[2] == "67%"
    assert cells(body, "Acknowledged")[:2] in (["100%", "50%"], ["50%", "100%"])
    assert cells(body, "Return rate") == ["75%"]
    assert cells(body, "Balance").count("-3") == 1
    # No figure goes without a label on a phone, and none without a value.
    assert '<table class="stack">' in body
    assert not re.search(r"<td(?![^>]*data-label=\"[^\"]+\")(?![^>]*colspan)[^>]*>", body)
    assert "None" not in re.sub(r"<svg.*?</svg>", "", body, flags=re.S)


def test_the_csv_keeps_plain_values(alice_http, small):
    query = "?start=2026-01-01&end=2026-06-30"
    value = alice_http.get(reverse("insights_csv", args=["value"]) + query).content.decode()
    rows = list(csv.reader(io.StringIO(value)))
    assert rows[0][-1] == "Insurance-paid visits %"
    medical = next(r for r in rows if r[0] == "Medical professionals")
    # Plain numbers, no "$" nor thousands comma (each database writes its own decimals).
    assert [Decimal(v) for v in medical[3:5]] == [Decimal("320"), Decimal("160")]
    assert medical[-1] == "66.7"
    months = alice_http.get(reverse("insights_csv", args=["new_clients"]) + query).content.decode()
    assert [r[0] for r in csv.reader(io.StringIO(months))][1:3] == ["2026-01", "2026-02"]


def test_each_chart_is_drawn_for_a_phone_and_for_a_wide_screen(alice_http, small):
    body = alice_http.get(reverse("insights") + "?start=2026-01-01&end=2026-06-30").content.decode()
    narrow = re.findall(r'<div class="chart-narrow"><svg[^>]*viewBox="0 0 320 [\d.]+"', body)
    wide = re.findall(r'<div class="chart-wide"><svg[^>]*viewBox="0 0 720 [\d.]+"', body)
    assert len(narrow) == len(wide) == 5
    assert not re.search(r"<svg[^>]*style=", body)  # the page's CSP allows no style attribute
    # The network picture names each profession once, in a row of its own, the busiest first.
    network = re.findall(r'<svg[^>]*class="chart chart-network".*?</svg>', body, flags=re.S)[0]
    assert re.findall(r'class="group"[^>]*>([^<]*)<', network) == [
        "Chiropractor",  # Chiro Ann: 2 sent, 2 received
        "Physical therapist",  # PT Bob: 3 sent
    ]


def test_the_front_desk_sees_the_insights_page(bob_http, small):
    page = bob_http.get(reverse("insights") + "?start=2026-01-01&end=2026-06-30")
    assert page.status_code == 200 and b"Chiro Ann" in page.content
