from typing import Any, cast

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from referwell.accounts.models import Member, Practice, Role, User
from referwell.core.validators import validate_us_zip


class PracticeForm(forms.ModelForm[Practice]):
    class Meta:
        model = Practice
        fields = [
            "name",
            "email",
            "phone",
            "street",
            "city",
            "state",
            "zip_code",
            "modalities",
            "treats",
            "does_not_treat",
            "how_to_refer",
            "no_response_business_days",
            "paper_size",
        ]
        widgets = {
            "treats": forms.Textarea(attrs={"rows": 3}),
            "does_not_treat": forms.Textarea(attrs={"rows": 3}),
            "how_to_refer": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zip_code"].validators.append(validate_us_zip)
        days = cast(forms.IntegerField, self.fields["no_response_business_days"])
        days.min_value = 1
        days.widget.attrs["min"] = 1

    def clean_state(self) -> str:
        return (self.cleaned_data.get("state") or "").upper()

    def clean_no_response_business_days(self) -> int:
        days: int = self.cleaned_data["no_response_business_days"]
        if days < 1 or days > 60:
            raise forms.ValidationError("Choose between 1 and 60 business days.")
        return days


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "autocapitalize": "off"}
        ),
    )


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password


class RequireTwoFactorForm(forms.Form):
    require_two_factor = forms.BooleanField(
        label="Require two-factor login for every member", required=False
    )


class EmailAuthenticationForm(AuthenticationForm):
    """Django's login form (the e-mail field is named "username", which django-axes reads);
    addresses are stored in lower case, so they are matched in lower case."""

    def clean_username(self) -> str:
        return (self.cleaned_data.get("username") or "").strip().lower()


class MemberInviteForm(forms.Form):
    # No name: the person gives their own when they accept.
    email = forms.EmailField(label="E-mail")
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.THERAPIST,
        help_text="Front desk: schedules and contact details, no clinical notes. "
        "Owner: also the practice's settings, members, letters and exports.",
    )


class MemberChangeForm(forms.Form):
    ACTIONS = ("role", "remove", "restore", "reset_two_factor")

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    role = forms.ChoiceField(choices=Role.choices, required=False)


class InvitationAnswerForm(forms.Form):
    member = forms.IntegerField(widget=forms.HiddenInput)
    answer = forms.ChoiceField(choices=[("accept", "Accept"), ("decline", "Decline")])
    first_name = forms.CharField(label="Your first name", max_length=150, required=False)
    last_name = forms.CharField(label="Your last name", max_length=150, required=False)


class NotificationsForm(forms.ModelForm[Member]):
    """What one member is told by e-mail; their own, in each practice they work in."""

    class Meta:
        model = Member
        fields = ["notify_answers", "notify_inbound"]
