from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.html import format_html

from referwell.accounts.models import Practice
from referwell.clients.documents import MAX_PAPER_BYTES, paper_form, signature_png
from referwell.clients.models import SCOPE_ALLOWS, Client, Consent, ConsentScope, Stream, Visit
from referwell.clients.services import HOW_LINK, HOW_NOTED, HOW_PAPER, HOW_SIGN_HERE
from referwell.core.widgets import LongSelect
from referwell.directory.models import Partner, Profession
from referwell.directory.selectors import profession_list


class ClientForm(forms.ModelForm[Client]):
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
        partners = cast(forms.ModelChoiceField[Partner], self.fields["source_partner"])
        partners.queryset = Partner.objects.for_practice(practice)
        others = Client.objects.for_practice(practice)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        clients = cast(forms.ModelChoiceField[Client], self.fields["source_client"])
        clients.queryset = others
        clients.label = "Referred by (client)"

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
        assert data is not None  # a ModelForm's clean returns its cleaned_data
        if data.get("stream") == Stream.MEDICAL and not data.get("source_partner"):
            self.add_error("source_partner", "Which professional sent this client?")
        # The box speaks of today; the client keeps the day (a later day's page knows better).
        if "assessment_today" in data:
            if data.pop("assessment_today"):
                data["needs_assessment_on"] = self.today
            elif self.instance.needs_assessment_on == self.today:
                data["needs_assessment_on"] = None
        return data


class VisitForm(forms.ModelForm[Visit]):
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

    def clean_fee(self) -> Decimal | None:
        fee: Decimal | None = self.cleaned_data["fee"]
        if fee is not None and fee < 0:
            raise forms.ValidationError("A fee cannot be negative.")
        return fee


def _scope_choices() -> list[tuple[str, str]]:
    """Each scope with what it allows in plain words, for the radio buttons."""
    return [
        (value, format_html("<span><strong>{}</strong> — {}</span>", label, SCOPE_ALLOWS[value]))
        for value, label in ConsentScope.choices
    ]


HOW_CHOICES = [
    (HOW_SIGN_HERE, "The client signs now, on this screen (a tablet or a phone)"),
    (HOW_LINK, "E-mail the client a link to sign (no account needed)"),
    (HOW_PAPER, "The client signed a paper form: upload it"),
    (HOW_NOTED, "The client agreed by word: note it, without a signature"),
]


class PaperField(forms.FileField):
    """The signed paper form: PDF, JPEG or PNG, size-limited, its content checked (not its
    name); cleaned to (bytes, content type)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "The signed form")
        kwargs.setdefault(
            "help_text",
            f"A PDF, or a photo or scan (JPEG, PNG), up to {MAX_PAPER_BYTES // (1024 * 1024)} MB.",
        )
        kwargs.setdefault(
            "widget", forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"})
        )
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> tuple[bytes, str] | None:
        upload = super().clean(data, initial)
        if not upload:
            return None
        return paper_form(upload)


class ConsentForm(forms.ModelForm[Consent]):
    """Whom, what, for what, how long — and how the client agrees. Every refusal the database
    would give is said here first, in plain words."""

    how = forms.ChoiceField(
        label="How does the client agree?", choices=HOW_CHOICES, widget=forms.RadioSelect
    )
    paper = PaperField(required=False)

    class Meta:
        model = Consent
        fields = [
            "partner",
            "profession",
            "scope",
            "share_contact_details",
            "purpose",
            "given_on",
            "expires_on",
        ]
        widgets = {
            "partner": LongSelect,
            "scope": forms.RadioSelect,
            "given_on": forms.DateInput(attrs={"type": "date"}),
            "expires_on": forms.DateInput(attrs={"type": "date"}),
        }
        labels = {
            "partner": "Share with (partner)",
            "profession": "…or any professional of this kind",
            "scope": "What may be shared",
            "purpose": "For",
            "given_on": "Given on",
            "expires_on": "Until",
        }
        help_texts = {
            "partner": "Name a partner, or a kind of professional below.",
            "purpose": "In a few words, e.g. “Referral for an assessment”. No health details.",
            "expires_on": "Leave empty: until the client withdraws it.",
            "share_contact_details": "Letters under this consent then give them, so that the "
            "office can find the client in its records and book them.",
        }

    def __init__(
        self, *args: Any, practice: Practice, client: Client | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.client = client
        # Only what the list shows (a network can have thousands of partners).
        partners = cast(forms.ModelChoiceField[Partner], self.fields["partner"])
        partners.queryset = Partner.objects.for_practice(practice).only("pk", "name")
        professions = cast(forms.ModelChoiceField[Profession], self.fields["profession"])
        professions.queryset = profession_list()
        scope = cast(forms.ChoiceField, self.fields["scope"])
        scope.choices = _scope_choices()
        scope.error_messages["required"] = "Choose what may be shared."
        how = cast(forms.ChoiceField, self.fields["how"])
        how.error_messages["required"] = "Choose how the client agrees."
        if client is not None and client.email:
            how.choices = [
                (v, f"E-mail {client.first_name} a link to sign, at {client.email}")
                if v == HOW_LINK
                else (v, label)
                for v, label in HOW_CHOICES
            ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # a ModelForm's clean returns its cleaned_data
        if not data.get("partner") and not data.get("profession"):
            # On the field: the model's own check of this is then not run a second time.
            self.add_error(
                "partner",
                "Name the partner, or the kind of professional, the client agrees to share with.",
            )
        given, expires = data.get("given_on"), data.get("expires_on")
        if given and expires and expires < given:
            self.add_error("expires_on", "The consent cannot end before it was given.")
        how = data.get("how")
        if how == HOW_PAPER and not data.get("paper") and "paper" not in self.errors:
            self.add_error("paper", "Upload the signed form, or choose another way.")
        if how == HOW_LINK and self.client is not None and not self.client.email:
            self.add_error(
                "how",
                f"{self.client.first_name} has no e-mail address: add one on their page, or "
                "choose another way.",
            )
        return data

    def consent_fields(self) -> dict[str, Any]:
        """What the consent is made of (the form's other fields say how it is signed)."""
        return {k: v for k, v in self.cleaned_data.items() if k not in ("how", "paper")}


class SignatureForm(forms.Form):
    """The client's name and the signature drawn on the screen (a PNG data URL written by
    static/clients/signature.js into the hidden field)."""

    signed_name = forms.CharField(label="Your full name", max_length=200)
    signature = forms.CharField(widget=forms.HiddenInput, required=False, max_length=1_000_000)

    def clean_signed_name(self) -> str:
        name = " ".join(self.cleaned_data["signed_name"].split())
        if len(name) < 2:
            raise forms.ValidationError("Write your full name.")
        return name

    def clean_signature(self) -> bytes:
        return signature_png(self.cleaned_data.get("signature", ""))


class PaperForm(forms.Form):
    paper = PaperField()
