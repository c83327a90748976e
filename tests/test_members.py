"""Owners manage who works in the practice: add (by invitation), change roles, remove,
reset a lost authenticator — and the practice always keeps an owner."""

import re

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from referwell.accounts.models import ApiToken, Member, Role, User
from referwell.audit.models import AuditEntry
from tests.factories import MemberFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_owner_invites_someone_who_then_chooses_a_password_and_accepts(
    alice_http, alice, elm_grove
):
    response = alice_http.post(
        reverse("members"), {"email": "New.Desk@Example.com", "role": Role.FRONT_DESK}
    )
    assert response.status_code == 302
    member = Member.objects.get(practice=elm_grove, user__email="new.desk@example.com")
    assert member.role == Role.FRONT_DESK and member.is_active and not member.is_accepted
    assert not member.user.has_usable_password()
    # The inviting practice names nobody's account.
    assert (member.user.first_name, member.user.last_name) == ("", "")
    assert AuditEntry.objects.filter(action="referwell.member.invited", actor=alice.user).exists()

    (message,) = mail.outbox
    assert message.to == ["new.desk@example.com"]
    assert "Elm Grove" in message.subject
    assert "front desk" in message.body
    assert "http://testserver/accounts/invitations/" in message.body
    link = re.search(r"http://testserver(/accounts/reset/\S+)", message.body).group(1)

    newcomer = HttpClient()
    form_page = newcomer.get(link, follow=True)
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0]
    done = newcomer.post(
        set_password_url,
        {"new_password1": "a-long-new-password-42", "new_password2": "a-long-new-password-42"},
    )
    assert done.status_code == 302
    member.user.refresh_from_db()
    assert member.user.check_password("a-long-new-password-42")

    # Logged in, they are sent to the invitation, and join when they accept it.
    newcomer.force_login(member.user)
    assert newcomer.get(reverse("dashboard")).url == reverse("invitations")
    page = newcomer.get(reverse("invitations"))
    assert b"Elm Grove" in page.content and b"Your first name" in page.content
    newcomer.post(
        reverse("invitations"),
        {"member": member.pk, "answer": "accept", "first_name": "Nia", "last_name": "Desk"},
    )
    member.refresh_from_db()
    assert member.is_accepted
    assert str(member.user) == "Nia Desk"
    assert newcomer.get(reverse("dashboard")).status_code == 200


def test_inviting_an_existing_account_asks_them_to_accept_without_a_password_link(
    alice_http, elm_grove
):
    UserFactory(email="pat@example.com")
    alice_http.post(reverse("members"), {"email": "pat@example.com", "role": Role.THERAPIST})
    member = Member.objects.get(practice=elm_grove, user__email="pat@example.com")
    assert member.role == Role.THERAPIST and not member.is_accepted
    (message,) = mail.outbox
    assert "/accounts/reset/" not in message.body
    assert "usual password" in message.body
    assert "/accounts/invitations/" in message.body


def test_adding_someone_twice_is_refused_with_a_reason(alice_http, bob):
    response = alice_http.post(reverse("members"), {"email": bob.user.email, "role": "owner"})
    assert response.status_code == 200
    assert b"already a member" in response.content
    bob.refresh_from_db()
    assert bob.role != Role.OWNER
    assert mail.outbox == []


def test_bad_input_shows_what_is_wrong(alice_http, elm_grove):
    before = Member.objects.count()
    response = alice_http.post(reverse("members"), {"email": "not an address", "role": "boss"})
    assert response.status_code == 200
    assert b"Enter a valid email address" in response.content
    assert b"Select a valid choice" in response.content
    assert Member.objects.count() == before


def test_change_role_remove_and_restore(alice_http, elm_grove):
    member = MemberFactory(practice=elm_grove, role=Role.THERAPIST)
    _, token = ApiToken.issue(member=member)
    url = reverse("member_edit", kwargs={"pk": member.pk})

    alice_http.post(url, {"action": "role", "role": Role.FRONT_DESK})
    member.refresh_from_db()
    assert member.role == Role.FRONT_DESK

    alice_http.post(url, {"action": "remove"})
    member.refresh_from_db()
    assert not member.is_active
    api = HttpClient(headers={"Authorization": f"Bearer {token}"})
    assert api.get("/api/v1/partners").status_code == 401
    page = alice_http.get(reverse("members"))
    assert b"Removed" in page.content

    # Back only with their consent: "restore" invites them again.
    alice_http.post(url, {"action": "restore"})
    member.refresh_from_db()
    assert member.is_active and not member.is_accepted
    (invitation,) = mail.outbox
    assert "/accounts/invitations/" in invitation.body
    actions = list(
        AuditEntry.objects.filter(object_type="member", object_id=str(member.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "referwell.member.changed",
        "referwell.member.removed",
        "referwell.member.invited",
    ]


def test_the_practice_always_keeps_an_owner(alice_http, alice):
    url = reverse("member_edit", kwargs={"pk": alice.pk})
    for data in ({"action": "role", "role": Role.THERAPIST}, {"action": "remove"}):
        response = alice_http.post(url, data, follow=True)
        assert b"needs an owner" in response.content
        alice.refresh_from_db()
        assert alice.role == Role.OWNER and alice.is_active
    # With a second owner, the first may step down.
    MemberFactory(practice=alice.practice, role=Role.OWNER)
    alice_http.post(url, {"action": "role", "role": Role.THERAPIST})
    alice.refresh_from_db()
    assert alice.role == Role.THERAPIST


def test_an_owner_resets_a_lost_authenticator(alice_http, elm_grove):
    member = MemberFactory(practice=elm_grove, role=Role.THERAPIST)
    TOTPDevice.objects.create(user=member.user, name="phone", confirmed=True)
    alice_http.post(
        reverse("member_edit", kwargs={"pk": member.pk}), {"action": "reset_two_factor"}
    )
    assert not TOTPDevice.objects.filter(user=member.user).exists()
    assert AuditEntry.objects.filter(action="referwell.member.2fa_reset").count() == 1


@pytest.mark.parametrize("role", [Role.THERAPIST, Role.FRONT_DESK])
def test_only_owners_manage_members(elm_grove, alice, role):
    member = MemberFactory(practice=elm_grove, role=role)
    http = HttpClient()
    http.force_login(member.user)
    assert http.get(reverse("members")).status_code == 403
    assert (
        http.post(reverse("members"), {"email": "x@example.com", "role": "owner"}).status_code
        == 403
    )
    url = reverse("member_edit", kwargs={"pk": alice.pk})
    assert http.post(url, {"action": "remove"}).status_code == 403
    alice.refresh_from_db()
    assert alice.is_active
    assert not User.objects.filter(email="x@example.com").exists()


def test_another_practice_cannot_touch_or_see_the_members(charlie_http, alice, bob):
    response = charlie_http.get(reverse("members"))
    assert response.status_code == 200
    assert alice.user.email.encode() not in response.content
    assert bob.user.email.encode() not in response.content
    url = reverse("member_edit", kwargs={"pk": bob.pk})
    assert charlie_http.post(url, {"action": "remove"}).status_code == 404
    bob.refresh_from_db()
    assert bob.is_active


def test_members_page_query_count_does_not_grow(
    alice_http, elm_grove, django_assert_max_num_queries
):
    for _ in range(15):
        MemberFactory(practice=elm_grove, role=Role.THERAPIST)
    with django_assert_max_num_queries(12):
        assert alice_http.get(reverse("members")).status_code == 200
