from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms

from referwell.accounts.models import User
from referwell.audit.selectors import AuditFilters
from referwell.core.dates import validate_in_range

# Objects an entry can name, as the audit stores them (model names).
OBJECT_TYPES = (
    ("client", "Client"),
    ("partner", "Partner"),
    ("referral", "Referral"),
    ("consent", "Consent"),
    ("visit", "Visit"),
    ("disclosure", "Disclosure"),
    ("referralrequest", "Referral request (inbound)"),
    ("referrallink", "Partner link"),
    ("outgoingmessage", "Letter or e-mail"),
    ("touchpoint", "Contact with a partner"),
    ("practice", "Practice"),
    ("member", "Member"),
)


class AuditFilterForm(forms.Form):
    member = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    action = forms.CharField(
        required=False,
        max_length=100,
        label="Action code",
        widget=forms.TextInput(attrs={"placeholder": "referwell.client"}),
    )
    object_type = forms.ChoiceField(
        required=False, label="Object", choices=[("", "Any object"), *OBJECT_TYPES]
    )
    object_id = forms.CharField(required=False, max_length=40, label="Object id")
    since = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput({"type": "date"}),
        validators=[validate_in_range],
    )
    until = forms.DateField(
        required=False,
        label="To",
        widget=forms.DateInput({"type": "date"}),
        validators=[validate_in_range],
    )

    def __init__(self, *args: Any, people: Iterable[User] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        member_field = self.fields["member"]
        assert isinstance(member_field, forms.ChoiceField)
        member_field.choices = [("", "Anyone")] + [(u.pk, str(u)) for u in people]

    def filters(self) -> AuditFilters:
        """The filters that are valid; a wrong one (a date that is not one) is left out."""
        if not self.is_bound:
            return AuditFilters()
        self.is_valid()
        data = self.cleaned_data
        return AuditFilters(
            member=data.get("member"),
            action=(data.get("action") or "").strip(),
            object_type=data.get("object_type") or "",
            object_id=(data.get("object_id") or "").strip(),
            since=data.get("since"),
            until=data.get("until"),
        )
