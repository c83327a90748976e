import datetime as dt

import factory
from django.utils import timezone

from referwell.accounts.models import Member, Practice, Role, User
from referwell.clients.models import Client, Visit
from referwell.directory.models import Partner, Profession, Stage
from referwell.referrals.models import Referral


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practice
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"practice-{n}")
    name = factory.Sequence(lambda n: f"Practice {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.django.Password("password")


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    user = factory.SubFactory(UserFactory)
    practice = factory.SubFactory(PracticeFactory)
    role = Role.OWNER
    accepted_at = factory.LazyFunction(timezone.now)


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner
        skip_postgeneration_save = True

    practice = factory.SubFactory(PracticeFactory)
    name = factory.Sequence(lambda n: f"Dr. Partner {n}")
    zip_code = "53122"
    latitude = 43.0479
    longitude = -88.0854
    stage = Stage.TRUSTED

    @factory.post_generation
    def professions(self, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            slugs = extracted or ["chiropractor"]
            self.professions.set(Profession.objects.filter(slug__in=slugs))


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    practice = factory.SubFactory(PracticeFactory)
    first_name = factory.Sequence(lambda n: f"Client{n}")
    last_name = "Example"


class VisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visit

    client = factory.SubFactory(ClientFactory)
    practice = factory.SelfAttribute("client.practice")
    date = factory.LazyFunction(dt.date.today)
    fee = 95


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral

    practice = factory.SubFactory(PracticeFactory)
    client = factory.SubFactory(ClientFactory, practice=factory.SelfAttribute("..practice"))
    partner = factory.SubFactory(PartnerFactory, practice=factory.SelfAttribute("..practice"))
    profession_id = "chiropractor"
    reasons = "Rear-ended three weeks ago; neck pain."
