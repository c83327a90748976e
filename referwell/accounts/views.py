from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from referwell.accounts.forms import PracticeForm
from referwell.audit.services import log_action
from referwell.core.decorators import practice_required


@practice_required
def practice_settings(request: HttpRequest) -> HttpResponse:
    """The practice's details, what it treats (for its public referral page), and its rules."""
    if not request.member.is_owner:
        raise PermissionDenied("Only an owner changes the practice's settings.")
    form = PracticeForm(request.POST or None, instance=request.practice)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            log_action(
                practice=request.practice,
                actor=request.user,
                action="referwell.practice.changed",
                obj=request.practice,
                data={"fields": sorted(form.changed_data)},
            )
        messages.success(request, "Practice settings saved.")
        return redirect("practice_settings")
    return render(request, "accounts/practice_settings.html", {"form": form})
