from __future__ import annotations

from typing import Any, cast

from django import forms

from referwell.accounts.models import Practice
from referwell.core.validators import validate_us_zip
from referwell.core.widgets import Chips
from referwell.directory.models import Niche, Partner, Profession, Stage, Touchpoint
from referwell.directory.selectors import niche_list, profession_list


class HttpsURLField(forms.URLField):
    """A website typed without a scheme is taken as https://."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)


class PartnerForm(forms.ModelForm[Partner]):
    class Meta:
        model = Partner
        fields = [
            "name",
            "credentials",
            "professions",
            "specialties",
            "clinic",
            "street",
            "city",
            "state",
            "zip_code",
            "phone",
            "email",
            "website",
            "npi",
            "languages",
            "insurance_accepted",
            "niches",
            "how_met",
            "how_met_detail",
            "stage",
            "not_a_fit_reason",
            "website_reviewed",
            "values_fit",
            "would_send_mother",
            "visited_as_client",
            "billing_concerns",
            "vetting_notes",
        ]
        field_classes = {"website": HttpsURLField}
        widgets = {
            # Several of each, by thumb: chips, with a search box over the long list.
            "professions": Chips,
            "niches": Chips(empty="No niches yet: add them under Outreach, then Niches."),
            # A phone's keyboard for each: digits for the numbers, @ for the address.
            "phone": forms.TextInput(attrs={"type": "tel"}),
            "zip_code": forms.TextInput(attrs={"inputmode": "numeric"}),
            "npi": forms.TextInput(attrs={"inputmode": "numeric"}),
            "billing_concerns": forms.Textarea(attrs={"rows": 2}),
            "vetting_notes": forms.Textarea(attrs={"rows": 3}),
            "not_a_fit_reason": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        professions = cast("forms.ModelMultipleChoiceField[Profession]", self.fields["professions"])
        niches = cast("forms.ModelMultipleChoiceField[Niche]", self.fields["niches"])
        professions.queryset = profession_list().filter(is_provider=True)
        professions.error_messages["required"] = "Choose at least one profession."
        niches.queryset = niche_list(practice=practice)

    FIELDSETS = (
        (
            "Who",
            (
                "name",
                "credentials",
                "professions",
                "specialties",
                "niches",
                "stage",
                "not_a_fit_reason",
            ),
        ),
        (
            "Where and how to reach them",
            (
                "clinic",
                "street",
                "city",
                "state",
                "zip_code",
                "phone",
                "email",
                "website",
                "npi",
                "languages",
                "insurance_accepted",
                "how_met",
                "how_met_detail",
            ),
        ),
        (
            "Vetting",
            (
                "website_reviewed",
                "values_fit",
                "would_send_mother",
                "visited_as_client",
                "billing_concerns",
                "vetting_notes",
            ),
        ),
    )

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in self.FIELDSETS]

    def clean_state(self) -> str:
        return (self.cleaned_data.get("state") or "").upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # a ModelForm's clean returns its cleaned_data
        if (
            data.get("stage") == Stage.NOT_A_FIT
            and not (data.get("not_a_fit_reason") or "").strip()
        ):
            self.add_error("not_a_fit_reason", "Say why this partner is not a fit.")
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        professions = data.pop("professions")
        niches: list[Niche] = list(data.pop("niches"))
        return {"fields": data, "professions": professions, "niches": niches}


class TouchpointForm(forms.ModelForm[Touchpoint]):
    class Meta:
        model = Touchpoint
        fields = ["kind", "date", "note"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}),
            "note": forms.Textarea(attrs={"rows": 2}),
        }


class PartnerFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    profession = forms.ChoiceField(required=False)
    stage = forms.ChoiceField(required=False, choices=[("", "Any stage"), *Stage.choices])
    niche = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    near_zip = forms.CharField(required=False, label="Near ZIP", validators=[validate_us_zip])
    miles = forms.FloatField(required=False, min_value=0, label="Within miles")

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["profession"]).choices = [("", "Any profession")] + [
            (p.slug, p.name) for p in profession_list().filter(is_provider=True)
        ]
        cast(forms.TypedChoiceField, self.fields["niche"]).choices = [("", "Any niche")] + [
            (n.pk, n.name) for n in niche_list(practice=practice)
        ]
