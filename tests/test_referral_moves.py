"""Moves are deliberate (issue 23, item 1): a note is its own action and never moves a
referral; each move is its own button, named by what it does; a move that ends the referral
(decline, close, cancel) asks first; the last move can be undone for a while, by the member who
made it, on the page and in the API alike.

Before: one "Move to [select] + Note + Update" control whose select defaulted to its first move
— a therapist who typed "Called Sofia's office, they will call Eric next week" and pressed
Update cancelled the referral."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from referwell.accounts.models import ApiToken, Role
from referwell.audit.models import AuditEntry
from referwell.clients.models import Consent, ConsentScope
from referwell.referrals import selectors, services
from referwell.referrals.models import EventKind, Referral, ReferralEvent, ReferralLink, Via
from referwell.referrals.states import (
    ENDING_MOVES,
    IN_TRANSITIONS,
    OUT_TRANSITIONS,
    SENT_OR_LATER,
    UNDO_WINDOW,
    Status,
    allowed_next,
    needs_confirmation,
    sends_information,
    undo_refusal,
)
from tests.factories import MemberFactory, ReferralFactory, UserFactory

S = Status
NOTE = "Called Sofia's office, they will call Eric next week"

# Every (direction, status) a referral can be in.
CASES = [("out", S(s)) for s in OUT_TRANSITIONS] + [("in", S(s)) for s in IN_TRANSITIONS]
CASE_IDS = [f"{d}-{s.value}" for d, s in CASES]


@pytest.fixture
def tess(elm_grove):
    """A second therapist of Elm Grove: a member who did not make the move."""
    user = UserFactory(email="tess@example.com", first_name="Tess", last_name="Therapist")
    return MemberFactory(user=user, practice=elm_grove, role=Role.THERAPIST)


def _http(member):
    http = HttpClient()
    http.force_login(member.user)
    return http


def _api(member):
    _, token = ApiToken.issue(member=member)
    return HttpClient(headers={"Authorization": f"Bearer {token}"})


def _post_json(api, path, body=None):
    return api.post(path, data=json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def make(elm_grove, client_alice_jones, partner):
    """A referral of Elm Grove in any state (with the client's consent to letters and reports
    to the partner, which covers talking, so that every move the machine allows can be made
    and the referral letter sent)."""
    Consent.objects.create(
        practice=elm_grove, client=client_alice_jones, partner=partner, scope=ConsentScope.REPORT
    )

    def make(direction="out", status=S.CONSENTED):
        now = timezone.now()
        referral = ReferralFactory(
            practice=elm_grove,
            client=client_alice_jones,
            partner=partner,
            direction=direction,
            status=status,
            sent_at=now if direction == "out" and status in SENT_OR_LATER else None,
            received_at=now if direction == "in" else None,
        )
        ReferralEvent.objects.create(
            practice=elm_grove, referral=referral, to_status=status, at=now - dt.timedelta(hours=1)
        )
        return referral

    return make


def _status(referral):
    return Referral.objects.values_list("status", flat=True).get(pk=referral.pk)


def _errors(response):
    return [m.message for m in get_messages(response.wsgi_request) if m.level_tag == "error"]


def _buttons(html):
    """The move buttons of the referral page: {status: label}."""
    return {
        value: re.sub(r"\s+", " ", label).strip()
        for value, label in re.findall(
            r'<button type="submit" name="to" value="([\w-]+)"[^>]*>(.*?)</button>', html, re.S
        )
    }


def _detail(http, referral):
    response = http.get(reverse("referral_detail", args=[referral.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _move(http, referral, to, *, confirm=False, note=""):
    data = {"to": to, "note": note}
    if confirm:
        data["confirm"] = "yes"
    return http.post(reverse("referral_transition", args=[referral.pk]), data)


# --- a note is its own action ------------------------------------------------------------------


def test_a_note_on_the_page_leaves_the_status_unchanged(alice_http, alice, make):
    referral = make("out", S.CONSENTED)
    page = _detail(alice_http, referral)
    assert 'action="{}"'.format(reverse("referral_note", args=[referral.pk])) in page
    assert ">Add a note</button>" in page

    response = alice_http.post(reverse("referral_note", args=[referral.pk]), {"note": NOTE})
    assert response.status_code == 302 and not _errors(response)
    assert _status(referral) == S.CONSENTED
    event = ReferralEvent.objects.filter(referral=referral).latest("id")
    assert (event.kind, event.from_status, event.to_status) == (
        EventKind.NOTE,
        S.CONSENTED,
        S.CONSENTED,
    )
    assert event.note == NOTE and event.by_id == alice.user_id
    assert AuditEntry.objects.filter(
        action="referwell.referral.noted", object_id=str(referral.pk)
    ).exists()
    # The timeline shows it as a note, not as a second "Client consented".
    page = _detail(alice_http, referral)
    assert f"<strong>Note:</strong> {NOTE.replace(chr(39), '&#x27;')}" in page
    assert page.count("<strong>Client consented</strong>") == 1


def test_a_note_in_the_api_leaves_the_status_unchanged(alice_api, make):
    referral = make("out", S.CONSENTED)
    response = _post_json(alice_api, f"/api/v1/referrals/{referral.pk}/notes", {"note": NOTE})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "consented" == _status(referral)
    last = body["events"][-1]
    assert last["kind"] == "note" and last["note"] == NOTE
    assert last["from_status"] == last["to_status"] == "consented"


def test_an_empty_note_is_refused_and_nothing_moves(alice_http, alice_api, make):
    referral = make("out", S.CONSENTED)
    response = alice_http.post(reverse("referral_note", args=[referral.pk]), {"note": "  "})
    assert _errors(response)
    api = _post_json(alice_api, f"/api/v1/referrals/{referral.pk}/notes", {"note": " "})
    assert api.status_code == 400 and "empty" in api.json()["detail"]
    assert _status(referral) == S.CONSENTED
    assert not ReferralEvent.objects.filter(referral=referral, kind=EventKind.NOTE).exists()


def test_a_note_may_be_written_on_a_finished_referral(alice_http, make):
    referral = make("out", S.CLOSED)
    alice_http.post(reverse("referral_note", args=[referral.pk]), {"note": "Thanked by phone."})
    assert _status(referral) == S.CLOSED
    assert ReferralEvent.objects.filter(referral=referral, kind=EventKind.NOTE).count() == 1


# --- each move is its own button ------------------------------------------------------------


@pytest.mark.parametrize(("direction", "status"), CASES, ids=CASE_IDS)
def test_every_move_button_moves_exactly_to_its_status(alice_http, make, direction, status):
    referral = make(direction, status)
    buttons = _buttons(_detail(alice_http, referral))
    # The page offers every move the machine allows, except those that send information
    # (they have their own action: Send the referral, Send the report).
    expected = [s for s in allowed_next(status, direction) if not sends_information(direction, s)]
    assert set(buttons) == set(expected)
    assert "Update" not in buttons.values() and "<select" not in _detail(alice_http, referral)
    for to in expected:
        if to in ENDING_MOVES:
            assert buttons[to].endswith("…"), buttons[to]  # a second step follows
        one = make(direction, status)
        response = _move(alice_http, one, to, confirm=needs_confirmation(direction, to))
        assert response.status_code == 302 and not _errors(response), (to, _errors(response))
        assert _status(one) == to
        assert ReferralEvent.objects.filter(referral=one).latest("id").to_status == to


def test_the_buttons_are_named_by_what_they_do(alice_http, make):
    assert _buttons(_detail(alice_http, make("out", S.DRAFT))) == {
        "discussed": "Discussed with the client",
        "consented": "Client agreed",
        "cancelled": "Cancel referral…",
    }
    assert _buttons(_detail(alice_http, make("out", S.SENT))) == {
        "received": "Partner received it",
        "accepted": "Mark accepted",
        "no-response": "Mark no response",
        "declined": "Mark declined…",
        "cancelled": "Cancel referral…",
    }
    assert _buttons(_detail(alice_http, make("out", S.ACCEPTED))) == {
        "seen": "Client seen",
        "closed": "Close…",
        "cancelled": "Cancel referral…",
    }
    # The moves that go on come first; the ones that end the referral last.
    assert list(_buttons(_detail(alice_http, make("out", S.CONSENTED)))) == ["cancelled"]
    assert list(_buttons(_detail(alice_http, make("in", S.RECEIVED)))) == [
        "accepted",
        "declined",
        "cancelled",
    ]


@pytest.mark.parametrize("to", [S.CANCELLED, S.DECLINED, S.CLOSED])
def test_an_ending_move_without_confirmation_does_not_move(alice_http, make, to):
    status = {S.CANCELLED: S.CONSENTED, S.DECLINED: S.SENT, S.CLOSED: S.ACCEPTED}[to]
    referral = make("out", status)
    response = _move(alice_http, referral, to, note="Client moved away.")
    assert response.status_code == 200  # the second step: a question, nothing moved
    html = response.content.decode()
    assert _status(referral) == status
    assert ReferralEvent.objects.filter(referral=referral).count() == 1
    assert 'name="confirm" value="yes"' in html and f'name="to" value="{to}"' in html
    assert "Client moved away." in html  # the note is kept for the second step
    assert reverse("referral_detail", args=[referral.pk]) in html  # "No, keep it"
    assert "Nothing has changed yet" in html

    # A confirm that is not "yes" is no confirmation either.
    response = alice_http.post(
        reverse("referral_transition", args=[referral.pk]), {"to": to, "confirm": "no"}
    )
    assert response.status_code == 200 and _status(referral) == status

    response = _move(alice_http, referral, to, confirm=True, note="Client moved away.")
    assert response.status_code == 302 and not _errors(response)
    assert _status(referral) == to
    assert ReferralEvent.objects.filter(referral=referral).latest("id").note == (
        "Client moved away."
    )


def test_a_move_with_a_note_too_long_is_not_made(alice_http, make):
    referral = make("out", S.DRAFT)
    (error,) = _errors(_move(alice_http, referral, S.CONSENTED, note="x" * 2001))
    assert error.startswith("Nothing was moved:")
    assert _status(referral) == S.DRAFT


def test_a_move_that_goes_on_needs_no_confirmation(alice_http, make):
    referral = make("out", S.DRAFT)
    response = _move(alice_http, referral, S.CONSENTED, note="Agreed at the visit.")
    assert response.status_code == 302
    assert _status(referral) == S.CONSENTED


def test_a_refused_move_says_why(alice_http, make):
    referral = make("out", S.CLOSED)
    (error,) = _errors(_move(alice_http, referral, S.SENT, confirm=True))
    assert error.startswith("Choose one of the next steps offered.") and "finished" in error
    referral = make("out", S.CONSENTED)
    # Sending is not a button of its own here: it goes through "Send the referral".
    assert _errors(_move(alice_http, referral, S.SENT, confirm=True))
    assert _status(referral) == S.CONSENTED


# --- undo -----------------------------------------------------------------------------------


def _undo_page(http, referral):
    return http.post(reverse("referral_undo", args=[referral.pk]))


def _undo_api(api, referral):
    return _post_json(api, f"/api/v1/referrals/{referral.pk}/undo")


def _age_last_move(referral, by):
    """The referral's last move made `by` ago."""
    event = ReferralEvent.objects.filter(referral=referral).latest("id")
    event.at = timezone.now() - by
    event.save(update_fields=["at"])
    if referral.closed_at is not None or _status(referral) in (S.CLOSED, S.CANCELLED):
        Referral.objects.filter(pk=referral.pk).update(closed_at=event.at)


def test_undo_restores_the_previous_status_within_the_window(alice_http, alice, make):
    referral = make("out", S.CONSENTED)
    _move(alice_http, referral, S.CANCELLED, confirm=True)
    referral.refresh_from_db()
    assert referral.status == S.CANCELLED and referral.closed_at is not None

    page = _detail(alice_http, referral)
    assert reverse("referral_undo", args=[referral.pk]) in page and ">Undo</button>" in page
    response = _undo_page(alice_http, referral)
    assert response.status_code == 302 and not _errors(response)
    referral.refresh_from_db()
    assert referral.status == S.CONSENTED and referral.closed_at is None
    undo = ReferralEvent.objects.filter(referral=referral).latest("id")
    assert (undo.kind, undo.from_status, undo.to_status, undo.by_id) == (
        EventKind.UNDO,
        S.CANCELLED,
        S.CONSENTED,
        alice.user_id,
    )
    entry = AuditEntry.objects.get(action="referwell.referral.undone")
    assert entry.object_id == str(referral.pk)
    page = _detail(alice_http, referral)
    assert "Undone: Cancelled — back to Client consented" in page
    # An undo is not undone in turn, and the move before it is not undone either.
    assert ">Undo</button>" not in page
    assert _errors(_undo_page(alice_http, referral))
    assert _status(referral) == S.CONSENTED


def test_undo_takes_back_only_what_the_move_stamped(alice_http, make):
    referral = make("out", S.SENT)
    _move(alice_http, referral, S.ACCEPTED)
    referral.refresh_from_db()
    assert referral.answered_at is not None
    sent_at = referral.sent_at
    _undo_page(alice_http, referral)
    referral.refresh_from_db()
    assert referral.status == S.SENT and referral.answered_at is None
    assert referral.sent_at == sent_at


def test_undo_in_the_api(alice_api, make):
    referral = make("out", S.ACCEPTED)
    moved = _post_json(alice_api, f"/api/v1/referrals/{referral.pk}/transitions", {"to": "seen"})
    assert moved.status_code == 200
    response = _undo_api(alice_api, referral)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted" == _status(referral)
    assert response.json()["events"][-1]["kind"] == "undo"
    again = _undo_api(alice_api, referral)
    assert again.status_code == 409 and again.json()["detail"] == "There is no move to undo."


def test_undo_is_refused_after_the_window(alice_http, alice_api, make):
    referral = make("out", S.CONSENTED)
    _move(alice_http, referral, S.CANCELLED, confirm=True)
    _age_last_move(referral, UNDO_WINDOW + dt.timedelta(seconds=30))
    assert ">Undo</button>" not in _detail(alice_http, referral)
    (error,) = _errors(_undo_page(alice_http, referral))
    assert "10 minutes" in error
    api = _undo_api(alice_api, referral)
    assert api.status_code == 409 and api.json()["detail"] == error
    assert _status(referral) == S.CANCELLED


def test_undo_is_refused_to_another_member(alice_http, tess, make):
    referral = make("out", S.CONSENTED)
    _move(alice_http, referral, S.CANCELLED, confirm=True)
    tess_http = _http(tess)
    assert ">Undo</button>" not in _detail(tess_http, referral)
    (error,) = _errors(_undo_page(tess_http, referral))
    assert error == "Only the person who made the move can undo it."
    api = _undo_api(_api(tess), referral)
    assert api.status_code == 409 and api.json()["detail"] == error
    assert _status(referral) == S.CANCELLED
    # Alice, who made it, still may.
    assert ">Undo</button>" in _detail(alice_http, referral)


def test_undo_only_while_nothing_else_happened(alice_http, tess, make):
    referral = make("out", S.SENT)
    _move(alice_http, referral, S.ACCEPTED)
    _move(_http(tess), referral, S.SEEN)  # another member moved it since
    assert ">Undo</button>" not in _detail(alice_http, referral)
    assert _errors(_undo_page(alice_http, referral))
    assert _status(referral) == S.SEEN

    # A note since is not a change of course: the move can still be undone.
    other = make("out", S.SENT)
    _move(alice_http, other, S.ACCEPTED)
    alice_http.post(reverse("referral_note", args=[other.pk]), {"note": "Booked Monday."})
    assert ">Undo</button>" in _detail(alice_http, other)
    assert not _errors(_undo_page(alice_http, other))
    assert _status(other) == S.SENT


def test_what_the_partner_or_the_sweep_did_is_not_undone(alice_http, alice, make):
    referral = make("out", S.SENT)
    link, _ = services.link_issue(referral=referral, by=alice.user)
    services.link_act(link=link, action="accept", note="", ip_address=None)
    assert ">Undo</button>" not in _detail(alice_http, referral)
    assert _errors(_undo_page(alice_http, referral))
    assert _status(referral) == S.ACCEPTED


def test_a_sent_referral_is_not_undone(alice_http, alice, make):
    referral = make("out", S.CONSENTED)
    services.referral_send(referral=referral, by=alice.user, base_url="http://testserver/")
    assert _status(referral) == S.SENT
    assert ">Undo</button>" not in _detail(alice_http, referral)
    (error,) = _errors(_undo_page(alice_http, referral))
    assert "cannot be called back" in error
    assert _status(referral) == S.SENT


@pytest.mark.parametrize(
    "case", ["fresh", "old", "other member", "twice", "sent", "note only", "partner"]
)
def test_page_and_api_agree_on_undo(alice, tess, make, case):
    """The same situation, on two referrals: the page's button, its answer and the API's
    answer agree."""

    def prepare():
        referral = make("out", S.CONSENTED if case == "sent" else S.SENT)
        if case == "sent":
            services.referral_send(referral=referral, by=alice.user, base_url="http://t/")
        elif case == "partner":
            link, _ = services.link_issue(referral=referral, by=alice.user)
            services.link_act(link=link, action="accept", note="", ip_address=None)
        elif case != "note only":
            services.referral_transition(referral=referral, to=S.ACCEPTED, by=alice.user)
        if case == "old":
            _age_last_move(referral, UNDO_WINDOW + dt.timedelta(minutes=1))
        if case == "twice":
            services.referral_undo(referral=referral, by=alice.user)
        services.referral_note(
            referral=Referral.objects.get(pk=referral.pk), by=alice.user, note="n"
        )
        return Referral.objects.get(pk=referral.pk)

    who = tess if case == "other member" else alice
    on_page, in_api = prepare(), prepare()
    offered = ">Undo</button>" in _detail(_http(who), on_page)
    page = _undo_page(_http(who), on_page)
    api = _undo_api(_api(who), in_api)
    expected = case == "fresh"
    assert offered is expected
    assert (not _errors(page)) is expected
    assert (api.status_code == 200) is expected
    assert _status(on_page) == _status(in_api)
    if not expected:
        assert api.status_code == 409 and _errors(page) == [api.json()["detail"]]


def test_the_undo_rule_in_states():
    age = dt.timedelta(minutes=1)
    ok = {"made_by_you": True, "age": age}
    assert undo_refusal("out", S.CANCELLED, (S.CONSENTED, S.CANCELLED), **ok) == ""
    assert undo_refusal("out", S.CANCELLED, None, **ok) == "There is no move to undo."
    assert undo_refusal("out", S.DRAFT, ("", S.DRAFT), **ok) == "There is no move to undo."
    assert "moved since" in undo_refusal("out", S.SEEN, (S.SENT, S.ACCEPTED), **ok)
    assert "called back" in undo_refusal("out", S.SENT, (S.CONSENTED, S.SENT), **ok)
    assert "called back" in undo_refusal("in", S.REPORTED, (S.SEEN, S.REPORTED), **ok)
    assert undo_refusal("out", S.CLOSED, (S.CANCELLED, S.CLOSED), **ok) == (
        "This move cannot be undone."
    )
    assert "person who made" in undo_refusal(
        "out", S.CANCELLED, (S.CONSENTED, S.CANCELLED), made_by_you=False, age=age
    )
    assert "minutes" in undo_refusal(
        "out", S.CANCELLED, (S.CONSENTED, S.CANCELLED), made_by_you=True, age=UNDO_WINDOW * 2
    )


# --- who may -------------------------------------------------------------------------------


def test_another_practice_finds_nothing_to_note_move_or_undo(charlie_http, charlie_api, make):
    referral = make("out", S.CONSENTED)
    for name, data in (
        ("referral_note", {"note": "x"}),
        ("referral_undo", {}),
        ("referral_transition", {"to": "cancelled", "confirm": "yes"}),
        ("referral_transition", {"to": "cancelled"}),
    ):
        response = charlie_http.post(reverse(name, args=[referral.pk]), data)
        assert response.status_code == 404, name
    for path, body in (("notes", {"note": "x"}), ("undo", {})):
        response = _post_json(charlie_api, f"/api/v1/referrals/{referral.pk}/{path}", body)
        assert response.status_code == 404, path
    assert _status(referral) == S.CONSENTED
    assert ReferralEvent.objects.filter(referral=referral).count() == 1


def test_the_front_desk_writes_no_note(bob_http, bob, make):
    referral = make("out", S.CONSENTED)
    page = _detail(bob_http, referral)
    assert 'name="note"' not in page and ">Add a note</button>" not in page
    response = bob_http.post(reverse("referral_note", args=[referral.pk]), {"note": "DESK"})
    assert response.status_code == 403
    api = _post_json(_api(bob), f"/api/v1/referrals/{referral.pk}/notes", {"note": "DESK"})
    assert api.status_code == 403
    assert not ReferralEvent.objects.filter(referral=referral, kind=EventKind.NOTE).exists()


def test_the_front_desk_moves_without_sending_confirms_and_undoes_its_own(bob_http, make):
    referral = make("out", S.CONSENTED)
    # Sending is a clinician's action: no button for it, and posting it is refused.
    assert "sent" not in _buttons(_detail(bob_http, referral))
    assert _errors(_move(bob_http, referral, S.SENT, confirm=True))
    assert _status(referral) == S.CONSENTED
    # Cancelling asks first, and a note is not taken from the desk.
    confirm = _move(bob_http, referral, S.CANCELLED, note="DESKNOTE")
    assert confirm.status_code == 200 and b'name="note"' not in confirm.content
    assert _status(referral) == S.CONSENTED
    _move(bob_http, referral, S.CANCELLED, confirm=True, note="DESKNOTE")
    assert _status(referral) == S.CANCELLED
    assert not ReferralEvent.objects.filter(note__contains="DESKNOTE").exists()
    # Bob undoes his own move.
    assert ">Undo</button>" in _detail(bob_http, referral)
    assert not _errors(_undo_page(bob_http, referral))
    assert _status(referral) == S.CONSENTED

    referral_in = make("in", S.SEEN)
    assert "reported" not in _buttons(_detail(bob_http, referral_in))


# --- the timeline says what happened ---------------------------------------------------------


def test_the_partners_answers_are_shown_as_theirs(alice_http, alice, make):
    referral = make("out", S.SENT)
    link, _ = services.link_issue(referral=referral, by=alice.user)
    for action, note in (("accept", ""), ("seen", ""), ("note", "Booked again for May.")):
        # As the partner's page does: the link (and its referral) read afresh for each answer.
        fresh = ReferralLink.objects.get(pk=link.pk)
        services.link_act(link=fresh, action=action, note=note, ip_address=None)
    page = _detail(alice_http, referral)
    assert "[partner link]" not in page
    assert "Dr. Dana Spine acknowledged it via the secure link" in page
    assert "Dr. Dana Spine accepted via the secure link" in page
    assert "Dr. Dana Spine has seen the client (via the secure link)" in page
    assert "<strong>Note from Dr. Dana Spine:</strong> Booked again for May." in page
    assert "Client seen" not in page.split('id="timelinehead"')[1].split("</ol>")[0]
    note = ReferralEvent.objects.filter(referral=referral).latest("id")
    assert (note.kind, note.via, note.note) == (
        EventKind.NOTE,
        Via.PARTNER_LINK,
        "Booked again for May.",
    )


def test_the_old_timeline_is_rewritten_by_the_migration(elm_grove, make):
    """Notes written before: "[partner link] …" tags, and a partner's note as a move to the
    same status."""
    referral = make("out", S.SEEN)

    def event(frm, to, note):
        return ReferralEvent.objects.create(
            practice=elm_grove,
            referral=referral,
            from_status=frm,
            to_status=to,
            at=timezone.now(),
            note=note,
        )

    accepted = event(S.SENT, S.ACCEPTED, "[partner link] ")
    note = event(S.ACCEPTED, S.ACCEPTED, "[partner link] Booked for Monday")
    letter = event(S.CONSENTED, S.SENT, "[letter] Letter: Referral")
    plain = event(S.SENT, S.SEEN, "Called to check")
    migration = importlib.import_module("referwell.referrals.migrations.0009_event_kind_and_via")
    from django.apps import apps

    migration.forwards(apps, None)
    rows = {e.pk: (e.kind, e.via, e.note) for e in ReferralEvent.objects.all()}
    assert rows[accepted.pk] == ("move", "partner link", "")
    assert rows[note.pk] == ("note", "partner link", "Booked for Monday")
    assert rows[letter.pk] == ("move", "letter", "Letter: Referral")
    assert rows[plain.pk] == ("move", "", "Called to check")
    migration.backwards(apps, None)
    assert ReferralEvent.objects.get(pk=note.pk).note == "[partner link] Booked for Monday"


# --- small items -------------------------------------------------------------------------------


def test_the_list_shows_no_none_for_a_referral_without_partner(alice_http, elm_grove, make):
    anonymous = make("in", S.RECEIVED)
    Referral.objects.filter(pk=anonymous.pk).update(partner=None, profession=None)
    by_friend = make("in", S.RECEIVED)
    Referral.objects.filter(pk=by_friend.pk).update(
        partner=None, profession=None, referrer_name="Sofia at the gym"
    )
    html = alice_http.get(reverse("referral_list")).content.decode()
    assert ">None<" not in html and "None" not in html.split("<tbody>")[1]
    assert "—" in html and "Sofia at the gym" in html


def test_an_unknown_referrer_is_said_so(make):
    referral = make("in", S.RECEIVED)
    Referral.objects.filter(pk=referral.pk).update(partner=None)
    referral = Referral.objects.get(pk=referral.pk)
    assert referral.referrer_label == "(referrer not recorded)"


def test_last_move_at_is_the_last_move_not_the_creation(alice, make):
    referral = make("out", S.SENT)
    Referral.objects.filter(pk=referral.pk).update(
        created_at=timezone.now() - dt.timedelta(days=30)
    )
    services.referral_transition(referral=referral, to=S.ACCEPTED, by=alice.user)
    moved = ReferralEvent.objects.filter(referral=referral).latest("id").at
    services.referral_note(referral=referral, by=alice.user, note="later")  # not a move
    row = Referral.objects.annotate(moved_at=selectors.last_move_at()).get(pk=referral.pk)
    assert row.moved_at == moved


def test_the_dashboard_says_since_when_and_from_whom(alice_http, alice, make):
    waiting = make("out", S.SENT)
    month_ago = timezone.now() - dt.timedelta(days=30)
    Referral.objects.filter(pk=waiting.pk).update(created_at=month_ago)
    ReferralEvent.objects.filter(referral=waiting).update(at=month_ago)
    services.referral_transition(referral=waiting, to=S.RECEIVED, by=alice.user)
    unknown = make("in", S.RECEIVED)
    Referral.objects.filter(pk=unknown.pk).update(partner=None)
    friend = make("in", S.RECEIVED)
    Referral.objects.filter(pk=friend.pk).update(partner=None, referrer_name="Sofia at the gym")

    html = alice_http.get(reverse("dashboard")).content.decode()
    # Its row in the table of referrals waiting (What to do next may link it earlier).
    table = html.split("Referrals out waiting for an answer")[1]
    row = table.split(reverse("referral_detail", args=[waiting.pk]))[1].split("</tr>")[0]
    today = timezone.localtime()
    assert f"{today:%b} {today.day}</td>" in row  # the last move's day, not the creation's
    assert f"{timezone.localtime(month_ago):%b} {timezone.localtime(month_ago).day}<" not in row
    assert "from someone" not in html
    assert "from (referrer not recorded)" in html
    assert "from Sofia at the gym" in html
    assert "from Dr. Dana Spine" not in html  # no referral in from her here


# --- in a browser, on a phone and on a laptop ----------------------------------------------------

SHOTS = Path("/tmp/shots")

# What sticks out past the right edge of the window, outside the menu bar (templates/base.html,
# shared by every page, is checked on its own by tests/test_browser_pages.py).
OVERFLOW = """() => {
  const out = [];
  for (const e of document.querySelectorAll("body *")) {
    if (e.closest("header.topbar")) continue;
    const r = e.getBoundingClientRect();
    if (r.width && r.right > window.innerWidth + 0.5) out.push(e.tagName + " " + e.className);
  }
  const main = document.querySelector("main");
  if (main.scrollWidth > main.clientWidth) out.push("main scrolls");
  return out;
}"""


def _no_overflow(page):
    """The page scrolls sideways only if the shared menu bar does (see OVERFLOW)."""
    wide = page.evaluate(OVERFLOW)
    assert not wide, wide
    header_wide = page.evaluate(
        "document.querySelector('header.topbar').scrollWidth > window.innerWidth"
    )
    if not header_wide:
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    return True


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)], ids=["phone", "laptop"])
def test_a_typed_note_never_moves_the_referral_in_a_browser(
    page, live_server, alice, elm_grove, client_alice_jones, partner, width, height
):
    from playwright.sync_api import expect

    Consent.objects.create(
        practice=elm_grove, client=client_alice_jones, partner=partner, scope=ConsentScope.TALK
    )
    referral = services.referral_create(
        practice=elm_grove,
        by=alice.user,
        fields={"client": client_alice_jones, "partner": partner, "reasons": "Neck pain."},
    )
    services.referral_transition(referral=referral, to=S.CONSENTED, by=alice.user)

    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill("alice@example.com")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/referrals/{referral.pk}/")
    badge = page.locator(".actions .badge")
    expect(badge).to_have_text("Client consented")

    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"referral-{width}.png"), full_page=True)
    page.get_by_label("Add a note to the timeline").fill(NOTE)
    page.get_by_role("button", name="Add a note").click()
    expect(page.locator(".messages")).to_contain_text("Note added")
    expect(badge).to_have_text("Client consented")
    expect(page.locator("ol.timeline")).to_contain_text(NOTE)
    assert _status(referral) == S.CONSENTED

    # No horizontal scrolling, and every button is a target a thumb can hit (those that end
    # the referral are under "More moves").
    assert _no_overflow(page)
    page.locator("summary", has_text="More moves").click()
    for button in page.locator("main button").all():
        box = button.bounding_box()
        assert box["height"] >= 44, (button.inner_text(), box)

    # Cancelling asks first; the question page works without a script.
    page.get_by_role("button", name="Cancel referral…").click()
    expect(page.get_by_role("button", name="Yes, cancel the referral")).to_be_visible()
    page.screenshot(path=str(SHOTS / f"confirm-{width}.png"), full_page=True)
    assert _no_overflow(page)
    assert _status(referral) == S.CONSENTED
    page.get_by_role("button", name="Yes, cancel the referral").click()
    expect(badge).to_have_text("Cancelled")
    page.screenshot(path=str(SHOTS / f"undo-{width}.png"), full_page=True)
    assert _no_overflow(page)
    page.get_by_role("button", name="Undo").click()
    expect(badge).to_have_text("Client consented")
    expect(page.locator("ol.timeline")).to_contain_text("Undone: Cancelled")
    page.screenshot(path=str(SHOTS / f"undone-{width}.png"), full_page=True)
    assert _status(referral) == S.CONSENTED

    # The most buttons a referral has (one sent, waiting for an answer): they wrap, none is
    # cut off or too small.
    many = ReferralFactory(
        practice=elm_grove,
        client=client_alice_jones,
        partner=partner,
        status=S.SENT,
        sent_at=timezone.now(),
    )
    page.goto(f"{live_server.url}/referrals/{many.pk}/")
    expect(page.get_by_role("button", name="Mark accepted")).to_be_visible()
    page.screenshot(path=str(SHOTS / f"sent-{width}.png"), full_page=True)
    assert _no_overflow(page)
    page.locator("summary", has_text="More moves").click()
    for button in page.locator("main button").all():
        assert button.bounding_box()["height"] >= 44, button.inner_text()
