from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from referwell.accounts.models import Practice
from referwell.clients.models import Client, Consent, Stream, Visit
from referwell.core.widgets import LongSelect
from referwell.directory.models import Partner
from referwell.directory.selectors import profession_list


class ClientForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "date_of_birth",
            "zip_code",
            "insurance",
            "complaints",
            "goals",
            "history",
            "notes",
            "stream",
            "source_partner",
            "source_client",
            "source_name",
            "may_tell_referrer",
        ]
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}),
            "complaints": forms.Textarea(attrs={"rows": 2}),
            "goals": forms.Textarea(attrs={"rows": 2}),
            "history": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }
        labels = {"stream": "How they found you", "source_partner": "Referred by (partner)"}

    assessment_today = forms.BooleanField(
        label="Today's session is the needs assessment",
        required=False,
        help_text="Referral guidance then holds back referral talk today (red flags excepted).",
    )

    def __init__(
        self, *args: Any, practice: Practice, clinical: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today = timezone.localdate()
        self.fields["assessment_today"].initial = self.instance.needs_assessment_on == self.today
        if not clinical:
            # Front desk: contact details only; intake stays as it is.
            for name in self.INTAKE:
                del self.fields[name]
        self.fields["source_partner"].queryset = Partner.objects.for_practice(practice)
        others = Client.objects.for_practice(practice)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        self.fields["source_client"].queryset = others
        self.fields["source_client"].label = "Referred by (client)"

    CONTACT = (
        "first_name",
        "last_name",
        "email",
        "phone",
        "date_of_birth",
        "zip_code",
        "insurance",
    )
    INTAKE = ("complaints", "goals", "history", "notes", "assessment_today")
    SOURCE = ("stream", "source_partner", "source_client", "source_name", "may_tell_referrer")

    def contact_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in self.CONTACT]

    def intake_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in self.INTAKE if n in self.fields]

    def source_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in self.SOURCE]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("stream") == Stream.MEDICAL and not data.get("source_partner"):
            self.add_error("source_partner", "Which professional sent this client?")
        # The box speaks of today; the client keeps the day (a later day's page knows better).
        if "assessment_today" in data:
            if data.pop("assessment_today"):
                data["needs_assessment_on"] = self.today
            elif self.instance.needs_assessment_on == self.today:
                data["needs_assessment_on"] = None
        return data


class VisitForm(forms.ModelForm):
    class Meta:
        model = Visit
        fields = ["date", "service", "fee", "payer", "notes"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, clinical: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payer"].required = False
        if not clinical:  # visit notes are clinical text: not written by the front desk
            del self.fields["notes"]

    def clean_payer(self) -> str:
        return self.cleaned_data.get("payer") or "client"

    def clean_fee(self) -> Any:
        fee = self.cleaned_data["fee"]
        if fee is not None and fee < 0:
            raise forms.ValidationError("A fee cannot be negative.")
        return fee


class ConsentForm(forms.ModelForm):
    class Meta:
        model = Consent
        fields = ["partner", "profession", "scope", "purpose", "given_on", "expires_on"]
        widgets = {
            "partner": LongSelect,
            "given_on": forms.DateInput(attrs={"type": "date"}),
            "expires_on": forms.DateInput(attrs={"type": "date"}),
        }
        help_texts = {"partner": "Name a partner, or a kind of professional below."}

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only what the list shows (a network can have thousands of partners).
        self.fields["partner"].queryset = Partner.objects.for_practice(practice).only("pk", "name")
        self.fields["profession"].queryset = profession_list()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("partner") and not data.get("profession"):
            raise forms.ValidationError("Name the partner or the kind of professional.")
        given, expires = data.get("given_on"), data.get("expires_on")
        if given and expires and expires < given:
            self.add_error("expires_on", "The consent cannot expire before it was given.")
        return data
