"""The referral state machine: every move allowed and every move refused, both directions."""

import pytest

from referwell.clients.services import consent_scope_for
from referwell.referrals.states import (
    FHIR_TASK_STATUS,
    IN_TRANSITIONS,
    OUT_TRANSITIONS,
    Status,
    TransitionError,
    allowed_next,
    check_transition,
    disclosure_of_move,
)

ALL = list(Status.values)


def test_every_status_maps_to_a_fhir_task_status():
    fhir = {"draft", "requested", "received", "accepted", "rejected", "in-progress",
            "completed", "cancelled", "failed"}  # fmt: skip
    assert set(FHIR_TASK_STATUS) == set(Status.values)
    assert set(FHIR_TASK_STATUS.values()) <= fhir


def test_api_status_values_are_the_documented_ones():
    assert Status.values == [
        "draft", "discussed", "consented", "sent", "received", "accepted", "declined",
        "seen", "reported", "closed", "cancelled", "no-response",
    ]  # fmt: skip


def test_the_articles_path_out_is_allowed_step_by_step():
    path = ["draft", "discussed", "consented", "sent", "received", "accepted", "seen",
            "reported", "closed"]  # fmt: skip
    for current, to in zip(path, path[1:], strict=False):
        check_transition(current, to, "out")


def test_the_path_in_is_allowed_step_by_step():
    path = ["received", "accepted", "seen", "reported", "closed"]
    for current, to in zip(path, path[1:], strict=False):
        check_transition(current, to, "in")


@pytest.mark.parametrize(("direction", "table"), [("out", OUT_TRANSITIONS), ("in", IN_TRANSITIONS)])
def test_every_pair_is_either_allowed_or_refused_with_a_reason(direction, table):
    allowed = refused = 0
    for current in ALL:
        for to in ALL:
            if to in table.get(current, set()):
                check_transition(current, to, direction)
                allowed += 1
            else:
                with pytest.raises(TransitionError) as err:
                    check_transition(current, to, direction)
                assert f"'{to}'" in str(err.value)
                refused += 1
    assert allowed >= 10 and refused > allowed


def test_finished_referrals_cannot_move():
    for direction in ("out", "in"):
        for final in ("closed", "cancelled"):
            assert allowed_next(final, direction) == []
            with pytest.raises(TransitionError, match="finished"):
                check_transition(final, "draft", direction)


def test_no_response_can_be_revived_or_closed():
    assert {"sent", "received", "accepted", "declined", "closed", "cancelled"} == set(
        allowed_next("no-response")
    )


def test_unknown_status_is_refused():
    with pytest.raises(TransitionError, match="not a referral status"):
        check_transition("draft", "teleported")


def test_moves_that_disclose_need_consent():
    # What a move discloses; its consent is the clients' rule: a letter needs written consent.
    assert disclosure_of_move("out", "sent") == "referral"
    assert disclosure_of_move("out", "consented") == "talk"
    assert disclosure_of_move("in", "reported") == "progress_report"
    assert disclosure_of_move("out", "cancelled") is None
    assert consent_scope_for(disclosure_of_move("out", "sent")) == "report"
    assert consent_scope_for(disclosure_of_move("out", "consented")) == "talk"
