"""The API's authentication: a member's bearer token (`referwell token`), scoped to the member's
practice. The API itself is assembled in `referwell.site.api`; the FHIR endpoints use it too."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer

from referwell.accounts.http import PracticeRequest
from referwell.accounts.models import ApiToken, Member, hash_token
from referwell.accounts.selectors import user_has_two_factor

TWO_FACTOR_FIRST = (
    "Your practice requires two-factor login: set it up in Referwell before using API tokens."
)


class MemberToken(HttpBearer):
    """`Authorization: Bearer TOKEN`; sets request.member and request.practice."""

    def authenticate(self, request: HttpRequest, token: str) -> Member | None:
        row = (
            ApiToken.objects.select_related("member__practice", "member__user")
            .filter(token_hash=hash_token(token), revoked_at__isnull=True)
            .first()
        )
        if row is None or not row.member.is_active or not row.member.user.is_active:
            return None
        if row.member.practice.require_two_factor and not user_has_two_factor(row.member.user):
            # The same rule as the login: the token works again once the member has enrolled.
            raise HttpError(403, TWO_FACTOR_FIRST)
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        request = cast(PracticeRequest, request)  # what the operations then find on it
        request.member = row.member
        request.practice = row.member.practice
        request.user = row.member.user
        return row.member
