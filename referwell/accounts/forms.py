from django import forms

from referwell.accounts.models import Practice
from referwell.core.validators import validate_us_zip


class PracticeForm(forms.ModelForm):
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
        ]
        widgets = {
            "treats": forms.Textarea(attrs={"rows": 3}),
            "does_not_treat": forms.Textarea(attrs={"rows": 3}),
            "how_to_refer": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["zip_code"].validators.append(validate_us_zip)
        self.fields["no_response_business_days"].min_value = 1
        self.fields["no_response_business_days"].widget.attrs["min"] = 1

    def clean_state(self) -> str:
        return (self.cleaned_data.get("state") or "").upper()

    def clean_no_response_business_days(self) -> int:
        days = self.cleaned_data["no_response_business_days"]
        if days < 1 or days > 60:
            raise forms.ValidationError("Choose between 1 and 60 business days.")
        return days
