"""Referral rules have one owner (issue 22, item 2): every "may this move / may a link be issued
/ is it open / is it finished" question is answered by referwell.referrals.states, and the page,
the API and the partner's link page ask it — so they agree, for every status and both
directions."""

import json

import pytest
from django.contrib.messages import get_messages
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from referwell.clients.models import Consent, ConsentScope
from referwell.referrals import states
from referwell.referrals.models import Direction, Referral, ReferralLink
from referwell.referrals.services import link_issue
from referwell.referrals.states import (
    AWAITING_ANSWER,
    FATE_KNOWN,
    FINAL,
    IN_TRANSITIONS,
    LINK_STATUSES,
    OUT_TRANSITIONS,
    PARTNER_DONE,
    SENT_OR_LATER,
    Status,
    TransitionError,
    can_move,
    check_transition,
    link_refusal,
    may_issue_link,
    move_refusal,
    moves_into,
    sends_information,
)
from tests.conftest import _api_client
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

S = Status
ALL = list(Status)
DIRECTIONS = ("out", "in")
CASES = [(d, s) for d in DIRECTIONS for s in ALL]
CASE_IDS = [f"{d}-{s.value}" for d, s in CASES]


# --- the predicates ----------------------------------------------------------------------------


@pytest.mark.parametrize(("direction", "table"), [("out", OUT_TRANSITIONS), ("in", IN_TRANSITIONS)])
def test_can_move_is_the_transition_table_and_check_transition_agrees(direction, table):
    for current in ALL:
        for to in ALL:
            allowed = to in table.get(current, set())
            assert can_move(direction, current, to) is allowed
            assert (move_refusal(direction, current, to) == "") is allowed
            if allowed:
                check_transition(current, to, direction)
            else:
                with pytest.raises(TransitionError, match=f"'{to.value}'"):
                    check_transition(current, to, direction)


def test_move_refusal_explains_without_failing_on_nonsense():
    assert "not a referral status" in move_refusal("out", "draft", "teleported")
    assert "finished" in move_refusal("in", "closed", "draft")
    assert "cannot move to 'closed'" in move_refusal("out", "bogus", "closed")


def test_final_keeps_its_fixed_order():
    # The open-referrals partial index and its migration compare `status__in=FINAL` as SQL.
    assert FINAL == (S.CANCELLED, S.CLOSED)
    assert isinstance(FINAL, tuple)


@pytest.mark.parametrize(
    "name",
    ["AWAITING_ANSWER", "ANSWERED", "FATE_KNOWN", "SENT_OR_LATER", "TAKEN_ON", "NOT_MADE",
     "PARTNER_DONE", "LINK_STATUSES"],
)  # fmt: skip
def test_named_sets_are_tuples_in_status_order(name):
    value = getattr(states, name)
    assert isinstance(value, tuple) and value
    assert list(value) == sorted(value, key=ALL.index)  # the same SQL in every process
    assert len(set(value)) == len(value)


def test_open_and_finished_are_opposites():
    for status in ALL:
        assert states.is_open(status) is not states.is_finished(status)
        assert states.is_finished(status) is (status in (S.CLOSED, S.CANCELLED))
        # Finished means nothing can happen to it, either way round.
        if states.is_finished(status):
            assert not states.allowed_next(status, "out") and not states.allowed_next(status, "in")


def test_the_fate_of_a_sent_referral_is_awaited_or_known():
    assert set(AWAITING_ANSWER) | set(FATE_KNOWN) == set(SENT_OR_LATER)
    assert not set(AWAITING_ANSWER) & set(FATE_KNOWN)
    assert {s for s in ALL if states.awaiting_answer(s)} == {S.SENT, S.RECEIVED, S.NO_RESPONSE}
    assert {s for s in ALL if states.fate_known(s)} == {
        S.ACCEPTED, S.DECLINED, S.SEEN, S.REPORTED, S.CLOSED
    }  # fmt: skip


def test_sent_or_later_is_what_a_sent_referral_can_become_short_of_cancelled():
    reached, todo = {S.SENT}, [S.SENT]
    while todo:
        for nxt in OUT_TRANSITIONS[todo.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                todo.append(nxt)
    assert reached - {S.CANCELLED} == set(SENT_OR_LATER)


def test_moves_into_finds_the_no_response_candidates():
    assert moves_into("out", S.NO_RESPONSE) == (S.SENT, S.RECEIVED)
    assert moves_into("out", S.RECEIVED) == (S.SENT, S.NO_RESPONSE)
    assert moves_into("in", S.REPORTED) == (S.SEEN,)


def test_the_moves_that_send_information():
    sending = {(d, s) for d in DIRECTIONS for s in ALL if sends_information(d, s)}
    assert sending == {("out", S.SENT), ("in", S.REPORTED)}
    # Each needs the client's consent.
    for direction, to in sending:
        assert states.disclosure_of_move(direction, to)


def test_the_link_rule():
    """A new link for a referral out that has gone to the partner and whose page still lets
    them do something; never for a draft, a declined, closed or cancelled one, or a referral in."""
    allowed = {s for s in ALL if may_issue_link(s, "out")}
    assert allowed == {S.SENT, S.RECEIVED, S.NO_RESPONSE, S.ACCEPTED, S.SEEN, S.REPORTED}
    assert set(LINK_STATUSES) == allowed
    assert not any(may_issue_link(s, "in") for s in ALL)
    for status in ALL:
        for direction in DIRECTIONS:
            reason = link_refusal(status, direction)
            assert bool(reason) is not may_issue_link(status, direction)
    assert "closed" in link_refusal(S.CLOSED, "out")
    assert "cancelled" in link_refusal(S.CANCELLED, "out")
    assert "declined" in link_refusal(S.DECLINED, "out")
    assert "send the referral first" in link_refusal(S.CONSENTED, "out")
    assert "referral out" in link_refusal(S.RECEIVED, "in")


def test_a_link_is_issued_exactly_when_the_partners_page_has_something_to_offer():
    for status in SENT_OR_LATER:
        assert may_issue_link(status, "out") is not states.partner_done(status)
    assert set(PARTNER_DONE) == {S.DECLINED, S.CLOSED, S.CANCELLED}


def test_sending_and_thanking():
    assert [s for s in ALL if states.may_send(s, "out")] == [S.CONSENTED]
    assert not any(states.may_send(s, "in") for s in ALL)
    thanked = {s for s in ALL if states.may_thank_for_care(s, "out")}
    assert thanked == {S.ACCEPTED, S.SEEN, S.REPORTED, S.CLOSED}
    assert not any(states.may_thank_for_care(s, "in") for s in ALL)
    assert {s for s in ALL if states.taken_on(s)} == {S.ACCEPTED, S.SEEN, S.REPORTED}


# --- the page and the API agree ----------------------------------------------------------------


@pytest.fixture
def world(elm_grove, alice, bob, partner, client_alice_jones):
    partner.email = "dana@spine.example"
    partner.save()
    # "report" covers "talk": every move the machine allows has the consent it needs.
    Consent.objects.create(
        practice=elm_grove, client=client_alice_jones, partner=partner, scope=ConsentScope.REPORT
    )
    bob_http = HttpClient()
    bob_http.force_login(bob.user)
    alice_http = HttpClient()
    alice_http.force_login(alice.user)
    return {
        "practice": elm_grove,
        "client": client_alice_jones,
        "partner": partner,
        "page": {"alice": alice_http, "bob": bob_http},
        "api": {"alice": _api_client(alice), "bob": _api_client(bob)},
    }


def _referral(world, direction, status):
    now = timezone.now()
    gone = direction == "out" and status in SENT_OR_LATER
    return ReferralFactory(
        practice=world["practice"],
        client=world["client"],
        partner=world["partner"],
        direction=direction,
        status=status,
        sent_at=now if gone else None,
        received_at=now if direction == "in" else None,
    )


def _status(referral):
    return Referral.objects.values_list("status", flat=True).get(pk=referral.pk)


def _page_errors(response):
    return [m.message for m in get_messages(response.wsgi_request) if m.level_tag == "error"]


def _page_move(http, referral, to):
    """The move made on the page: sending and reporting back through their own buttons, every
    other move through its own button (confirmed, for one that ends the referral: the second
    step). (moved, refused with a message or a 403)."""
    if sends_information(referral.direction, to):
        if referral.direction == "out":
            response = http.post(reverse("referral_send", args=[referral.pk]))
        else:
            response = http.post(
                reverse("referral_report", args=[referral.pk]), {"text": "Doing well."}
            )
    else:
        response = http.post(
            reverse("referral_transition", args=[referral.pk]), {"to": to, "confirm": "yes"}
        )
    assert response.status_code in (302, 403), response.status_code
    moved = to != referral.status and _status(referral) == to
    refused = response.status_code == 403 or bool(_page_errors(response))
    return moved, refused, response


def _api_post(api, path, body=None):
    return api.post(path, data=json.dumps(body or {}), content_type="application/json")


def _api_move(api, referral, to):
    base = f"/api/v1/referrals/{referral.pk}"
    if sends_information(referral.direction, to):
        if referral.direction == "out":
            response = _api_post(api, f"{base}/send")
        else:
            response = _api_post(api, f"{base}/report", {"text": "Doing well."})
    else:
        response = _api_post(api, f"{base}/transitions", {"to": to})
    assert response.status_code < 500, response.content
    moved = to != referral.status and _status(referral) == to
    refused = 400 <= response.status_code < 500
    if refused:
        assert response.json()["detail"], response.content  # a reason, for a person to read
    return moved, refused, response


@pytest.mark.parametrize(("direction", "status"), CASES, ids=CASE_IDS)
def test_page_and_api_agree_on_every_move(world, direction, status):
    for who in ("alice", "bob"):
        for to in ALL:
            expected = can_move(direction, status, to)
            if who == "bob" and sends_information(direction, to):
                expected = False  # sending is a clinician's move, on the page and in the API
            page = _page_move(world["page"][who], _referral(world, direction, status), to)
            api = _api_move(world["api"][who], _referral(world, direction, status), to)
            case = f"{who}: {direction} {status.value} → {to.value}"
            assert page[0] is api[0] is expected, case
            report = direction == "in" and to == S.REPORTED and who == "alice"
            if not expected and not report:  # a report is still sent; the referral stays
                assert page[1] and api[1], case


@pytest.mark.parametrize(("direction", "status"), CASES, ids=CASE_IDS)
def test_marking_it_sent_by_hand_in_the_api_follows_the_same_machine(world, direction, status):
    """The API may also mark a referral sent (by fax, by phone) or a report sent back; the
    page does it only through its own buttons — the machine decides both."""
    to = S.SENT if direction == "out" else S.REPORTED
    referral = _referral(world, direction, status)
    response = _api_post(
        world["api"]["alice"], f"/api/v1/referrals/{referral.pk}/transitions", {"to": to}
    )
    assert response.status_code == (200 if can_move(direction, status, to) else 409)
    desk = _api_post(
        world["api"]["bob"], f"/api/v1/referrals/{referral.pk}/transitions", {"to": to}
    )
    assert desk.status_code == 403


@pytest.mark.parametrize(("direction", "status"), CASES, ids=CASE_IDS)
def test_page_and_api_agree_on_a_new_partner_link(world, direction, status):
    expected = may_issue_link(status, direction)

    referral = _referral(world, direction, status)
    response = world["page"]["alice"].post(reverse("referral_link_new", args=[referral.pk]))
    assert response.status_code == 302
    page_issued = ReferralLink.objects.filter(referral=referral).exists()
    errors = _page_errors(response)

    other = _referral(world, direction, status)
    api = _api_post(world["api"]["alice"], f"/api/v1/referrals/{other.pk}/link")
    assert api.status_code in (201, 409), api.content
    api_issued = ReferralLink.objects.filter(referral=other).exists()

    assert page_issued is api_issued is expected
    if expected:
        assert not errors and api.status_code == 201
        assert world["page"]["alice"].session["new_link"]["referral"] == referral.pk
    else:
        reason = link_refusal(status, direction)
        assert errors == [reason] and api.json()["detail"] == reason
    # Neither moves the referral.
    assert _status(referral) == _status(other) == status

    # The referral page offers the button exactly then.
    page = world["page"]["alice"].get(reverse("referral_detail", args=[referral.pk]))
    assert page.status_code == 200
    assert (reverse("referral_link_new", args=[referral.pk]) in page.content.decode()) is expected


@pytest.mark.parametrize(("direction", "status"), CASES, ids=CASE_IDS)
def test_the_referral_page_offers_what_states_allows(world, direction, status):
    referral = _referral(world, direction, status)
    page = world["page"]["alice"].get(reverse("referral_detail", args=[referral.pk]))
    html = page.content.decode()
    assert (reverse("referral_send", args=[referral.pk]) in html) is states.may_send(
        status, direction
    )
    assert (reverse("referral_thank_care", args=[referral.pk]) in html) is (
        states.may_thank_for_care(status, direction)
    )


@pytest.mark.parametrize("status", ALL, ids=[s.value for s in ALL])
def test_the_partners_page_offers_the_moves_the_machine_allows(world, alice, status):
    referral = _referral(world, "out", status)
    _, token = link_issue(referral=referral, by=alice.user)
    html = HttpClient().get(f"/l/{token}/").content.decode()
    assert ('value="received"' in html) is can_move("out", status, S.RECEIVED)
    assert ('value="accept"' in html) is can_move("out", status, S.ACCEPTED)
    assert ('value="decline"' in html) is can_move("out", status, S.DECLINED)
    assert ('value="seen"' in html) is can_move("out", status, S.SEEN)
    assert ('value="note"' in html) is not states.partner_done(status)


# --- who may ask -------------------------------------------------------------------------------


def test_the_front_desk_may_not_issue_a_link_on_the_page_or_in_the_api(world):
    referral = _referral(world, "out", S.SENT)
    page = world["page"]["bob"].post(reverse("referral_link_new", args=[referral.pk]))
    api = _api_post(world["api"]["bob"], f"/api/v1/referrals/{referral.pk}/link")
    assert page.status_code == 403 and api.status_code == 403
    assert not ReferralLink.objects.filter(referral=referral).exists()


def test_another_practice_finds_no_referral_to_move_or_link(world, charlie_http, charlie_api):
    referral = _referral(world, "out", S.SENT)
    base = f"/api/v1/referrals/{referral.pk}"
    assert charlie_http.post(reverse("referral_link_new", args=[referral.pk])).status_code == 404
    assert _api_post(charlie_api, f"{base}/link").status_code == 404
    assert (
        charlie_http.post(
            reverse("referral_transition", args=[referral.pk]), {"to": "received"}
        ).status_code
        == 404
    )
    assert _api_post(charlie_api, f"{base}/transitions", {"to": "received"}).status_code == 404
    assert charlie_http.get(reverse("referral_detail", args=[referral.pk])).status_code == 404
    assert not ReferralLink.objects.filter(referral=referral).exists()
    assert _status(referral) == S.SENT


def test_the_page_says_why_the_machine_refuses_a_move(world):
    referral = _referral(world, "out", S.CLOSED)
    response = world["page"]["alice"].post(
        reverse("referral_transition", args=[referral.pk]), {"to": "sent"}
    )
    (error,) = _page_errors(response)
    assert error.startswith("Choose one of the next steps offered.")
    assert "finished" in error


def test_in_referrals_are_never_given_a_partner_link(world):
    """Before: the page issued one for a referral in that was received, accepted or seen."""
    for status in (S.RECEIVED, S.ACCEPTED, S.SEEN):
        referral = _referral(world, Direction.IN, status)
        world["page"]["alice"].post(reverse("referral_link_new", args=[referral.pk]))
        assert not ReferralLink.objects.filter(referral=referral).exists()


def test_a_sent_referral_without_a_sending_date_still_gets_a_link(world):
    """An imported referral may be sent with no date it was sent on: the status decides, on the
    page and in the API alike (before, the API refused it and the page hid the button)."""
    referral = _referral(world, "out", S.SENT)
    other = _referral(world, "out", S.SENT)
    Referral.objects.filter(pk__in=[referral.pk, other.pk]).update(sent_at=None)
    page = world["page"]["alice"].get(reverse("referral_detail", args=[referral.pk]))
    assert reverse("referral_link_new", args=[referral.pk]) in page.content.decode()
    world["page"]["alice"].post(reverse("referral_link_new", args=[referral.pk]))
    assert ReferralLink.objects.filter(referral=referral).exists()
    api = _api_post(world["api"]["alice"], f"/api/v1/referrals/{other.pk}/link")
    assert api.status_code == 201
