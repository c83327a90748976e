from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from referwell.accounts.http import PracticeRequest
from referwell.core.decorators import practice_required
from referwell.core.geo import zip_centroid, zip_place
from referwell.registry import selectors, services

MILES_CHOICES = (5, 10, 25, 50, 100)


class RegistrySearchForm(forms.Form):
    profession = forms.ChoiceField()
    zip = forms.CharField(label="ZIP code", max_length=10)
    miles = forms.TypedChoiceField(
        coerce=int, choices=[(m, f"{m} miles") for m in MILES_CHOICES], initial=10
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = list(selectors.registry_professions().items())
        self.fields["profession"].choices = [("", "Choose a profession")] + choices

    def clean_zip(self) -> str:
        value = self.cleaned_data["zip"].strip()
        if zip_centroid(value) is None:
            raise ValidationError(f"'{value}' is not a US ZIP code we know.")
        return value[:5]


@require_GET
@practice_required
def registry_search(request: PracticeRequest) -> HttpResponse:
    """Find professionals near a ZIP code in the public registry (NPPES)."""
    practice = request.practice
    form = RegistrySearchForm(
        request.GET or None, initial={"zip": practice.zip_code[:5], "miles": 10}
    )
    hits: list[selectors.RegistryHit] = []
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        hits = selectors.registry_search(
            profession=data["profession"], zip_code=data["zip"], miles=data["miles"]
        )
    in_network = selectors.network_npis(practice=practice, npis=[h.entry.npi for h in hits])
    names = selectors.registry_professions()
    rows = [
        (hit, in_network.get(hit.entry.npi), names.get(hit.entry.profession, "")) for hit in hits
    ]
    near = form.cleaned_data.get("zip") if form.is_bound and form.is_valid() else None
    near = near or practice.zip_code[:5]
    place = zip_place(near) if near else None
    template = "registry/search.html"
    if request.htmx:
        template += "#results"
    return render(
        request,
        template,
        {
            "form": form,
            "rows": rows,
            "searched": form.is_bound and form.is_valid(),
            "near": f"{place[0]}, {place[1]}" if place else near,
            "imported": selectors.registry_has_entries(),
        },
    )


@require_POST
@practice_required
def registry_add(request: PracticeRequest, npi: str) -> HttpResponse:
    """One click: the registry entry becomes a prospect of the practice (or links to the
    partner with that NPI it already has)."""
    entry = selectors.registry_entry_get(npi=npi)
    try:
        partner, created = services.registry_entry_add_to_network(
            practice=request.practice, by=request.user, entry=entry
        )
    except ValidationError as exc:
        messages.error(request, f"{entry.name} could not be added: {' '.join(exc.messages)}")
        return redirect("registry_search")
    if request.htmx:
        return render(
            request, "registry/search.html#in_network", {"partner_id": partner.pk, "new": created}
        )
    if created:
        messages.success(request, f"{partner.name} is now a prospect in your network.")
    else:
        messages.info(request, f"{partner.name} is already in your network.")
    return redirect("partner_detail", pk=partner.pk)
