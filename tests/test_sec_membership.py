"""Membership is given, not taken (issue 20, item 1): an owner of one practice who types the
address of another practice's member gets an invitation waiting for that person's answer —
no name, no two-factor state, no logins, and no power over the person's authenticator."""

import pytest
from django.contrib.auth.signals import user_login_failed
from django.core.management import call_command
from django.test import Client as HttpClient
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from referwell.accounts.models import Member, Role
from referwell.accounts.security import log_auth
from referwell.accounts.services import AccountError, member_two_factor_reset
from referwell.audit.models import AuditEntry
from tests.factories import ClientFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_with_two_factor(alice):
    TOTPDevice.objects.create(user=alice.user, name="phone", confirmed=True)
    StaticDevice.objects.create(user=alice.user, name="Recovery codes", confirmed=True)
    return alice


def _invite(http, email, role=Role.THERAPIST, **extra):
    return http.post(reverse("members"), {"email": email, "role": role, **extra})


def test_another_practice_invites_an_existing_account_and_learns_nothing_of_it(
    charlie_http, alice_with_two_factor, other_practice
):
    _invite(charlie_http, "alice@example.com")
    member = Member.objects.get(practice=other_practice, user=alice_with_two_factor.user)
    assert not member.is_accepted
    page = charlie_http.get(reverse("members")).content.decode()
    assert "alice@example.com" in page and "Invited" in page
    assert "Alice" not in page.replace("alice@example.com", "")  # no name
    assert "Reset two-factor" not in page.split("alice@example.com")[1].split("</tr>")[0]
    # The account's settings page and the audit page's people chooser do not name her either.
    settings_page = charlie_http.get(reverse("practice_settings")).content.decode()
    assert "Alice" not in settings_page
    audit_page = charlie_http.get(reverse("audit_trail")).content.decode()
    assert "Alice Owner" not in audit_page


def test_an_invitation_opens_nothing_until_accepted(
    alice_with_two_factor, charlie_http, other_practice
):
    ClientFactory(practice=other_practice, first_name="Secret", last_name="Lakeside")
    _invite(charlie_http, "alice@example.com")
    http = HttpClient()
    http.force_login(alice_with_two_factor.user)
    session = http.session
    session["practice_id"] = other_practice.pk
    session.save()
    from django_otp.plugins.otp_totp.models import TOTPDevice as Device

    device = Device.objects.get(user=alice_with_two_factor.user)
    session = http.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    page = http.get(reverse("client_list")).content.decode()
    assert "Lakeside" not in page and "Secret" not in page


def test_an_owner_cannot_reset_the_authenticator_of_someone_who_works_elsewhere(
    charlie_http, charlie, alice_with_two_factor, other_practice
):
    _invite(charlie_http, "alice@example.com")
    member = Member.objects.get(practice=other_practice, user=alice_with_two_factor.user)
    url = reverse("member_edit", kwargs={"pk": member.pk})
    # Not while invited...
    response = charlie_http.post(url, {"action": "reset_two_factor"}, follow=True)
    assert b"joined" in response.content
    assert TOTPDevice.objects.filter(user=alice_with_two_factor.user).exists()
    # ...nor once accepted, while she also works in Elm Grove.
    member.accepted_at = member.created_at
    member.save()
    response = charlie_http.post(url, {"action": "reset_two_factor"}, follow=True)
    assert b"another practice" in response.content
    assert b"referwell reset-two-factor" in response.content
    assert TOTPDevice.objects.filter(user=alice_with_two_factor.user).exists()
    assert StaticDevice.objects.filter(user=alice_with_two_factor.user).exists()
    with pytest.raises(AccountError):
        member_two_factor_reset(member=member, by=charlie.user)


def test_the_operator_resets_any_account_and_every_practice_records_it(
    alice_with_two_factor, elm_grove, other_practice
):
    MemberFactory(user=alice_with_two_factor.user, practice=other_practice, role=Role.THERAPIST)
    call_command("reset_two_factor", "--email", "alice@example.com")
    assert not TOTPDevice.objects.filter(user=alice_with_two_factor.user).exists()
    assert not StaticDevice.objects.filter(user=alice_with_two_factor.user).exists()
    for practice in (elm_grove, other_practice):
        assert (
            AuditEntry.objects.filter(
                practice=practice, action="referwell.member.2fa_reset"
            ).count()
            == 1
        )


def test_an_owner_reset_of_someone_only_in_their_practice_is_recorded(alice_http, elm_grove):
    member = MemberFactory(practice=elm_grove, role=Role.THERAPIST)
    TOTPDevice.objects.create(user=member.user, name="phone", confirmed=True)
    alice_http.post(
        reverse("member_edit", kwargs={"pk": member.pk}), {"action": "reset_two_factor"}
    )
    assert not TOTPDevice.objects.filter(user=member.user).exists()
    assert AuditEntry.objects.filter(
        practice=elm_grove, action="referwell.member.2fa_reset"
    ).exists()


def test_logins_are_recorded_only_where_the_membership_was_accepted(
    alice, charlie_http, other_practice, elm_grove
):
    _invite(charlie_http, "alice@example.com")
    log_auth(user=alice.user, action="referwell.auth.login")
    user_login_failed.send(sender=__name__, credentials={"username": "alice@example.com"})
    assert (
        AuditEntry.objects.filter(practice=elm_grove, action__startswith="referwell.auth.").count()
        == 2
    )
    assert not AuditEntry.objects.filter(
        practice=other_practice, action__startswith="referwell.auth."
    ).exists()


def test_an_invitation_cannot_name_a_new_account(charlie_http):
    _invite(charlie_http, "newbie@example.com", first_name="Chosen", last_name="ByOthers")
    member = Member.objects.get(user__email="newbie@example.com")
    assert (member.user.first_name, member.user.last_name) == ("", "")


def test_accepting_keeps_an_existing_name_and_declining_leaves_no_trace_of_it(
    alice, charlie_http, other_practice
):
    _invite(charlie_http, "alice@example.com")
    member = Member.objects.get(practice=other_practice, user=alice.user)
    http = HttpClient()
    http.force_login(alice.user)
    page = http.get(reverse("invitations")).content.decode()
    assert "Lakeside" in page and "Your first name" not in page  # she has a name already
    http.post(reverse("invitations"), {"member": member.pk, "answer": "accept", "first_name": "X"})
    member.refresh_from_db()
    alice.user.refresh_from_db()
    assert member.is_accepted and alice.user.first_name == "Alice"

    other = MemberFactory(practice=alice.practice, role=Role.THERAPIST)
    _invite(charlie_http, other.user.email)
    invitation = Member.objects.get(practice=other_practice, user=other.user)
    http.force_login(other.user)
    http.post(reverse("invitations"), {"member": invitation.pk, "answer": "decline"})
    assert not Member.objects.filter(pk=invitation.pk).exists()
    declined = AuditEntry.objects.get(practice=other_practice, action="referwell.member.declined")
    assert declined.actor is None


def test_nobody_answers_someone_elses_invitation(alice, bob, charlie_http, other_practice):
    _invite(charlie_http, "alice@example.com")
    member = Member.objects.get(practice=other_practice, user=alice.user)
    http = HttpClient()
    http.force_login(bob.user)
    response = http.post(
        reverse("invitations"), {"member": member.pk, "answer": "accept"}, follow=True
    )
    assert b"no longer open" in response.content
    member.refresh_from_db()
    assert not member.is_accepted
    assert not Member.objects.filter(practice=other_practice, user=bob.user).exists()


def test_a_withdrawn_invitation_is_gone(charlie_http, alice, other_practice):
    _invite(charlie_http, "alice@example.com")
    member = Member.objects.get(practice=other_practice, user=alice.user)
    charlie_http.post(reverse("member_edit", kwargs={"pk": member.pk}), {"action": "remove"})
    assert not Member.objects.filter(pk=member.pk).exists()


def test_invitations_page_needs_a_login():
    response = HttpClient().get(reverse("invitations"))
    assert response.status_code == 302 and "/login/" in response.url


def test_an_invitation_is_only_withdrawn_and_its_messages_name_no_one(
    charlie_http, alice, other_practice
):
    _invite(charlie_http, "alice@example.com")
    member = Member.objects.get(practice=other_practice, user=alice.user)
    url = reverse("member_edit", kwargs={"pk": member.pk})
    for data in (
        {"action": "role", "role": Role.FRONT_DESK},
        {"action": "reset_two_factor"},
        {"action": "restore"},
    ):
        page = charlie_http.post(url, data, follow=True).content.decode()
        assert "has not joined yet" in page
        assert "Alice" not in page.replace("alice@example.com", "")
    member.refresh_from_db()
    assert member.role == Role.THERAPIST and not member.is_accepted


def test_a_removed_member_comes_back_only_by_accepting_again(charlie_http, alice, other_practice):
    member = MemberFactory(user=alice.user, practice=other_practice, role=Role.THERAPIST)
    url = reverse("member_edit", kwargs={"pk": member.pk})
    charlie_http.post(url, {"action": "remove"})
    charlie_http.post(url, {"action": "restore"})
    member.refresh_from_db()
    assert member.is_active and not member.is_accepted
    assert not Member.objects.active().filter(pk=member.pk).exists()
