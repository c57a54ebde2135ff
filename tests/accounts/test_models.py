import pytest
from django.db import IntegrityError, transaction

from accounts.choices import SpecialtyFamily
from accounts.models import Demographics, Profile, Specialty, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_email_is_unique_whatever_its_case():
    UserFactory(email="jane@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="JANE@example.org", full_name="Jane Again")


def test_create_user_lowercases_email_and_hashes_password():
    user = User.objects.create_user(
        email="Mixed.Case@Example.ORG", password="a-long-password-1", full_name="Mixed Case"
    )
    assert user.email == "mixed.case@example.org"
    assert user.password != "a-long-password-1"
    assert user.check_password("a-long-password-1")


def test_unknown_role_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="x@example.org", full_name="X", role="wizard")


def test_capacity_above_twenty_is_refused_by_the_database():
    user = UserFactory(role="physician")
    with pytest.raises(IntegrityError), transaction.atomic():
        Profile.objects.filter(user=user).update(capacity=21)
    assert Profile.objects.get(user=user).capacity != 21


def test_stage_off_the_ladder_is_refused_by_the_database():
    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Profile.objects.filter(user=user).update(stage=16)


def test_concordance_opt_in_must_carry_its_date():
    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Demographics.objects.create(user=user, gender="woman", wants_same_gender=True)
    assert not Demographics.objects.filter(user=user).exists()


def test_taxonomy_has_forty_plus_specialties_in_families_with_symmetric_relations():
    assert Specialty.objects.count() >= 40
    families = set(Specialty.objects.values_list("family", flat=True))
    assert families == set(SpecialtyFamily.values)
    ortho = Specialty.objects.get(slug="orthopaedic-surgery")
    sports = Specialty.objects.get(slug="sports-medicine")
    ent = Specialty.objects.get(slug="otolaryngology")
    assert sports in ortho.related.all()
    assert ortho in sports.related.all()  # symmetric
    assert ent not in ortho.related.all()
    assert ortho.family == ent.family == "surgical"


def test_display_name_adds_the_title_for_physicians_only():
    assert UserFactory(role="physician", full_name="Helen Park").display_name == "Dr. Helen Park"
    assert UserFactory(role="student", full_name="Maya Okafor").display_name == "Maya Okafor"
