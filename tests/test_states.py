import pytest

from referwell.referrals.states import (
    FHIR_TASK_STATUS,
    TRANSITIONS,
    Status,
    TransitionError,
    allowed_next,
    check_transition,
)


def test_every_status_maps_to_a_fhir_task_status():
    fhir = {
        "draft",
        "requested",
        "received",
        "accepted",
        "rejected",
        "in-progress",
        "completed",
        "cancelled",
        "failed",
    }
    assert set(FHIR_TASK_STATUS) == set(Status.values)
    assert set(FHIR_TASK_STATUS.values()) <= fhir


def test_api_status_values_are_the_documented_ones():
    assert Status.values == [
        "draft",
        "discussed",
        "consented",
        "sent",
        "received",
        "accepted",
        "declined",
        "seen",
        "reported",
        "closed",
        "cancelled",
        "no-response",
    ]


def test_draft_goes_to_sent_then_closed():
    check_transition("draft", "sent")
    check_transition("sent", "closed")
    assert allowed_next("draft") == ["sent", "cancelled"]


@pytest.mark.parametrize(
    ("current", "to"),
    [("draft", "closed"), ("closed", "sent"), ("cancelled", "draft"), ("sent", "nowhere")],
)
def test_illegal_moves_are_refused_with_a_reason(current, to):
    with pytest.raises(TransitionError) as err:
        check_transition(current, to)
    assert to in str(err.value)


def test_finished_states_have_no_way_out():
    assert TRANSITIONS[Status.CLOSED] == set() and TRANSITIONS[Status.CANCELLED] == set()
