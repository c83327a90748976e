from __future__ import annotations

from typing import Any

from django import forms

from referwell.inbound.models import ReferralRequest

REASON_MAX_LENGTH = 2000
HONEYPOT_FIELD = "website"


class ReferralRequestForm(forms.ModelForm[ReferralRequest]):
    """The public form. Every field has a maximum length; `website` is the honeypot, hidden
    from people by CSS and left empty by them, filled in by bots."""

    reason = forms.CharField(
        label="Reason for the referral",
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the client needs, briefly. Please send no more than is needed.",
    )
    client_agreed_to_be_contacted = forms.BooleanField(
        label="The client agreed to be contacted by the practice", required=True
    )
    website = forms.CharField(
        label="Leave this field empty",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    class Meta:
        model = ReferralRequest
        fields = [
            "referrer_name",
            "referrer_organization",
            "referrer_phone",
            "referrer_email",
            "client_first_name",
            "client_last_name",
            "client_phone",
            "client_email",
            "reason",
            "client_agreed_to_be_contacted",
        ]
        widgets = {
            "referrer_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "client_phone": forms.TextInput(attrs={"type": "tel"}),
            "referrer_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "referrer_organization": forms.TextInput(attrs={"autocomplete": "organization"}),
            "referrer_email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # a ModelForm's clean returns its cleaned_data
        if not (data.get("client_phone") or data.get("client_email")):
            self.add_error("client_phone", "Give the client's phone or e-mail, to reach them.")
        if not (data.get("referrer_phone") or data.get("referrer_email")):
            self.add_error("referrer_phone", "Give your phone or e-mail, in case of a question.")
        return data

    @property
    def visible_fields_without_honeypot(self) -> list[forms.BoundField]:
        return [f for f in self if f.name != HONEYPOT_FIELD]

    def request_fields(self) -> dict[str, Any]:
        """What the service stores: the cleaned fields without the honeypot."""
        return {k: v for k, v in self.cleaned_data.items() if k != HONEYPOT_FIELD}
