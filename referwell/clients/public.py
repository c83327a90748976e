"""The client's consent page, reached by the link e-mailed to them, without an account: what
they are asked to agree to in plain words, a box to sign with a finger or a mouse and "I agree";
later, the same link shows what they signed, a copy to download, and lets them withdraw it.

The same protections as the partner's link page (referrals/public.py): rate limits per address,
nothing cached (never_cache, and NoStoreMiddleware), each opening and each use audited, the
token stored only hashed; a wrong token is a 404 page that gives nothing away, an expired one
a 404 page that says whom to contact."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from referwell.clients import selectors, services
from referwell.clients.forms import SignatureForm
from referwell.clients.models import Consent, SignedHow
from referwell.core.ratelimit import client_ip, rate_limited

LIMIT_PER_TEN_MINUTES = 30
MAX_BODY_BYTES = 1_200_000  # the name and a drawn signature (a PNG of some tens of kB)


def _refused(
    request: HttpRequest, consent: Consent | None, status: int, reason: str
) -> HttpResponse:
    """A page in the app's layout: why the link does not work and, when the practice is known
    (an expired link), how to reach it."""
    practice = consent.practice if consent is not None else None
    context = {
        "practice": practice,
        "practice_name": practice.name if practice else "",
        "reason": reason,
        "status": status,
    }
    return render(request, "clients/consent_link_refused.html", context, status=status)


def _consent(request: HttpRequest, token: str) -> Consent | HttpResponse:
    """The consent of this link, or the page saying why the link does not work."""
    consent = selectors.consent_for_token(token)
    if consent is None:
        return _refused(request, None, 404, "This link does not work.")
    if not consent.link_is_usable():
        return _refused(request, consent, 404, "This link has expired.")
    return consent


@never_cache
@require_http_methods(["GET", "POST"])
def client_consent(request: HttpRequest, token: str) -> HttpResponse:
    ip = client_ip(request)
    if rate_limited(f"consent-link:{ip}", limit=LIMIT_PER_TEN_MINUTES, window=600):
        return _refused(request, None, 429, "Too many requests from your connection.")
    consent = _consent(request, token)
    if isinstance(consent, HttpResponse):
        return consent
    form = SignatureForm(initial={"signed_name": consent.client.full_name})
    error = ""
    if request.method == "POST":
        if _body_too_large(request):
            return _refused(request, consent, 413, "What was sent is too large.")
        action = request.POST.get("action", "")
        try:
            if action == "revoke":
                services.consent_revoke(consent=consent, by=None, by_client=True, ip_address=ip)
                return redirect(request.path + "?done=revoked")
            if action == "sign":
                form = SignatureForm(request.POST)
                if form.is_valid():
                    services.consent_sign(
                        consent=consent,
                        how=SignedHow.LINK,
                        name=form.cleaned_data["signed_name"],
                        signature=form.cleaned_data["signature"],
                        by=None,
                        ip_address=ip,
                    )
                    return redirect(request.path + "?done=signed")
            else:
                error = "Choose “I agree” or “Withdraw my consent”."
        except ValidationError as exc:
            error = exc.messages[0]
        consent.refresh_from_db(fields=["signed_how", "signed_at", "revoked_at"])
        return _page(request, consent, form, error=error, status=400)
    services.consent_link_opened(consent=consent, ip_address=ip)
    return _page(request, consent, form, done=request.GET.get("done", ""))


def _page(
    request: HttpRequest,
    consent: Consent,
    form: SignatureForm,
    *,
    error: str = "",
    done: str = "",
    status: int = 200,
) -> HttpResponse:
    practice = consent.practice
    context = {
        "consent": consent,
        "practice": practice,
        "practice_name": practice.name,
        "agreement": consent.agreement(practice.name),
        "form": form,
        "error": error,
        "done": done if done in ("signed", "revoked") else "",
        "on_tablet": False,
        "copy_url": request.path.rstrip("/") + "/copy/",
    }
    return render(request, "clients/consent_link.html", context, status=status)


@never_cache
@require_GET
def client_consent_copy(request: HttpRequest, token: str) -> HttpResponse:
    """The client's copy of what they signed (the PDF kept at signing)."""
    ip = client_ip(request)
    if rate_limited(f"consent-link:{ip}", limit=LIMIT_PER_TEN_MINUTES, window=600):
        return _refused(request, None, 429, "Too many requests from your connection.")
    consent = _consent(request, token)
    if isinstance(consent, HttpResponse):
        return consent
    if consent.signed_how not in (SignedHow.LINK, SignedHow.TABLET):
        return _refused(request, consent, 404, "There is no signed copy to download yet.")
    content, content_type = services.consent_form_file(
        selectors.consent_get(practice=consent.practice, pk=consent.pk, with_form=True)
    )
    services.consent_copy_downloaded(consent=consent, ip_address=ip)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = 'attachment; filename="consent.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _body_too_large(request: HttpRequest) -> bool:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return declared > MAX_BODY_BYTES
