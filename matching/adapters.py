"""The only bridge between ORM rows and the matching engine's arrays.

Loads people in a fixed number of queries whatever their number, turns them into
the engine's plain dataclasses, and maps engine indices back to rows. Sensitive
attributes are read here only to build concordance arrays; they never leave the
engine except as "matches a preference you set".
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db.models import Count, IntegerField, Max, Prefetch, QuerySet, Sum, Value
from django.utils import timezone

from accounts.choices import (
    MENTOR_ROLES,
    Ethnicity,
    Gender,
    Goal,
    InstitutionPreference,
    MentoringStyle,
    MentorStagePreference,
    SpecialtyFamily,
    Stage,
)
from accounts.models import ConflictOfInterest, Interest, Language, Profile, Specialty
from accounts.taxonomy import LANGUAGES
from matching.engine.features import (
    NONE,
    Encoded,
    MenteeProfile,
    MentorProfile,
    Taxonomy,
    encode,
)

GOALS: list[str] = list(Goal.values)
GENDERS: list[str] = list(Gender.values)
ETHNICITIES: list[str] = list(Ethnicity.values)
FAMILIES: list[str] = list(SpecialtyFamily.values)

# "A mentor from a group with similar experiences" when no exact match exists
# (PRODUCT.md). Partial credit only; the mentee opted in and can withdraw any time.
FALLBACK_CREDIT = 0.5
GENDER_FALLBACK_GROUPS = [{Gender.WOMAN, Gender.NON_BINARY, Gender.SELF_DESCRIBED}]
ETHNICITY_FALLBACK_GROUPS = [
    # Groups underrepresented in medicine share many experiences of training.
    {Ethnicity.AMERICAN_INDIAN, Ethnicity.BLACK, Ethnicity.HISPANIC, Ethnicity.PACIFIC_ISLANDER},
    {Ethnicity.ASIAN, Ethnicity.PACIFIC_ISLANDER},
    {Ethnicity.MIDDLE_EASTERN, Ethnicity.ASIAN},
]


def _similarity(categories: Sequence[str], groups: Iterable[set[Any]]) -> np.ndarray:
    index = {value: k for k, value in enumerate(categories)}
    sim = np.eye(len(categories))
    for group in groups:
        members = [index[str(value)] for value in group]
        for a in members:
            for b in members:
                if a != b:
                    sim[a, b] = max(sim[a, b], FALLBACK_CREDIT)
    return sim


@dataclass(frozen=True)
class Vocabulary:
    taxonomy: Taxonomy
    specialty_index: dict[int, int]  # Specialty pk -> engine index
    interest_index: dict[int, int]
    specialty_pk: list[int]  # engine index -> Specialty pk


def load_vocabulary() -> Vocabulary:
    """The taxonomy as the engine wants it: three queries."""
    specialties = list(
        Specialty.objects.order_by("pk").prefetch_related(
            Prefetch("related", queryset=Specialty.objects.only("pk"))
        )
    )
    interests = list(Interest.objects.order_by("pk"))
    specialty_index = {s.pk: k for k, s in enumerate(specialties)}
    related = sorted(
        {
            tuple(sorted((specialty_index[s.pk], specialty_index[r.pk])))
            for s in specialties
            for r in s.related.all()
        }
    )
    taxonomy = Taxonomy(
        specialty_names=[s.name for s in specialties],
        specialty_family=[FAMILIES.index(s.family) for s in specialties],
        family_names=[SpecialtyFamily(f).label for f in FAMILIES],
        related_specialties=[(a, b) for a, b in related],
        interest_names=[i.name for i in interests],
        language_names=dict(LANGUAGES),
        stage_labels=[Stage(s).label for s in Stage],
        gender_similarity=_similarity(GENDERS, GENDER_FALLBACK_GROUPS),
        ethnicity_similarity=_similarity(ETHNICITIES, ETHNICITY_FALLBACK_GROUPS),
    )
    return Vocabulary(
        taxonomy=taxonomy,
        specialty_index=specialty_index,
        interest_index={i.pk: k for k, i in enumerate(interests)},
        specialty_pk=[s.pk for s in specialties],
    )


def with_matching_data(queryset: QuerySet[Profile]) -> QuerySet[Profile]:
    """Everything the adapter reads, in a fixed number of queries."""
    # prefetch_related(None) first: callers' own prefetches would clash with these.
    return (
        queryset.select_related("user", "user__demographics", "institution")
        .prefetch_related(None)
        .prefetch_related(
            "specialties",
            "interests",
            "languages",
            Prefetch(
                "user__conflicts",
                queryset=ConflictOfInterest.objects.only("mentor_id", "institution_id", "stage"),
            ),
        )
    )


class _Offsets:
    """UTC offsets in hours, computed once per zone name."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.cache: dict[str, float] = {}

    def __call__(self, name: str) -> float | None:
        if name not in self.cache:
            try:
                offset = self.now.astimezone(zoneinfo.ZoneInfo(name)).utcoffset()
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                return None
            self.cache[name] = offset.total_seconds() / 3600 if offset is not None else 0.0
        return self.cache[name]


def _categories(
    gender: str | None, ethnicities: Iterable[str] | None
) -> tuple[int | None, list[int]]:
    code = GENDERS.index(gender) if gender is not None and gender in GENDERS else None
    return code, [ETHNICITIES.index(e) for e in ethnicities or () if e in ETHNICITIES]


def _demographics(profile: Profile) -> tuple[int | None, list[int], bool, bool]:
    demo = getattr(profile.user, "demographics", None)
    if demo is None:
        return None, [], False, False
    gender, ethnicities = _categories(demo.gender, demo.ethnicities)
    return gender, ethnicities, demo.wants_same_gender, demo.wants_same_ethnicity


STAGE_WISH: dict[str, str] = {
    MentorStagePreference.ANY: "any",
    MentorStagePreference.NEAR_PEER: "near_peer",
    MentorStagePreference.SENIOR: "senior",
}
STYLE_WISH: dict[str, str] = {
    MentoringStyle.EITHER: "any",
    MentoringStyle.SUPPORTIVE: "supportive",
    MentoringStyle.CHALLENGING: "challenging",
}
INSTITUTION_PREF: dict[str, str] = {
    InstitutionPreference.ANY: "any",
    InstitutionPreference.SAME: "same",
    InstitutionPreference.OTHER: "other",
}


def to_mentee(profile: Profile, vocab: Vocabulary, offsets: _Offsets) -> MenteeProfile:
    gender, ethnicities, want_gender, want_ethnicity = _demographics(profile)
    return MenteeProfile(
        person_id=profile.user_id,
        stage=profile.stage if profile.stage is not None else Stage.PREMED,
        specialties=[vocab.specialty_index[s.pk] for s in profile.specialties.all()],
        interests=[vocab.interest_index[i.pk] for i in profile.interests.all()],
        goals={
            GOALS.index(goal): int(priority)
            for goal, priority in profile.goals.items()
            if goal in GOALS
        },
        stage_wish=STAGE_WISH.get(profile.mentor_stage_preference, "any"),
        languages=[language.code for language in profile.languages.all()],
        meeting_modes=profile.meeting_modes,
        timezone=offsets(profile.timezone),
        institution=profile.institution_id or NONE,
        institution_pref=INSTITUTION_PREF.get(profile.institution_preference, "any"),
        gender=gender,
        ethnicities=ethnicities,
        want_same_gender=want_gender,
        want_same_ethnicity=want_ethnicity,
        style_wish=STYLE_WISH.get(profile.style_preference, "any"),
    )


# The profile columns a mentor's engine row is made of (both adapters read these).
_MENTOR_COLUMNS = (
    "user_id",
    "stage",
    "strengths",
    "meets_in_person",
    "meets_video",
    "meets_phone",
    "timezone",
    "institution_id",
    "accepting_mentees",
    "capacity",
    "active_mentees",
    "hours_per_month",
    "preferred_mentee_stages",
    "mentoring_style",
)


def _mentor_profile(
    row: Mapping[str, Any],
    role: str,
    *,
    specialties: Iterable[int],
    interests: Iterable[int],
    language_codes: Iterable[str],
    demographics: tuple[int | None, list[int]],
    conflicts: list[tuple[int, int]],
    vocab: Vocabulary,
    offsets: _Offsets,
) -> MentorProfile:
    """One mentor's engine row from ``_MENTOR_COLUMNS`` values and the pks of their lists."""
    gender, ethnicities = demographics
    return MentorProfile(
        person_id=row["user_id"],
        stage=row["stage"] if row["stage"] is not None else Stage.PGY1,
        specialties=[vocab.specialty_index[pk] for pk in specialties],
        interests=[vocab.interest_index[pk] for pk in interests],
        strengths=[GOALS.index(goal) for goal in row["strengths"] if goal in GOALS],
        languages=list(language_codes),
        meeting_modes=_meeting_modes(
            row["meets_in_person"], row["meets_video"], row["meets_phone"]
        ),
        timezone=offsets(row["timezone"]),
        institution=row["institution_id"] or NONE,
        gender=gender,
        ethnicities=ethnicities,
        accepting=row["accepting_mentees"] and role in MENTOR_ROLES,
        capacity=row["capacity"],
        active=row["active_mentees"],
        hours_per_month=float(row["hours_per_month"]),
        preferred_stages=[int(s) for s in row["preferred_mentee_stages"]],
        style=str(row["mentoring_style"]),
        conflicts=conflicts,
    )


def _meeting_modes(in_person: bool, video: bool, phone: bool) -> list[str]:
    """``Profile.meeting_modes`` from the three columns."""
    return [
        mode for mode, on in (("in_person", in_person), ("video", video), ("phone", phone)) if on
    ]


def to_mentor(profile: Profile, vocab: Vocabulary, offsets: _Offsets) -> MentorProfile:
    gender, ethnicities, _, _ = _demographics(profile)
    return _mentor_profile(
        {column: getattr(profile, column) for column in _MENTOR_COLUMNS},
        profile.user.role,
        specialties=[s.pk for s in profile.specialties.all()],
        interests=[i.pk for i in profile.interests.all()],
        language_codes=[language.code for language in profile.languages.all()],
        demographics=(gender, ethnicities),
        conflicts=[
            (c.institution_id if c.institution_id else NONE, NONE if c.stage is None else c.stage)
            for c in profile.user.conflicts.all()
        ],
        vocab=vocab,
        offsets=offsets,
    )


@dataclass(frozen=True)
class Cohort:
    """Encoded arrays plus the rows they came from, in engine index order."""

    encoded: Encoded
    vocabulary: Vocabulary
    mentees: list[Profile]
    mentors: list[Profile]

    def mentor_index(self) -> dict[int, int]:
        return {profile.pk: k for k, profile in enumerate(self.mentors)}


def build_cohort(
    mentees: QuerySet[Profile],
    mentors: QuerySet[Profile],
    *,
    now: datetime | None = None,
) -> Cohort:
    """Load and encode mentees and mentors: a fixed number of queries for any size."""
    vocab = load_vocabulary()
    offsets = _Offsets(now or timezone.now())
    mentee_rows = list(with_matching_data(mentees).order_by("pk"))
    mentor_rows = list(with_matching_data(mentors).order_by("pk"))
    encoded = encode(
        vocab.taxonomy,
        [to_mentee(p, vocab, offsets) for p in mentee_rows],
        [to_mentor(p, vocab, offsets) for p in mentor_rows],
    )
    return Cohort(encoded=encoded, vocabulary=vocab, mentees=mentee_rows, mentors=mentor_rows)


# --- One mentee against the whole mentor pool, per request --------------------------
#
# Browse and recommendations score one person against every mentor matching the
# filters, and the score depends on that whole pool (the interest IDF is computed
# over it), so the pool cannot be cut down before scoring without changing the
# ranking. What makes it cheap is not building ORM rows for it: the profile columns
# come as plain values in one query, the many-to-many lists from the cache, and ORM
# rows are loaded only for the mentors a page shows.

# The values the engine reads from a mentor's profile row. Read fresh on every request:
# places are claimed with an UPDATE that does not touch ``updated_at``.
_POOL_FIELDS = (
    "pk",
    *_MENTOR_COLUMNS,
    "user__role",
    "user__demographics__gender",
    "user__demographics__ethnicities",
)
_RELATIONS = (
    ("specialties", "specialty_id"),
    ("interests", "interest_id"),
    ("languages", "language_id"),
)
RELATIONS_CACHE_SECONDS = 15 * 60

# (specialty pks, interest pks, language pks) of one profile.
Relations = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]


def relations_stamp() -> str:
    """A version of the three many-to-many tables the engine reads: one query.

    Their rows are only ever inserted and deleted, with ids that only grow, so the
    count, the largest id and the sum of ids change with every change of their content.
    """
    parts = [
        getattr(Profile, name)
        .through.objects.order_by()
        .annotate(part=Value(k, output_field=IntegerField()))
        .values("part")
        .annotate(n=Count("pk"), top=Max("pk"), total=Sum("pk"))
        .values_list("part", "n", "top", "total")
        for k, (name, _column) in enumerate(_RELATIONS)
    ]
    rows = sorted(parts[0].union(*parts[1:], all=True))
    return "-".join(f"{n}.{top or 0}.{total or 0}" for _part, n, top, total in rows)


def _load_relations(profiles: QuerySet[Profile]) -> dict[int, Relations]:
    # Every profile gets an entry, so one without any list is not "missing" next time.
    lists: dict[int, tuple[list[int], list[int], list[int]]] = {
        pk: ([], [], []) for pk in profiles.values_list("pk", flat=True)
    }
    for k, (name, column) in enumerate(_RELATIONS):
        through = getattr(Profile, name).through.objects.filter(profile__in=profiles)
        for profile_id, item_id in through.values_list("profile_id", column):
            lists.setdefault(profile_id, ([], [], []))[k].append(item_id)
    return {pk: (tuple(a), tuple(b), tuple(c)) for pk, (a, b, c) in lists.items()}


def mentor_relations(profile_ids: Sequence[int]) -> dict[int, Relations]:
    """Specialty, interest and language pks of these profiles, mostly from the cache.

    The cache holds every resident's and physician's lists under the tables' version
    stamp, so any change to any list makes a new entry; the stamp is read before the
    lists, so an entry never holds lists older than its stamp. Profiles it lacks (a
    student who became a resident since) are read from the database.
    """
    key = f"matching:mentor-relations:{relations_stamp()}"
    relations: dict[int, Relations] | None = cache.get(key)
    if relations is None:
        relations = _load_relations(Profile.objects.filter(user__role__in=list(MENTOR_ROLES)))
        cache.set(key, relations, RELATIONS_CACHE_SECONDS)
    missing = [pk for pk in profile_ids if pk not in relations]
    if missing:
        relations = dict(relations)
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            relations.update(_load_relations(Profile.objects.filter(pk__in=chunk)))
    return relations


@dataclass(frozen=True)
class PoolCohort:
    """One or a few mentees against a mentor pool, without ORM rows for the pool.

    ``mentor_ids`` are the pool's profile pks in engine index order (by pk, as in
    :func:`build_cohort`, so ties break the same way).
    """

    encoded: Encoded
    vocabulary: Vocabulary
    mentees: list[Profile]
    mentor_ids: list[int]


def build_pool_cohort(
    mentees: QuerySet[Profile],
    mentors: QuerySet[Profile],
    *,
    now: datetime | None = None,
) -> PoolCohort:
    """:func:`build_cohort` for a large mentor pool: the same arrays, a fraction of the work.

    The mentor side costs a fixed number of queries returning plain values (profile
    columns, declared conflicts, language codes), plus the cached many-to-many lists.
    """
    vocab = load_vocabulary()
    offsets = _Offsets(now or timezone.now())
    mentee_rows = list(with_matching_data(mentees).order_by("pk"))
    pool = mentors.select_related(None).prefetch_related(None).order_by("pk")
    rows = list(pool.values(*_POOL_FIELDS))
    relations = mentor_relations([row["pk"] for row in rows])
    codes = dict(Language.objects.values_list("pk", "code"))
    conflicts: dict[int, list[tuple[int, int]]] = {}
    declared = ConflictOfInterest.objects.filter(mentor__in=pool.values("user_id"))
    for mentor_id, institution_id, stage in declared.order_by("created_at", "pk").values_list(
        "mentor_id", "institution_id", "stage"
    ):
        conflicts.setdefault(mentor_id, []).append(
            (institution_id if institution_id else NONE, NONE if stage is None else stage)
        )
    mentor_profiles = []
    for row in rows:
        # Only a profile deleted since the pool was read has no entry; its card is dropped.
        specialties, interests, languages = relations.get(row["pk"], ((), (), ()))
        mentor_profiles.append(
            _mentor_profile(
                row,
                row["user__role"],
                specialties=specialties,
                interests=interests,
                language_codes=[codes[pk] for pk in languages],
                demographics=_categories(
                    row["user__demographics__gender"], row["user__demographics__ethnicities"]
                ),
                conflicts=conflicts.get(row["user_id"], []),
                vocab=vocab,
                offsets=offsets,
            )
        )
    encoded = encode(
        vocab.taxonomy, [to_mentee(p, vocab, offsets) for p in mentee_rows], mentor_profiles
    )
    return PoolCohort(
        encoded=encoded,
        vocabulary=vocab,
        mentees=mentee_rows,
        mentor_ids=[row["pk"] for row in rows],
    )


def with_program_places(cohort: Cohort, places: Sequence[int], *, conflicts: bool = True) -> Cohort:
    """The cohort as a pairing program sees it.

    Each mentor is open for exactly ``places[j]`` mentees: enrolling in the program
    is their consent, so their profile's "accepting new requests" switch does not
    apply, and the availability factor speaks of the places in this program. With
    ``conflicts=False`` (the program does not respect declared conflicts of
    interest) the declared conflicts are left out.
    """
    mentors = cohort.encoded.mentors
    capacity = np.asarray(places, dtype=np.int64).reshape(len(mentors))
    arrays = replace(
        mentors,
        accepting=np.ones(len(mentors), dtype=bool),
        capacity=capacity,
        active=np.zeros_like(capacity),
        conflicts=mentors.conflicts if conflicts else np.zeros((0, 3), dtype=np.int64),
    )
    return replace(cohort, encoded=replace(cohort.encoded, mentors=arrays))
