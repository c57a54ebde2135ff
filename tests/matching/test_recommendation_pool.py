"""Browse and recommendations read the mentor pool as plain values plus cached lists.

The straightforward build (``build_cohort``: every mentor as an ORM row with its
relations) is the reference: the fast path must give the same arrays, so the same
ranking, scores and reasons, for any population.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from django.core.paginator import Paginator
from django.db.models import F

from accounts import services as account_services
from accounts.choices import Ethnicity, Gender, Goal, MentoringStyle, Role, Stage
from accounts.models import Interest, Language, Profile, Specialty, User
from matching import adapters, selectors
from matching.adapters import build_cohort, build_pool_cohort
from matching.engine.explain import explain
from matching.engine.features import Encoded
from matching.engine.rank import top_k, top_k_from_row
from matching.engine.scoring import build_model, feasibility, score_matrix
from tests.factories import ConflictFactory, InstitutionFactory, UserFactory

pytestmark = pytest.mark.django_db

ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London",
         "Asia/Kolkata", "Not/AZone"]  # fmt: skip
MENTOR_STAGES = [s for s in Stage if s >= Stage.PGY1]


def _sample(rng: random.Random, items: list[Any], most: int) -> list[Any]:
    return rng.sample(items, rng.randint(0, most))


@pytest.fixture
def population(school, other_school):
    """40 mentors and 5 mentees drawn with a fixed seed, covering every input the engine
    reads: empty and long lists, unknown time zones, full and closed mentors, declared
    conflicts, demographics with and without a concordance opt-in, an inactive mentor."""
    rng = random.Random(2026)
    specialties = list(Specialty.objects.order_by("pk"))
    interests = list(Interest.objects.order_by("pk"))
    languages = list(Language.objects.order_by("pk"))
    schools = [school, other_school, InstitutionFactory(), None]
    mentors = []
    for n in range(40):
        capacity = rng.randint(0, 3)
        user = UserFactory(
            role=rng.choice([Role.RESIDENT, Role.PHYSICIAN]),
            full_name=f"Mentor {n:02d}",
            is_active=n != 7,
            profile={
                "institution": rng.choice(schools),
                "stage": rng.choice(MENTOR_STAGES),
                "timezone": rng.choice(ZONES),
                "accepting_mentees": rng.random() < 0.8,
                "capacity": capacity,
                "hours_per_month": rng.randint(0, 12),
                "strengths": _sample(rng, list(Goal.values), 4),
                "preferred_mentee_stages": _sample(rng, [int(s) for s in Stage][:6], 3),
                "mentoring_style": rng.choice(list(MentoringStyle.values)),
                "meets_in_person": rng.random() < 0.5,
                "meets_video": rng.random() < 0.7,
                "meets_phone": rng.random() < 0.3,
            },
        )
        profile = user.profile
        Profile.objects.filter(pk=profile.pk).update(active_mentees=rng.randint(0, capacity))
        profile.specialties.set(_sample(rng, specialties, 3))
        profile.interests.set(_sample(rng, interests, 4))
        profile.languages.set(_sample(rng, languages, 2))
        if rng.random() < 0.6:
            account_services.demographics_update(
                user=user,
                gender=rng.choice([*Gender.values, ""]),
                ethnicities=_sample(rng, list(Ethnicity.values), 2),
            )
        if rng.random() < 0.2:
            ConflictFactory(
                mentor=user,
                institution=rng.choice([school, None]),
                stage=rng.choice([Stage.MS1, Stage.MS2, None]),
            )
        mentors.append(user)
    mentees = []
    for n in range(5):
        user = UserFactory(
            role=Role.STUDENT if n < 4 else Role.RESIDENT,
            full_name=f"Mentee {n}",
            profile={
                "institution": rng.choice(schools[:2]),
                "stage": rng.choice([Stage.MS1, Stage.MS2, Stage.MS4]) if n < 4 else Stage.PGY1,
                "timezone": rng.choice(ZONES),
                "goals": {g: rng.randint(1, 3) for g in _sample(rng, list(Goal.values), 3)},
                "mentor_stage_preference": rng.choice(["any", "near_peer", "senior"]),
                "institution_preference": rng.choice(["any", "same", "other"]),
                "style_preference": rng.choice(list(MentoringStyle.values)),
            },
        )
        user.profile.specialties.set(_sample(rng, specialties, 2))
        user.profile.interests.set(_sample(rng, interests, 3))
        user.profile.languages.set(_sample(rng, languages, 2))
        account_services.demographics_update(
            user=user,
            gender=rng.choice(Gender.values),
            ethnicities=_sample(rng, list(Ethnicity.values), 2),
            wants_same_gender=n % 2 == 0,
            wants_same_ethnicity=n % 3 == 0,
        )
        mentees.append(user)
    return {"mentors": mentors, "mentees": mentees}


FILTERS: list[dict[str, str]] = [
    {},
    {"accepting_only": "false"},
    {"family": "surgical", "accepting_only": "false"},
    {"stage": "attending"},
]


def _same_arrays(a: Encoded, b: Encoded) -> None:
    assert a.languages == b.languages
    for side in ("mentees", "mentors"):
        left, right = getattr(a, side), getattr(b, side)
        for name in left.__dataclass_fields__:
            x, y = getattr(left, name), getattr(right, name)
            assert x.dtype == y.dtype, (side, name)
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), (side, name)


def _reference_recommendations(user: User, filters: dict[str, str], k: int = 10) -> list[Any]:
    """Recommendations as computed before the fast path: every mentor as an ORM row."""
    mentor_filter, pool = selectors._mentor_pool(user, filters)
    cohort = build_cohort(Profile.objects.filter(user=user), pool)
    if not cohort.mentors:
        return []
    model = build_model(cohort.encoded)
    results = []
    for index in top_k(model, 0, k=k).mentors:
        why = explain(model, 0, int(index))
        results.append((cohort.mentors[int(index)].pk, why.score, why.reasons,
                        why.contributions, []))  # fmt: skip
    if mentor_filter.form.cleaned_data.get("accepting_only") == "false" and len(results) < k:
        allowed = feasibility(cohort.encoded, rows=np.array([0]))[0]
        row = score_matrix(model, rows=np.array([0]))[0]
        for index in top_k_from_row(row, ~allowed, k).mentors:
            why = explain(model, 0, int(index))
            if why.rules_broken and set(why.rules_broken) <= selectors.CAPACITY_RULES:
                results.append((cohort.mentors[int(index)].pk, why.score, why.reasons,
                                why.contributions, why.excluded_by))  # fmt: skip
            if len(results) >= k:
                break
    return results


def _reference_browse(user: User, filters: dict[str, str], page: int, per_page: int) -> list[Any]:
    _mentor_filter, pool = selectors._mentor_pool(user, filters)
    cohort = build_cohort(Profile.objects.filter(user=user), pool)
    model = build_model(cohort.encoded)
    scores = score_matrix(model, rows=np.array([0]))[0]
    allowed = feasibility(cohort.encoded, rows=np.array([0]))[0]
    order = np.lexsort((np.arange(scores.size), -scores, ~allowed))
    shown = Paginator([int(i) for i in order], per_page).get_page(page).object_list
    return [
        (cohort.mentors[i].pk, why.score, why.reasons[: selectors.CARD_REASONS], why.excluded_by)
        for i, why in ((i, explain(model, 0, i)) for i in shown)
    ]


def _recommended(user: User, filters: dict[str, str], k: int = 10) -> list[Any]:
    page = selectors.recommendations_for(user=user, filters=filters, k=k)
    return [(r.mentor.pk, r.score, r.reasons, r.contributions, r.excluded_by) for r in page.results]


def _browsed(user: User, filters: dict[str, str], page: int, per_page: int) -> list[Any]:
    browse = selectors.browse_mentors(user=user, filters=filters, page=page, per_page=per_page)
    return [(c.mentor.pk, c.score, c.reasons, c.excluded_by) for c in browse.page.object_list]


def test_the_pool_path_encodes_exactly_what_the_straightforward_build_encodes(population):
    for mentee in population["mentees"]:
        for filters in FILTERS:
            _filter, pool = selectors._mentor_pool(mentee, filters)
            mentees = Profile.objects.filter(user=mentee)
            reference = build_cohort(mentees, pool)
            fast = build_pool_cohort(mentees, pool)
            assert fast.mentor_ids == [p.pk for p in reference.mentors]
            _same_arrays(fast.encoded, reference.encoded)


def test_recommendations_and_browse_rank_exactly_as_the_straightforward_build(population):
    compared = 0
    for mentee in population["mentees"]:
        for filters in FILTERS:
            expected = _reference_recommendations(mentee, filters, k=12)
            assert _recommended(mentee, filters, k=12) == expected
            compared += len(expected)
            for page in (1, 2, 3):
                assert _browsed(mentee, filters, page, 7) == _reference_browse(
                    mentee, filters, page, 7
                )
    assert compared > 100  # the population gave the comparison something to compare


@pytest.fixture
def load_counter(monkeypatch):
    """How many times the mentors' lists were read from the database."""
    calls: list[int] = []
    real = adapters._load_relations

    def counting(profiles: Any) -> Any:
        calls.append(1)
        return real(profiles)

    monkeypatch.setattr(adapters, "_load_relations", counting)
    return calls


def _result(user: User, mentor: User, **filters: str) -> selectors.Recommendation | None:
    page = selectors.recommendations_for(user=user, filters=filters, k=50)
    return next((r for r in page.results if r.mentor.pk == mentor.profile.pk), None)


def test_the_cached_lists_are_replaced_when_a_mentor_changes_them(
    seeker, ortho, school, load_counter
):
    mentor = UserFactory(
        role=Role.PHYSICIAN,
        full_name="Changing Mentor",
        profile={"institution": school, "stage": Stage.ATTENDING_SENIOR, "capacity": 2},
    )
    mentor.profile.specialties.set([ortho])
    first = _result(seeker, mentor)
    assert first is not None and "Both in Orthopaedic surgery" in first.reasons
    assert _result(seeker, mentor) == first
    assert len(load_counter) == 1  # the second request read the lists from the cache

    ent = Specialty.objects.get(slug="otolaryngology")
    account_services.profile_update(user=mentor, data={"specialties": [ent]})
    changed = _result(seeker, mentor)
    assert len(load_counter) == 2
    assert changed is not None and "Both in Orthopaedic surgery" not in changed.reasons
    assert changed.score < first.score

    spanish = Language.objects.get(code="es")
    account_services.profile_update(user=mentor, data={"languages": [spanish]})
    account_services.profile_update(user=seeker, data={"languages": [spanish]})
    assert _result(seeker, mentor).contributions["language"] > 0  # type: ignore[union-attr]
    assert len(load_counter) == 3


def test_capacity_and_profile_changes_show_at_once_whatever_the_cache_holds(
    seeker, ortho, school, load_counter
):
    mentor = UserFactory(
        role=Role.PHYSICIAN,
        full_name="Busy Mentor",
        profile={"institution": school, "stage": Stage.ATTENDING_SENIOR, "capacity": 1},
    )
    mentor.profile.specialties.set([ortho])
    before = _result(seeker, mentor)
    assert before is not None

    account_services.profile_update(user=mentor, data={"capacity": 4, "hours_per_month": 8})
    roomier = _result(seeker, mentor)
    assert roomier is not None
    assert roomier.contributions["availability"] > before.contributions["availability"]

    # Places are claimed with an UPDATE that leaves updated_at alone.
    Profile.objects.filter(user=mentor).update(active_mentees=F("capacity"))
    assert _result(seeker, mentor) is None
    full = _result(seeker, mentor, accepting_only="false")
    assert full is not None
    assert full.excluded_by == ["This mentor has no free mentee slots"]

    account_services.profile_update(user=mentor, data={"timezone": "Asia/Tokyo"})
    far = _result(seeker, mentor, accepting_only="false")
    assert far is not None
    assert far.contributions["timezone"] < full.contributions["timezone"]
    assert len(load_counter) == 1  # none of this touched the cached lists


def test_a_mentor_missing_from_the_cache_is_read_from_the_database(seeker, ortho, school):
    student = UserFactory(role=Role.STUDENT, profile={"institution": school})
    student.profile.specialties.set([ortho])
    assert _result(seeker, student) is None  # a student is no mentor; the cache is now warm
    User.objects.filter(pk=student.pk).update(role=Role.PHYSICIAN)
    Profile.objects.filter(user=student).update(
        stage=Stage.ATTENDING_SENIOR, accepting_mentees=True
    )
    became = _result(seeker, student)
    assert became is not None and "Both in Orthopaedic surgery" in became.reasons
