"""Profiles -> numeric arrays.

The engine never sees ORM rows. The adapter (or the benchmark) describes people with
the plain dataclasses below, and :func:`encode` turns them into arrays once per run.
Everything downstream (:mod:`matching.engine.scoring`, :mod:`matching.engine.assign`)
works on those arrays and is generic over indices: a specialty, interest, goal,
institution or concordance category is just an int.

Callers that already hold arrays (the benchmark builds 20,000-person cohorts) can
construct :class:`MenteeArrays` / :class:`MentorArrays` directly and wrap them in an
:class:`Encoded`; :meth:`Encoded.validate` checks shapes and ranges either way.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

# The career ladder. Callers may pass their own labels, but the ordinal meaning of
# the ints (0 pre-med ... 15 senior attending) is part of the contract: the stage
# factor reasons about "near-peer" and "attending" using these positions.
DEFAULT_STAGE_LABELS: tuple[str, ...] = (
    "Pre-med",
    "MS1",
    "MS2",
    "MS3",
    "MS4",
    "PGY-1",
    "PGY-2",
    "PGY-3",
    "PGY-4",
    "PGY-5",
    "PGY-6",
    "PGY-7+",
    "Fellow",
    "Early-career attending",
    "Mid-career attending",
    "Senior attending",
)
N_STAGES = len(DEFAULT_STAGE_LABELS)
FIRST_RESIDENT_STAGE = 5
FELLOW_STAGE = 12
FIRST_ATTENDING_STAGE = 13

DEFAULT_GOAL_NAMES: tuple[str, ...] = (
    "career guidance",
    "residency applications",
    "research",
    "clinical skills",
    "wellness and burnout",
    "networking",
    "work-life balance and topics not discussed in the hospital",
    "letters of recommendation",
)

MEETING_MODES: tuple[str, ...] = ("in_person", "video", "phone")
STAGE_WISHES: tuple[str, ...] = ("any", "near_peer", "senior")
MENTEE_STYLE_WISHES: tuple[str, ...] = ("any", "supportive", "challenging")
MENTOR_STYLES: tuple[str, ...] = ("either", "supportive", "challenging")
INSTITUTION_PREFS: tuple[str, ...] = ("any", "same", "other")
INSTITUTION_RULES: tuple[str | None, ...] = (None, "same", "other")

# Sentinel for "no category / undisclosed / unknown" in int arrays.
NONE = -1


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """Vocabularies shared by mentees and mentors.

    ``related_specialties`` lists symmetric "closely related" pairs of specialty
    indices. ``gender_similarity`` / ``ethnicity_similarity`` are (k, k) matrices in
    [0, 1] with 1.0 on the diagonal and partial credit for a close fallback group;
    None means the program collects no such category.
    """

    specialty_names: Sequence[str]
    specialty_family: Sequence[int]
    family_names: Sequence[str]
    related_specialties: Sequence[tuple[int, int]] = ()
    interest_names: Sequence[str] = ()
    goal_names: Sequence[str] = DEFAULT_GOAL_NAMES
    stage_labels: Sequence[str] = DEFAULT_STAGE_LABELS
    language_names: Mapping[str, str] = field(default_factory=dict)
    gender_similarity: np.ndarray | None = None
    ethnicity_similarity: np.ndarray | None = None

    @property
    def n_specialties(self) -> int:
        return len(self.specialty_names)

    @property
    def n_interests(self) -> int:
        return len(self.interest_names)

    @property
    def n_goals(self) -> int:
        return len(self.goal_names)

    @property
    def n_genders(self) -> int:
        return 0 if self.gender_similarity is None else int(self.gender_similarity.shape[0])

    @property
    def n_ethnicities(self) -> int:
        return 0 if self.ethnicity_similarity is None else int(self.ethnicity_similarity.shape[0])

    def related_matrix(self) -> np.ndarray:
        """(S, S) bool: closely related specialties (symmetric, diagonal False)."""
        s = self.n_specialties
        rel = np.zeros((s, s), dtype=bool)
        if len(self.related_specialties):
            pairs = np.asarray(self.related_specialties, dtype=np.int64).reshape(-1, 2)
            rel[pairs[:, 0], pairs[:, 1]] = True
            rel[pairs[:, 1], pairs[:, 0]] = True
        np.fill_diagonal(rel, False)
        return rel

    def family_matrix(self) -> np.ndarray:
        """(S, S) bool: same specialty family."""
        fam = np.asarray(self.specialty_family, dtype=np.int64)
        return fam[:, None] == fam[None, :]

    def validate(self) -> None:
        s = self.n_specialties
        if len(self.specialty_family) != s:
            raise ValueError("specialty_family must have one family per specialty")
        fam = np.asarray(self.specialty_family, dtype=np.int64)
        if s and (fam.min() < 0 or fam.max() >= len(self.family_names)):
            raise ValueError("specialty_family holds an unknown family index")
        if len(self.related_specialties):
            pairs = np.asarray(self.related_specialties, dtype=np.int64).reshape(-1, 2)
            if pairs.min() < 0 or pairs.max() >= s:
                raise ValueError("related_specialties holds an unknown specialty index")
        if len(self.stage_labels) != N_STAGES:
            raise ValueError(f"stage_labels must have {N_STAGES} entries")
        for name, sim in (
            ("gender_similarity", self.gender_similarity),
            ("ethnicity_similarity", self.ethnicity_similarity),
        ):
            if sim is None:
                continue
            sim = np.asarray(sim)
            if sim.ndim != 2 or sim.shape[0] != sim.shape[1]:
                raise ValueError(f"{name} must be square")
            if np.any(sim < 0) or np.any(sim > 1) or not np.allclose(np.diag(sim), 1.0):
                raise ValueError(f"{name} must lie in [0, 1] with 1.0 on the diagonal")


@dataclass
class MenteeProfile:
    """What the engine knows about a mentee (a student, or a resident seeking a mentor).

    ``goals`` maps goal index -> priority 1..3 (3 = most important). ``stage_wish`` is
    one of ``STAGE_WISHES``; ``institution_pref`` one of ``INSTITUTION_PREFS``;
    ``style_wish`` one of ``MENTEE_STYLE_WISHES``. ``timezone`` is a UTC offset in
    hours. Concordance fields are used only when the matching ``want_same_*`` flag is
    set: the mentee controls that preference.
    """

    person_id: int
    stage: int
    specialties: Sequence[int] = ()
    interests: Sequence[int] = ()
    goals: Mapping[int, int] = field(default_factory=dict)
    stage_wish: str = "any"
    languages: Sequence[str] = ()
    meeting_modes: Collection[str] = ()
    timezone: float | None = None
    institution: int = NONE
    institution_pref: str = "any"
    gender: int | None = None
    ethnicities: Sequence[int] = ()
    want_same_gender: bool = False
    want_same_ethnicity: bool = False
    style_wish: str = "any"


@dataclass
class MentorProfile:
    """What the engine knows about a mentor (a resident, fellow or attending).

    ``conflicts`` are (institution, stage) pairs the mentor declared, -1 being a
    wildcard: (7, 3) means "I grade or select MS3 students at institution 7".
    ``preferred_stages`` empty means the mentor welcomes any stage.
    """

    person_id: int
    stage: int
    specialties: Sequence[int] = ()
    interests: Sequence[int] = ()
    strengths: Sequence[int] = ()
    languages: Sequence[str] = ()
    meeting_modes: Collection[str] = ()
    timezone: float | None = None
    institution: int = NONE
    gender: int | None = None
    ethnicities: Sequence[int] = ()
    accepting: bool = True
    capacity: int = 1
    active: int = 0
    hours_per_month: float = 0.0
    preferred_stages: Sequence[int] = ()
    style: str = "either"
    conflicts: Sequence[tuple[int, int]] = ()


@dataclass(eq=False)
class MenteeArrays:
    """Column-wise mentee data, one row per mentee (see :class:`MenteeProfile`).

    Codes: ``stage_wish`` indexes ``STAGE_WISHES``, ``institution_pref`` indexes
    ``INSTITUTION_PREFS``, ``style_wish`` indexes ``MENTEE_STYLE_WISHES``; ``gender``
    and ``institution`` use -1 for none; ``timezone`` uses NaN for unknown;
    ``goals`` holds priorities 0..3 (0 = not sought); ``modes`` columns follow
    ``MEETING_MODES``.
    """

    person: np.ndarray  # (n,) int64
    stage: np.ndarray  # (n,) int64
    stage_wish: np.ndarray  # (n,) int64
    specialties: np.ndarray  # (n, S) bool
    interests: np.ndarray  # (n, I) bool
    goals: np.ndarray  # (n, G) int64
    languages: np.ndarray  # (n, L) bool
    modes: np.ndarray  # (n, 3) bool
    timezone: np.ndarray  # (n,) float64
    institution: np.ndarray  # (n,) int64
    institution_pref: np.ndarray  # (n,) int64
    gender: np.ndarray  # (n,) int64
    ethnicity: np.ndarray  # (n, E) bool
    want_same_gender: np.ndarray  # (n,) bool
    want_same_ethnicity: np.ndarray  # (n,) bool
    style_wish: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return int(self.stage.shape[0])


@dataclass(eq=False)
class MentorArrays:
    """Column-wise mentor data, one row per mentor (see :class:`MentorProfile`).

    ``conflicts`` is a (c, 3) int array of (mentor index, institution, stage) with -1
    as wildcard; ``preferred_stages`` is (m, N_STAGES) bool, an all-False row meaning
    "any stage"; ``style`` indexes ``MENTOR_STYLES``.
    """

    person: np.ndarray  # (m,) int64
    stage: np.ndarray  # (m,) int64
    specialties: np.ndarray  # (m, S) bool
    interests: np.ndarray  # (m, I) bool
    strengths: np.ndarray  # (m, G) bool
    languages: np.ndarray  # (m, L) bool
    modes: np.ndarray  # (m, 3) bool
    timezone: np.ndarray  # (m,) float64
    institution: np.ndarray  # (m,) int64
    gender: np.ndarray  # (m,) int64
    ethnicity: np.ndarray  # (m, E) bool
    accepting: np.ndarray  # (m,) bool
    capacity: np.ndarray  # (m,) int64
    active: np.ndarray  # (m,) int64
    hours: np.ndarray  # (m,) float64
    preferred_stages: np.ndarray  # (m, N_STAGES) bool
    style: np.ndarray  # (m,) int64
    conflicts: np.ndarray  # (c, 3) int64

    def __len__(self) -> int:
        return int(self.stage.shape[0])

    @property
    def remaining(self) -> np.ndarray:
        """Free mentee slots per mentor (capacity - active), never below 0."""
        return np.maximum(self.capacity - self.active, 0)


@dataclass(eq=False)
class Encoded:
    """A taxonomy plus encoded mentees and mentors: the input of the scoring step.

    ``languages`` is the language-code vocabulary indexing the language columns.
    """

    taxonomy: Taxonomy
    mentees: MenteeArrays
    mentors: MentorArrays
    languages: tuple[str, ...] = ()

    @property
    def n_mentees(self) -> int:
        return len(self.mentees)

    @property
    def n_mentors(self) -> int:
        return len(self.mentors)

    def validate(self) -> None:
        """Raise ValueError when shapes or value ranges are inconsistent."""
        tax = self.taxonomy
        tax.validate()
        e, r = self.mentees, self.mentors
        n, m = len(e), len(r)
        n_lang = len(self.languages)
        expect = {
            "mentee specialties": (e.specialties, (n, tax.n_specialties)),
            "mentee interests": (e.interests, (n, tax.n_interests)),
            "mentee goals": (e.goals, (n, tax.n_goals)),
            "mentee languages": (e.languages, (n, n_lang)),
            "mentee modes": (e.modes, (n, len(MEETING_MODES))),
            "mentee ethnicity": (e.ethnicity, (n, tax.n_ethnicities)),
            "mentor specialties": (r.specialties, (m, tax.n_specialties)),
            "mentor interests": (r.interests, (m, tax.n_interests)),
            "mentor strengths": (r.strengths, (m, tax.n_goals)),
            "mentor languages": (r.languages, (m, n_lang)),
            "mentor modes": (r.modes, (m, len(MEETING_MODES))),
            "mentor ethnicity": (r.ethnicity, (m, tax.n_ethnicities)),
            "mentor preferred stages": (r.preferred_stages, (m, N_STAGES)),
        }
        for name, (arr, shape) in expect.items():
            if arr.shape != shape:
                raise ValueError(f"{name}: expected shape {shape}, got {arr.shape}")
        for name, arr, size in (
            ("mentee person", e.person, n),
            ("mentee stage", e.stage, n),
            ("mentor person", r.person, m),
            ("mentor stage", r.stage, m),
            ("mentor capacity", r.capacity, m),
        ):
            if arr.shape != (size,):
                raise ValueError(f"{name}: expected shape ({size},), got {arr.shape}")
        for name, arr in (("mentee stage", e.stage), ("mentor stage", r.stage)):
            if arr.size and (arr.min() < 0 or arr.max() >= N_STAGES):
                raise ValueError(f"{name} out of range 0..{N_STAGES - 1}")
        if e.goals.size and (e.goals.min() < 0 or e.goals.max() > 3):
            raise ValueError("goal priorities must be 0..3")
        for name, arr, k in (
            ("mentee gender", e.gender, tax.n_genders),
            ("mentor gender", r.gender, tax.n_genders),
        ):
            if arr.size and (arr.min() < NONE or arr.max() >= k):
                raise ValueError(f"{name} holds an unknown category")
        if np.any(r.capacity < 0) or np.any(r.active < 0):
            raise ValueError("capacity and active must be >= 0")
        if r.conflicts.ndim != 2 or r.conflicts.shape[1] != 3:
            raise ValueError("mentor conflicts must be a (c, 3) array")
        if r.conflicts.size and (r.conflicts[:, 0].min() < 0 or r.conflicts[:, 0].max() >= m):
            raise ValueError("a conflict refers to an unknown mentor")


def _code(value: str, vocabulary: Sequence[str | None], what: str) -> int:
    try:
        return vocabulary.index(value)
    except ValueError:
        raise ValueError(f"unknown {what} {value!r}; expected one of {list(vocabulary)}") from None


def _multi_hot(rows: Sequence[Collection[int]], width: int, what: str) -> np.ndarray:
    out = np.zeros((len(rows), width), dtype=bool)
    # One flat array and one scatter: per-row numpy calls cost more than the data
    # when thousands of mentors are encoded for a single request.
    sizes = np.fromiter((len(items) for items in rows), dtype=np.int64, count=len(rows))
    total = int(sizes.sum())
    if total == 0:
        return out
    idx = np.fromiter((i for items in rows for i in items), dtype=np.int64, count=total)
    row = np.repeat(np.arange(len(rows)), sizes)
    bad = np.flatnonzero((idx < 0) | (idx >= width))
    if bad.size:
        raise ValueError(f"{what} index out of range in row {int(row[bad[0]])}")
    out[row, idx] = True
    return out


def _modes(rows: Sequence[Collection[str]]) -> np.ndarray:
    out = np.zeros((len(rows), len(MEETING_MODES)), dtype=bool)
    for i, modes in enumerate(rows):
        for mode in modes:
            out[i, _code(mode, MEETING_MODES, "meeting mode")] = True
    return out


def _tz(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def encode(
    taxonomy: Taxonomy,
    mentees: Sequence[MenteeProfile],
    mentors: Sequence[MentorProfile],
) -> Encoded:
    """Turn profiles into arrays once (a loop over people, never over pairs)."""
    taxonomy.validate()
    codes = {code for p in mentees for code in p.languages}
    codes |= {code for q in mentors for code in q.languages}
    languages = tuple(sorted(codes))
    lang_index = {code: k for k, code in enumerate(languages)}

    def lang_rows(people: Sequence[MenteeProfile] | Sequence[MentorProfile]) -> np.ndarray:
        return _multi_hot(
            [[lang_index[c] for c in p.languages] for p in people], len(languages), "language"
        )

    n_goals = taxonomy.n_goals
    goals = np.zeros((len(mentees), n_goals), dtype=np.int64)
    for i, p in enumerate(mentees):
        for g, prio in p.goals.items():
            if not 0 <= g < n_goals or not 1 <= prio <= 3:
                raise ValueError(f"mentee {i}: goal {g} priority {prio} out of range")
            goals[i, g] = prio

    mentee_arrays = MenteeArrays(
        person=np.array([p.person_id for p in mentees], dtype=np.int64),
        stage=np.array([p.stage for p in mentees], dtype=np.int64),
        stage_wish=np.array(
            [_code(p.stage_wish, STAGE_WISHES, "stage wish") for p in mentees], dtype=np.int64
        ),
        specialties=_multi_hot(
            [p.specialties for p in mentees], taxonomy.n_specialties, "specialty"
        ),
        interests=_multi_hot([p.interests for p in mentees], taxonomy.n_interests, "interest"),
        goals=goals,
        languages=lang_rows(mentees),
        modes=_modes([p.meeting_modes for p in mentees]),
        timezone=np.array([_tz(p.timezone) for p in mentees], dtype=np.float64),
        institution=np.array([p.institution for p in mentees], dtype=np.int64),
        institution_pref=np.array(
            [
                _code(p.institution_pref, INSTITUTION_PREFS, "institution preference")
                for p in mentees
            ],
            dtype=np.int64,
        ),
        gender=np.array([NONE if p.gender is None else p.gender for p in mentees], dtype=np.int64),
        ethnicity=_multi_hot([p.ethnicities for p in mentees], taxonomy.n_ethnicities, "ethnicity"),
        want_same_gender=np.array([p.want_same_gender for p in mentees], dtype=bool),
        want_same_ethnicity=np.array([p.want_same_ethnicity for p in mentees], dtype=bool),
        style_wish=np.array(
            [_code(p.style_wish, MENTEE_STYLE_WISHES, "style wish") for p in mentees],
            dtype=np.int64,
        ),
    )

    conflicts = [(j, inst, stage) for j, p in enumerate(mentors) for inst, stage in p.conflicts]
    mentor_arrays = MentorArrays(
        person=np.array([p.person_id for p in mentors], dtype=np.int64),
        stage=np.array([p.stage for p in mentors], dtype=np.int64),
        specialties=_multi_hot(
            [p.specialties for p in mentors], taxonomy.n_specialties, "specialty"
        ),
        interests=_multi_hot([p.interests for p in mentors], taxonomy.n_interests, "interest"),
        strengths=_multi_hot([p.strengths for p in mentors], n_goals, "goal"),
        languages=lang_rows(mentors),
        modes=_modes([p.meeting_modes for p in mentors]),
        timezone=np.array([_tz(p.timezone) for p in mentors], dtype=np.float64),
        institution=np.array([p.institution for p in mentors], dtype=np.int64),
        gender=np.array([NONE if p.gender is None else p.gender for p in mentors], dtype=np.int64),
        ethnicity=_multi_hot([p.ethnicities for p in mentors], taxonomy.n_ethnicities, "ethnicity"),
        accepting=np.array([p.accepting for p in mentors], dtype=bool),
        capacity=np.array([p.capacity for p in mentors], dtype=np.int64),
        active=np.array([p.active for p in mentors], dtype=np.int64),
        hours=np.array([p.hours_per_month for p in mentors], dtype=np.float64),
        preferred_stages=_multi_hot([p.preferred_stages for p in mentors], N_STAGES, "stage"),
        style=np.array(
            [_code(p.style, MENTOR_STYLES, "mentoring style") for p in mentors], dtype=np.int64
        ),
        conflicts=np.array(conflicts, dtype=np.int64).reshape(-1, 3),
    )
    encoded = Encoded(taxonomy, mentee_arrays, mentor_arrays, languages)
    encoded.validate()
    return encoded
