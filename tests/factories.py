"""factory_boy factories that keep users, profiles and institutions consistent."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from accounts.choices import Role, Stage
from accounts.models import ConflictOfInterest, Demographics, Institution, Profile, User

DEFAULT_STAGE = {
    Role.STUDENT: Stage.MS2,
    Role.RESIDENT: Stage.PGY2,
    Role.PHYSICIAN: Stage.ATTENDING_MID,
}


class InstitutionFactory(DjangoModelFactory):
    class Meta:
        model = Institution
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Test School of Medicine {n}")
    short_name = factory.Sequence(lambda n: f"TSM{n}")
    slug = factory.Sequence(lambda n: f"test-school-{n}")
    city = "Springfield"
    timezone = "America/New_York"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name")
    role = Role.STUDENT
    password = factory.django.Password("correct-horse-battery-staple")

    @factory.post_generation
    def profile(self, create: bool, extracted: dict | None, **kwargs: object) -> None:
        if not create:
            return
        values = {"stage": DEFAULT_STAGE.get(self.role), **kwargs}
        if extracted:
            values.update(extracted)
        values.setdefault("seeking_mentor", self.role == Role.STUDENT)
        values.setdefault("accepting_mentees", self.role in (Role.RESIDENT, Role.PHYSICIAN))
        if "institution" not in values:
            values["institution"] = InstitutionFactory()
        Profile.objects.create(user=self, **values)


class DemographicsFactory(DjangoModelFactory):
    class Meta:
        model = Demographics

    user = factory.SubFactory(UserFactory)
    gender = ""
    ethnicities: list[str] = []


class ConflictFactory(DjangoModelFactory):
    class Meta:
        model = ConflictOfInterest

    mentor = factory.SubFactory(UserFactory, role=Role.PHYSICIAN)
    description = "I grade MS3 surgery clerkship students"
    stage = Stage.MS3
