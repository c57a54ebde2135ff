"""Scores, hard rules, explanations and top-k on small, readable cohorts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from matching.engine.bench import synthetic_cohort
from matching.engine.explain import CONCORDANCE_REASON, explain
from matching.engine.features import Encoded, MenteeProfile, MentorProfile, Taxonomy, encode
from matching.engine.rank import top_k, top_k_from_row
from matching.engine.scoring import (
    DEFAULT_WEIGHTS,
    EXCLUSION_TEXT,
    FACTORS,
    Rules,
    build_model,
    feasibility,
    score_matrix,
    unique_rows,
)

SETTINGS = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True, database=None
)


def examples(n: int) -> settings:
    return settings(SETTINGS, max_examples=n)


ORTHO, GENERAL_SURGERY, ENT, PMR, CARDIOLOGY, INTERNAL_MEDICINE = range(6)
SPORTS_RESEARCH, CLINICAL_TRIALS, GLOBAL_HEALTH, MED_ED = range(4)


def taxonomy() -> Taxonomy:
    ethnicity = np.eye(4)
    ethnicity[0, 1] = ethnicity[1, 0] = 0.5  # a close fallback group
    return Taxonomy(
        specialty_names=[
            "orthopaedic surgery",
            "general surgery",
            "otolaryngology",
            "physical medicine and rehabilitation",
            "cardiology",
            "internal medicine",
        ],
        specialty_family=[0, 0, 0, 1, 2, 2],
        family_names=["surgical", "rehabilitation", "medical"],
        related_specialties=[(ORTHO, PMR), (CARDIOLOGY, INTERNAL_MEDICINE)],
        interest_names=[
            "sports-medicine research",
            "clinical trials",
            "global health",
            "medical education",
        ],
        language_names={"en": "English", "es": "Spanish"},
        gender_similarity=np.eye(3),
        ethnicity_similarity=ethnicity,
    )


def mentee(**kw) -> MenteeProfile:
    base = dict(
        person_id=1,
        stage=3,
        languages=["en"],
        meeting_modes=["video"],
        timezone=-5.0,
        institution=7,
    )
    base.update(kw)
    return MenteeProfile(**base)


def mentor(person_id: int, **kw) -> MentorProfile:
    base = dict(
        person_id=person_id,
        stage=13,
        languages=["en"],
        meeting_modes=["video"],
        timezone=-5.0,
        institution=7,
        capacity=2,
        hours_per_month=4,
    )
    base.update(kw)
    return MentorProfile(**base)


def scores_of(enc: Encoded, weights=None) -> np.ndarray:
    """float64 scores straight from the factored model (exact comparisons)."""
    model = build_model(enc, weights)
    return model.A @ model.B.T


# ---------------------------------------------------------------------------
# Factors


def test_specialty_same_beats_related_beats_same_family_beats_unrelated():
    enc = encode(
        taxonomy(),
        [mentee(specialties=[ORTHO])],
        [
            mentor(10, specialties=[CARDIOLOGY]),
            mentor(11, specialties=[GENERAL_SURGERY]),
            mentor(12, specialties=[PMR]),
            mentor(13, specialties=[ORTHO]),
        ],
    )
    row = scores_of(enc, {"specialty": 1.0, **{f: 0.0 for f in FACTORS if f != "specialty"}})[0]
    assert row.tolist() == pytest.approx([0.0, 0.5, 0.7, 1.0])


def test_a_mentor_with_two_specialties_counts_the_best_one():
    enc = encode(
        taxonomy(), [mentee(specialties=[ORTHO])], [mentor(10, specialties=[CARDIOLOGY, ORTHO])]
    )
    assert (
        scores_of(enc, {"specialty": 1.0, **{f: 0.0 for f in FACTORS if f != "specialty"}})[0, 0]
        == 1.0
    )


def test_senior_wish_prefers_attendings_and_near_peer_wish_prefers_residents():
    mentors = [mentor(10, stage=6), mentor(11, stage=15)]  # PGY-2, senior attending
    only_stage = {f: 0.0 for f in FACTORS if f != "stage"}
    senior = scores_of(
        encode(taxonomy(), [mentee(stage=3, stage_wish="senior")], mentors), only_stage
    )[0]
    near = scores_of(
        encode(taxonomy(), [mentee(stage=3, stage_wish="near_peer")], mentors), only_stage
    )[0]
    assert senior[1] > senior[0]
    assert near[0] > near[1]


def test_a_rare_shared_interest_counts_more_than_a_common_one():
    mentors = [
        mentor(10, interests=[CLINICAL_TRIALS]),
        mentor(11, interests=[CLINICAL_TRIALS]),
        mentor(12, interests=[CLINICAL_TRIALS]),
        mentor(13, interests=[SPORTS_RESEARCH]),
    ]
    enc = encode(taxonomy(), [mentee(interests=[CLINICAL_TRIALS, SPORTS_RESEARCH])], mentors)
    row = scores_of(enc)[0]
    assert row[3] > row[0]


def test_in_person_meetings_count_only_at_the_same_institution():
    mentors = [
        mentor(10, meeting_modes=["in_person"], institution=7),
        mentor(11, meeting_modes=["in_person"], institution=8),
    ]
    enc = encode(taxonomy(), [mentee(meeting_modes=["in_person"], institution=7)], mentors)
    row = scores_of(enc, {"meeting": 1.0, **{f: 0.0 for f in FACTORS if f != "meeting"}})[0]
    assert row.tolist() == [1.0, 0.0]


def test_style_wish_prefers_the_matching_style():
    mentors = [
        mentor(10, style="supportive"),
        mentor(11, style="challenging"),
        mentor(12, style="either"),
    ]
    enc = encode(taxonomy(), [mentee(style_wish="challenging")], mentors)
    row = scores_of(enc, {"style": 1.0, **{f: 0.0 for f in FACTORS if f != "style"}})[0]
    assert row.tolist() == pytest.approx([0.0, 1.0, 0.6])


@pytest.mark.parametrize(
    ("factor", "mutate"),
    [
        ("interests", lambda e: dataclasses.replace(e.mentors, interests=~e.mentors.interests)),
        (
            "specialty",
            lambda e: dataclasses.replace(
                e.mentors, specialties=np.roll(e.mentors.specialties, 1, axis=1)
            ),
        ),
        ("goals", lambda e: dataclasses.replace(e.mentors, strengths=~e.mentors.strengths)),
        ("timezone", lambda e: dataclasses.replace(e.mentors, timezone=e.mentors.timezone + 7)),
        (
            "language",
            lambda e: dataclasses.replace(
                e.mentors, languages=np.roll(e.mentors.languages, 1, axis=1)
            ),
        ),
    ],
)
def test_weight_zero_removes_a_factor_completely(factor, mutate):
    enc = synthetic_cohort(40, 25, seed=3)
    changed = Encoded(enc.taxonomy, enc.mentees, mutate(enc), enc.languages)
    assert not np.allclose(scores_of(enc), scores_of(changed)), (
        "the mutation must matter with the default weight"
    )
    off = {factor: 0.0}
    assert np.array_equal(scores_of(enc, off), scores_of(changed, off))


def test_unknown_factor_or_negative_weight_is_refused():
    enc = synthetic_cohort(3, 3)
    with pytest.raises(ValueError, match="unknown factor"):
        build_model(enc, {"charisma": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        build_model(enc, {"interests": -1.0})


def test_encode_refuses_an_unknown_stage_wish():
    with pytest.raises(ValueError, match="stage wish"):
        encode(taxonomy(), [mentee(stage_wish="famous")], [mentor(10)])


# ---------------------------------------------------------------------------
# Properties on synthetic cohorts


cohorts = st.builds(
    synthetic_cohort, st.integers(1, 30), st.integers(1, 20), st.integers(0, 10_000)
)


@examples(30)
@given(cohorts)
def test_scores_lie_between_zero_and_one(enc):
    model = build_model(enc)
    scores = score_matrix(model)
    assert scores.dtype == np.float32
    assert scores.min() >= 0.0 and scores.max() <= 1.0
    assert np.allclose(scores, model.A @ model.B.T, atol=1e-5)


@examples(40)
@given(cohorts, st.data())
def test_adding_a_shared_interest_never_lowers_the_score(enc, data):
    i = data.draw(st.integers(0, enc.n_mentees - 1))
    j = data.draw(st.integers(0, enc.n_mentors - 1))
    k = data.draw(st.integers(0, enc.taxonomy.n_interests - 1))
    before = scores_of(enc)[i, j]
    mentee_interests = enc.mentees.interests.copy()
    mentor_interests = enc.mentors.interests.copy()
    mentee_interests[i, k] = True
    mentor_interests[j, k] = True
    after_enc = Encoded(
        enc.taxonomy,
        dataclasses.replace(enc.mentees, interests=mentee_interests),
        dataclasses.replace(enc.mentors, interests=mentor_interests),
        enc.languages,
    )
    assert scores_of(after_enc)[i, j] >= before - 1e-12


@examples(40)
@given(cohorts)
def test_concordance_never_affects_a_mentee_who_did_not_opt_in(enc):
    without = Encoded(
        dataclasses.replace(enc.taxonomy, gender_similarity=None, ethnicity_similarity=None),
        dataclasses.replace(
            enc.mentees,
            gender=np.full(enc.n_mentees, -1),
            ethnicity=np.zeros((enc.n_mentees, 0), dtype=bool),
        ),
        dataclasses.replace(
            enc.mentors,
            gender=np.full(enc.n_mentors, -1),
            ethnicity=np.zeros((enc.n_mentors, 0), dtype=bool),
        ),
        enc.languages,
    )
    opted = enc.mentees.want_same_gender | enc.mentees.want_same_ethnicity
    with_data, no_data = score_matrix(build_model(enc)), score_matrix(build_model(without))
    assert np.array_equal(with_data[~opted], no_data[~opted])
    for i in np.flatnonzero(~opted):
        assert np.array_equal(
            top_k(build_model(enc), int(i), 5).mentors,
            top_k(build_model(without), int(i), 5).mentors,
        )


@examples(30)
@given(cohorts, st.data())
def test_explanation_parts_sum_to_the_score(enc, data):
    model = build_model(enc)
    i = data.draw(st.integers(0, enc.n_mentees - 1))
    j = data.draw(st.integers(0, enc.n_mentors - 1))
    ex = explain(model, i, j)
    assert set(ex.contributions) == set(FACTORS)
    assert sum(ex.contributions.values()) == pytest.approx(ex.score, abs=1e-12)
    assert ex.score == pytest.approx(float(score_matrix(model, rows=[i])[0, j]), abs=1e-5)
    for name, value in ex.values.items():
        assert value is None or -1e-12 <= value <= 1 + 1e-12, name
    assert len(ex.reasons) <= 4


@examples(30)
@given(
    st.lists(st.integers(0, 3).map(lambda x: x / 3), min_size=1, max_size=25),
    st.integers(1, 8),
    st.data(),
)
def test_top_k_from_a_row_equals_a_full_sort_with_index_tie_break(values, k, data):
    row = np.array(values, dtype=np.float32)
    allowed = np.array(data.draw(st.lists(st.booleans(), min_size=row.size, max_size=row.size)))
    ranked = top_k_from_row(row, allowed, k)
    idx = np.flatnonzero(allowed)
    expected = idx[np.lexsort((idx, -row[idx]))][:k]
    assert ranked.mentors.tolist() == expected.tolist()
    assert ranked.scores.tolist() == row[expected].tolist()


# ---------------------------------------------------------------------------
# Explanations and hard rules


def test_reasons_explain_a_good_match_in_plain_words():
    enc = encode(
        taxonomy(),
        [
            mentee(
                specialties=[ORTHO], interests=[SPORTS_RESEARCH], stage_wish="senior", goals={2: 3}
            )
        ],
        [
            mentor(
                10,
                stage=15,
                specialties=[ORTHO],
                interests=[SPORTS_RESEARCH],
                strengths=[2],
                capacity=2,
                active=1,
            ),
            mentor(11, stage=13, specialties=[CARDIOLOGY], interests=[CLINICAL_TRIALS]),
        ],
    )
    ex = explain(build_model(enc), 0, 0)
    assert ex.feasible and ex.excluded_by == []
    # Ranked by contribution (specialty 0.24, then three ties at 0.16 in factor order).
    assert ex.reasons == [
        "Both in orthopaedic surgery",
        "Senior attending, as you asked",
        "Shares your interest in sports-medicine research",
        "Can help with research",
    ]
    assert ex.contributions["specialty"] == pytest.approx(0.24)
    other = explain(build_model(enc), 0, 1)
    assert other.reasons[0] == "Early-career attending, as you asked"
    assert "Has time for 2 more mentees" in other.reasons


def test_availability_reason_counts_free_places():
    enc = encode(taxonomy(), [mentee()], [mentor(10, capacity=3, active=2, hours_per_month=8)])
    ex = explain(build_model(enc), 0, 0)
    assert "Has time for 1 more mentee" in ex.reasons


def test_reasons_never_reveal_concordance_attributes():
    enc = encode(
        taxonomy(),
        [mentee(gender=1, ethnicities=[2], want_same_gender=True, want_same_ethnicity=True)],
        [mentor(10, gender=1, ethnicities=[2]), mentor(11, gender=0, ethnicities=[3])],
    )
    model = build_model(enc)
    ex = explain(model, 0, 0)
    assert ex.values["concordance"] == 1.0
    assert CONCORDANCE_REASON in ex.reasons
    banned = (
        "gender",
        "ethnic",
        "race",
        "woman",
        "female",
        "male",
        "black",
        "white",
        "asian",
        "hispanic",
        "latin",
    )
    for j in range(2):
        for reason in explain(model, 0, j).reasons:
            assert not any(word in reason.lower() for word in banned), reason


def test_concordance_fallback_group_gets_partial_credit():
    enc = encode(
        taxonomy(),
        [mentee(ethnicities=[0], want_same_ethnicity=True)],
        [
            mentor(10, ethnicities=[0]),
            mentor(11, ethnicities=[1]),
            mentor(12, ethnicities=[3]),
            mentor(13),
        ],
    )
    row = scores_of(enc, {"concordance": 1.0, **{f: 0.0 for f in FACTORS if f != "concordance"}})[0]
    assert row.tolist() == pytest.approx([1.0, 0.5, 0.0, 0.0])


@pytest.mark.parametrize(
    ("rule", "mentor_kw", "mentee_kw", "rules"),
    [
        ("same_person", dict(person_id=1), {}, None),
        ("not_accepting", dict(accepting=False), {}, None),
        ("full", dict(capacity=2, active=2), {}, None),
        ("not_farther_along", dict(stage=3), dict(stage=3), None),
        ("conflict", dict(conflicts=[(7, 3)]), dict(institution=7, stage=3), None),
        ("conflict", dict(conflicts=[(-1, 3)]), dict(institution=9, stage=3), None),
        ("coordinator", {}, {}, Rules(exclusions=[(0, 0)])),
        (
            "institution_same",
            dict(institution=8),
            dict(institution=7),
            Rules(institution_rule="same"),
        ),
        (
            "institution_other",
            dict(institution=7),
            dict(institution=7),
            Rules(institution_rule="other"),
        ),
    ],
)
def test_excluded_pairs_say_which_rule_excluded_them(rule, mentor_kw, mentee_kw, rules):
    kw = dict(person_id=10)
    kw.update(mentor_kw)
    enc = encode(
        taxonomy(),
        [mentee(**mentee_kw)],
        [mentor(**kw), mentor(20, stage=15, institution=8 if rule == "institution_other" else 7)],
    )
    mask = feasibility(enc, rules)
    assert mask.tolist() == [[False, True]]
    ex = explain(build_model(enc), 0, 0, rules)
    assert not ex.feasible
    assert rule in ex.rules_broken
    assert EXCLUSION_TEXT[rule] in ex.excluded_by
    assert explain(build_model(enc), 0, 1, rules).excluded_by == []


def test_conflict_for_another_cohort_does_not_exclude():
    enc = encode(
        taxonomy(), [mentee(institution=7, stage=3)], [mentor(10, conflicts=[(7, 4), (8, 3)])]
    )
    assert feasibility(enc).tolist() == [[True]]


def test_top_k_is_deterministic_and_breaks_ties_by_mentor_index():
    mentors = [mentor(10 + j, specialties=[ORTHO]) for j in range(5)] + [
        mentor(30, accepting=False, specialties=[ORTHO])
    ]
    enc = encode(taxonomy(), [mentee(specialties=[ORTHO])], mentors)
    model = build_model(enc)
    first = top_k(model, 0, 3)
    assert first.mentors.tolist() == [0, 1, 2]
    assert np.array_equal(first.mentors, top_k(model, 0, 3).mentors)
    everyone = top_k(model, 0, 10)
    assert 5 not in everyone.mentors.tolist()  # not accepting: never recommended
    filtered = top_k(model, 0, 3, candidates=np.array([False, True, False, True, True, True]))
    assert filtered.mentors.tolist() == [1, 3, 4]


def test_top_k_ranks_by_score():
    enc = synthetic_cohort(10, 60, seed=5)
    model = build_model(enc)
    ranked = top_k(model, 4, 10)
    row = score_matrix(model, rows=[4])[0]
    allowed = feasibility(enc, rows=np.array([4]))[0]
    assert np.all(np.diff(ranked.scores) <= 0)
    assert ranked.scores[-1] >= np.sort(row[allowed])[::-1][min(9, allowed.sum() - 1)] - 1e-6


def test_default_weights_cover_every_factor():
    assert set(DEFAULT_WEIGHTS) == set(FACTORS)
    assert all(w > 0 for w in DEFAULT_WEIGHTS.values())


@examples(200)
@given(
    hnp.arrays(
        np.bool_,
        st.tuples(st.integers(1, 60), st.integers(1, 70)),
        elements=st.booleans(),
    )
)
def test_unique_rows_gives_numpys_rows_in_numpys_order(sets):
    sets = np.concatenate([sets, sets[::2], sets[:3]])  # repeated rows, as mentors' sets are
    uniq, inverse = unique_rows(sets)
    want, want_inverse = np.unique(sets, axis=0, return_inverse=True)
    assert uniq.dtype == want.dtype and np.array_equal(uniq, want)
    assert np.array_equal(inverse, np.asarray(want_inverse).reshape(-1))
