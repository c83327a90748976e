from __future__ import annotations

from typing import Any

from django import forms

from referwell.accounts.models import Practice
from referwell.clients.models import Client
from referwell.directory.models import Partner
from referwell.directory.selectors import profession_list
from referwell.referrals.models import Referral
from referwell.referrals.states import Status, allowed_next


class ReferralForm(forms.ModelForm):
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
        self.fields["client"].queryset = Client.objects.for_practice(practice)
        self.fields["partner"].queryset = Partner.objects.for_practice(practice)
        self.fields["profession"].queryset = profession_list()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("partner") and not data.get("profession"):
            raise forms.ValidationError("Name a partner, or at least the kind of professional.")
        return data


class TransitionForm(forms.Form):
    to = forms.ChoiceField(label="Move to")
    note = forms.CharField(required=False, widget=forms.TextInput)

    def __init__(
        self, *args: Any, referral: Referral, clinical: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not clinical:  # a timeline note is clinical text: not written by the front desk
            del self.fields["note"]
        # Sending goes through "Send the referral" (the letter and the link), and a report
        # back through "Send the report".
        self.fields["to"].choices = [
            (s, Status(s).label)
            for s in allowed_next(referral.status, referral.direction)
            if not (referral.is_out and s == Status.SENT)
            and not (not referral.is_out and s == Status.REPORTED)
        ]
