"""Who may change what the whole server shares: the server's operator.

The provider registry (NPPES) is one for every practice on the server, and restoring a practice
adds a practice, with its members' accounts, beside the others. On a server of several practices
that is for whoever runs the server: a staff account (`referwell createsuperuser`). On a server
that holds one practice — a practice running Referwell for itself, as `make run` does — its
owner is that operator.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse

from referwell.accounts.http import PracticeRequest
from referwell.accounts.models import Practice
from referwell.core.decorators import owner_required


def is_operator(request: PracticeRequest) -> bool:
    """A staff account, or the owner of the only practice on this server."""
    if not request.member.is_owner:
        return False
    if request.user.is_staff:
        return True
    return not Practice.objects.exclude(pk=request.practice.pk).exists()


def operator_required(
    does: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """owner_required, and the server's operator: other owners get 403 with the reason."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @owner_required(does)
        @wraps(view)
        def wrapper(request: PracticeRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not is_operator(request):
                raise PermissionDenied(
                    f"Only the server's operator {does}: this server holds other practices, "
                    "and what this changes is shared with them. Ask whoever runs the server."
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
