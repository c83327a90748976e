from base64 import b32encode
from typing import Any
from urllib.parse import urlencode

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from referwell.accounts.forms import (
    CodeForm,
    EmailAuthenticationForm,
    InvitationAnswerForm,
    MemberChangeForm,
    MemberInviteForm,
    NotificationsForm,
    PasswordConfirmForm,
    PracticeForm,
    RequireTwoFactorForm,
)
from referwell.accounts.http import PracticeRequest, UserRequest
from referwell.accounts.models import Member, Role
from referwell.accounts.security import lockout_response, log_auth
from referwell.accounts.selectors import (
    member_list_with_two_factor,
    recovery_codes_left,
    two_factor_required_for,
    user_has_two_factor,
)
from referwell.accounts.services import (
    RECOVERY_CODE_COUNT,
    AccountError,
    invitation_accept,
    invitation_decline,
    invitations_of,
    member_change,
    member_invite,
    member_two_factor_reset,
    practice_require_two_factor_set,
    recovery_codes_regenerate,
    totp_device_pending,
    two_factor_check,
    two_factor_confirm,
    two_factor_disable,
)
from referwell.audit.services import log_action
from referwell.core.decorators import owner_required, practice_required
from referwell.core.mail import queue_email
from referwell.core.ratelimit import client_ip, rate_limited


@owner_required("changes the practice's settings")
def practice_settings(request: PracticeRequest) -> HttpResponse:
    """The practice's details, what it treats (for its public referral page), and its rules."""
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
    return render(
        request,
        "accounts/practice_settings.html",
        {
            "form": form,
            "two_factor_form": RequireTwoFactorForm(
                initial={"require_two_factor": request.practice.require_two_factor}
            ),
            "members_two_factor": member_list_with_two_factor(practice=request.practice),
        },
    )


@require_POST
@owner_required("changes the practice's login rules")
def practice_two_factor(request: PracticeRequest) -> HttpResponse:
    """An owner requires (or stops requiring) two-factor login for every member."""
    form = RequireTwoFactorForm(request.POST)
    required = form.is_valid() and form.cleaned_data["require_two_factor"]
    if required and not user_has_two_factor(request.user):
        messages.error(request, "Turn on two-factor login for yourself first, then require it.")
        return redirect("two_factor")
    practice_require_two_factor_set(
        practice=request.practice, required=required, by=request.user, request=request
    )
    messages.success(
        request,
        "Every member now needs two-factor login."
        if required
        else "Two-factor login is now optional for members.",
    )
    return redirect("practice_settings")


def _safe_next(request: HttpRequest) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


class LoginView(auth_views.LoginView):
    """The password step. A user with two-factor is then sent to the code step; until it is
    passed, TwoFactorMiddleware keeps every other page closed."""

    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        auth_login(self.request, user)
        if user_has_two_factor(user):
            url = reverse("two_factor_verify")
            if next_url := self.get_redirect_url():
                url += "?" + urlencode({"next": next_url})
            return HttpResponseRedirect(url)
        log_auth(
            user=user,
            action="referwell.auth.login",
            request=self.request,
            data={"two_factor": False},
        )
        return HttpResponseRedirect(self.get_success_url())


@never_cache
@login_required
def two_factor_verify(request: UserRequest) -> HttpResponse:
    """The code step: a code from the authenticator app, or a recovery code.

    Wrong codes count as failed logins for django-axes (per account and per address): after
    LOGIN_FAILURE_LIMIT of them the session ends and the lockout page is shown."""
    user = request.user
    next_url = _safe_next(request)
    # django-otp's OTPMiddleware gives the user is_verified() at run time; no stub has it.
    if user.is_verified() or not user_has_two_factor(user):  # type: ignore[attr-defined]
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    credentials = {"username": user.email}
    if AxesProxyHandler.is_locked(request, credentials):
        logout(request)
        return lockout_response(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = two_factor_check(user=user, code=form.cleaned_data["code"], request=request)
        if device is not None:
            otp_login(request, device)
            method = "recovery_code" if isinstance(device, StaticDevice) else "totp"
            log_auth(
                user=user,
                action="referwell.auth.login",
                request=request,
                data={"two_factor": True, "method": method},
            )
            if method == "recovery_code":
                messages.warning(
                    request,
                    f"You used a recovery code; {recovery_codes_left(user)} left. "
                    "Make new ones on the Two-factor page if you are running out.",
                )
            return redirect(next_url or settings.LOGIN_REDIRECT_URL)
        user_login_failed.send(
            sender=__name__, credentials={**credentials, "step": "code"}, request=request
        )
        if getattr(request, "axes_locked_out", False):
            logout(request)
            return lockout_response(request)
        form.add_error("code", "That code is not right. Try the current one, or a recovery code.")
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url})


def _qr_svg(url: str) -> str:
    # segno's own SVG markup of our own otpauth URL: nothing from a request is in it.
    return mark_safe(  # noqa: S308  # nosec B308 B703
        segno.make(url, error="m").svg_inline(scale=4, border=2, title="QR code to scan")
    )


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@login_required
def two_factor(request: UserRequest) -> HttpResponse:
    """Set up two-factor login (scan, then confirm with a code), make new recovery codes, or
    turn it off (with the password)."""
    user = request.user
    action = request.POST.get("action") if request.method == "POST" else None
    required = two_factor_required_for(user)
    if not user_has_two_factor(user):
        device = totp_device_pending(user=user)
        form = CodeForm(request.POST if action == "confirm" else None)
        if action == "confirm" and form.is_valid():
            codes = two_factor_confirm(
                user=user,
                device=device,
                code=form.cleaned_data["code"],
                request=request,
            )
            if codes is not None:
                otp_login(request, device)
                messages.success(request, "Two-factor login is on.")
                return render(request, "accounts/recovery_codes.html", {"codes": codes})
            form.add_error("code", "That code does not match. Check the app and try the new one.")
        secret = b32encode(device.bin_key).decode().rstrip("=")
        return render(
            request,
            "accounts/two_factor_setup.html",
            {
                "form": form,
                "qr_svg": _qr_svg(device.config_url),
                "secret": _grouped(secret),
                "required": required,
            },
        )

    disable_form = PasswordConfirmForm(
        request.POST if action == "disable" else None,
        user=user,
    )
    if action == "disable" and disable_form.is_valid():
        two_factor_disable(user=user, request=request)
        messages.success(request, "Two-factor login is off.")
        return redirect("two_factor")
    if action == "recovery_codes":
        codes = recovery_codes_regenerate(user=user, request=request)
        messages.success(request, "New recovery codes made; the old ones no longer work.")
        return render(request, "accounts/recovery_codes.html", {"codes": codes})
    return render(
        request,
        "accounts/two_factor.html",
        {
            "disable_form": disable_form,
            "codes_left": recovery_codes_left(user),
            "code_count": RECOVERY_CODE_COUNT,
            "required": required,
        },
    )


@owner_required("manages the practice's members")
def members(request: PracticeRequest) -> HttpResponse:
    """Who works in the practice, in which role, with two-factor or not; an owner adds people
    (they get an e-mail to choose a password), changes roles, removes them."""
    form = MemberInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = member_invite(
                practice=request.practice,
                by=request.user,
                request=request,
                **form.cleaned_data,
            )
        except AccountError as exc:
            form.add_error("email", str(exc))
        else:
            messages.success(
                request,
                f"{member.user.email} has been invited by e-mail; they join once they accept.",
            )
            return redirect("members")
    everyone = Member.objects.filter(practice=request.practice).select_related("user")
    # Two-factor state only of those who joined: an invitation reveals nothing of an account.
    with_device = dict(member_list_with_two_factor(practice=request.practice))
    rows = [(m, with_device.get(m, False)) for m in everyone.order_by("-is_active", "id")]
    return render(
        request, "accounts/members.html", {"form": form, "rows": rows, "roles": Role.choices}
    )


@require_POST
@owner_required("manages the practice's members")
def member_edit(request: PracticeRequest, pk: int) -> HttpResponse:
    member = Member.objects.filter(practice=request.practice, pk=pk).select_related("user").first()
    if member is None:
        raise Http404("No such member.")
    form = MemberChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose what to change.")
        return redirect("members")
    action = form.cleaned_data["action"]
    # Until someone joins, the practice knows them only by the address it typed.
    who = member.user if member.is_accepted else member.user.email
    try:
        if not member.is_accepted and action != "remove":
            raise AccountError(
                f"{who} has not joined yet: withdraw the invitation and invite them again."
            )
        if action == "role":
            member_change(member=member, by=request.user, role=form.cleaned_data["role"])
        elif action == "remove":
            member_change(member=member, by=request.user, active=False)
        elif action == "restore":
            # Back only with their consent: a new invitation to accept.
            member_invite(
                practice=request.practice,
                email=member.user.email,
                role=member.role,
                by=request.user,
                request=request,
            )
            messages.success(
                request, f"{who} has been invited again; they are back once they accept."
            )
            return redirect("members")
        else:
            member_two_factor_reset(member=member, by=request.user)
    except AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{who}: saved.")
    return redirect("members")


@never_cache
@login_required
def invitations(request: UserRequest) -> HttpResponse:
    """The practices that invited the logged-in person: accept (giving one's name if the
    account has none yet) or decline. Nothing of the inviting practice opens before."""
    user = request.user
    if request.method == "POST":
        form = InvitationAnswerForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["answer"] == "accept":
                    member = invitation_accept(
                        user=user,
                        member_id=data["member"],
                        first_name=data["first_name"],
                        last_name=data["last_name"],
                        request=request,
                    )
                    request.session["practice_id"] = member.practice_id
                    messages.success(request, f"You have joined {member.practice.name}.")
                    return redirect(settings.LOGIN_REDIRECT_URL)
                invitation_decline(user=user, member_id=data["member"], request=request)
                messages.success(request, "Invitation declined.")
            except AccountError as exc:
                messages.error(request, str(exc))
        else:
            messages.error(request, "Choose to accept or decline the invitation.")
        return redirect("invitations")
    return render(
        request,
        "accounts/invitations.html",
        {
            "invitations": invitations_of(user=user),
            "needs_name": not (user.first_name or user.last_name),
        },
    )


# Reset links: per address, a few an hour (no inbox is flooded; beyond it nothing is sent and
# the page says the same as always, so it reveals nothing); per network address, a few more
# (beyond it the form says to wait).
RESET_PER_EMAIL_PER_HOUR = 3
RESET_PER_IP_PER_HOUR = 10


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's form; its e-mail goes to the worker's queue instead of the mail server."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        queue_email(subject, render_to_string(email_template_name, context), [to_email])


class PasswordResetView(auth_views.PasswordResetView):
    form_class = QueuedPasswordResetForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if rate_limited(f"reset-ip:{client_ip(request)}", limit=RESET_PER_IP_PER_HOUR, window=3600):
            form = self.get_form()
            form.is_valid()
            form.add_error(None, "Too many reset requests from here. Wait an hour, then try again.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        email = form.cleaned_data["email"].strip().lower()
        if rate_limited(f"reset-email:{email}", limit=RESET_PER_EMAIL_PER_HOUR, window=3600):
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


@practice_required
def notifications(request: PracticeRequest) -> HttpResponse:
    """The member's own e-mails: partners' answers, new inbound referrals."""
    member = request.member
    form = NotificationsForm(request.POST if request.method == "POST" else None, instance=member)
    if request.method == "POST" and form.is_valid():
        form.save()
        log_action(
            practice=request.practice,
            actor=request.user,
            action="referwell.member.notifications",
            obj=member,
            data={f: form.cleaned_data[f] for f in form.fields},
        )
        messages.success(request, "Your e-mail settings are saved.")
        return redirect("notifications")
    return render(request, "accounts/notifications.html", {"form": form})
