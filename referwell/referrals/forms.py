from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django import forms

from referwell.accounts.models import Practice
from referwell.clients.models import Client
from referwell.directory.models import Partner, Profession
from referwell.directory.selectors import profession_list
from referwell.referrals.models import NOTE_MAX_LENGTH, Referral
from referwell.referrals.states import (
    Status,
    allowed_next,
    needs_confirmation,
    sends_information,
)


class ReferralForm(forms.ModelForm[Referral]):
    class Meta:
        model = Referral
        fields = [
            "direction",
            "client",
            "partner",
            "profession",
            "reasons",
            "valid_until",
            "valid_visits",
            "report_interval_days",
        ]
        widgets = {
            "reasons": forms.Textarea(attrs={"rows": 3}),
            "valid_until": forms.DateInput(attrs={"type": "date"}),
        }
        labels = {"report_interval_days": "Progress report every (days)"}

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        client = cast("forms.ModelChoiceField[Client]", self.fields["client"])
        client.queryset = Client.objects.for_practice(practice)
        partner = cast("forms.ModelChoiceField[Partner]", self.fields["partner"])
        partner.queryset = Partner.objects.for_practice(practice)
        profession = cast("forms.ModelChoiceField[Profession]", self.fields["profession"])
        profession.queryset = profession_list()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # a ModelForm's clean returns its cleaned_data
        if not data.get("partner") and not data.get("profession"):
            raise forms.ValidationError("Name a partner, or at least the kind of professional.")
        return data


# Each move's button, named by what it does (the status it leads to is the badge's word).
MOVE_BUTTONS: dict[tuple[str, str], str] = {
    ("out", Status.DISCUSSED): "Discussed with the client",
    ("out", Status.CONSENTED): "Client agreed",
    ("out", Status.RECEIVED): "Partner received it",
    ("out", Status.ACCEPTED): "Mark accepted",
    ("out", Status.DECLINED): "Mark declined",
    ("out", Status.NO_RESPONSE): "Mark no response",
    ("out", Status.SEEN): "Client seen",
    ("out", Status.REPORTED): "Partner reported back",
    ("out", Status.CLOSED): "Close",
    ("out", Status.CANCELLED): "Cancel referral",
    ("in", Status.ACCEPTED): "Accept",
    ("in", Status.DECLINED): "Decline",
    ("in", Status.SEEN): "Client seen",
    ("in", Status.CLOSED): "Close",
    ("in", Status.CANCELLED): "Cancel referral",
}

# The second step of a move that ends the referral: the question, and the button that answers it.
ENDING_QUESTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("out", Status.DECLINED): (
        "Mark this referral declined? The partner will not see the client; the referral can "
        "then only be closed.",
        "Yes, mark it declined",
    ),
    ("in", Status.DECLINED): (
        "Decline this referral? You will not see the client; the referral can then only be closed.",
        "Yes, decline it",
    ),
    ("out", Status.CLOSED): (
        "Close this referral? It is finished then: nothing more can happen to it.",
        "Yes, close it",
    ),
    ("in", Status.CLOSED): (
        "Close this referral? It is finished then: nothing more can happen to it.",
        "Yes, close it",
    ),
    ("out", Status.CANCELLED): (
        "Cancel this referral? It is finished then: nothing more can happen to it.",
        "Yes, cancel the referral",
    ),
    ("in", Status.CANCELLED): (
        "Cancel this referral? It is finished then: nothing more can happen to it.",
        "Yes, cancel the referral",
    ),
}


@dataclass(frozen=True)
class Move:
    """One move the page offers: its button, and for an ending move its second step."""

    to: str
    label: str
    ends: bool
    question: str = ""
    confirm_label: str = ""


def move_for(direction: str, to: str) -> Move:
    ends = needs_confirmation(direction, to)
    question, confirm_label = ENDING_QUESTIONS.get(
        (direction, to), (f"Move this referral to {Status(to).label}?", "Yes")
    )
    return Move(
        to=to,
        label=MOVE_BUTTONS.get((direction, to), Status(to).label),
        ends=ends,
        question=question if ends else "",
        confirm_label=confirm_label if ends else "",
    )


class TransitionForm(forms.Form):
    """One move, named by its button (`to`), with an optional note. A move that ends the
    referral is made only with `confirm` (the second step); without it the page asks."""

    to = forms.ChoiceField(label="Move to")
    note = forms.CharField(
        label="Note with the move (optional)",
        required=False,
        max_length=NOTE_MAX_LENGTH,
        # A text area: Enter in a one-line field would press the form's first button.
        widget=forms.Textarea(attrs={"rows": 1}),
    )
    # "yes" from the second step's form; anything else is no confirmation.
    confirm = forms.CharField(required=False, max_length=3, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, referral: Referral, clinical: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.referral = referral
        if not clinical:  # a timeline note is clinical text: not written by the front desk
            del self.fields["note"]
        # Moves that send the client's information out are made by their own action, which
        # writes the letter (Send the referral) or the report (Send the report).
        self.offered = [
            s
            for s in allowed_next(referral.status, referral.direction)
            if not sends_information(referral.direction, s)
        ]
        cast(forms.ChoiceField, self.fields["to"]).choices = [
            (s, Status(s).label) for s in self.offered
        ]

    @property
    def moves(self) -> list[Move]:
        """The moves offered, each its own button: the ones that go on first, then the ones
        that end the referral."""
        moves = [move_for(self.referral.direction, to) for to in self.offered]
        return [m for m in moves if not m.ends] + [m for m in moves if m.ends]

    @property
    def going_on(self) -> list[Move]:
        return [m for m in self.moves if not m.ends]

    @property
    def ending(self) -> list[Move]:
        """The moves that end the referral: each asks to be confirmed in a second step."""
        return [m for m in self.moves if m.ends]

    @property
    def needs_confirmation(self) -> bool:
        """A valid move that ends the referral, not confirmed yet."""
        to = self.cleaned_data["to"]
        confirmed = self.cleaned_data.get("confirm") == "yes"
        return needs_confirmation(self.referral.direction, to) and not confirmed


class NoteForm(forms.Form):
    """A note on the timeline: its own action, which never moves the referral."""

    note = forms.CharField(
        label="Add a note to the timeline",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="A note never moves the referral.",
    )
