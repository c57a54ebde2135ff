"""Vectorised mentee x mentor scores and the feasibility mask.

Design: every factor is written as a *bilinear* form, value(i, j) = a_i . b_j, with a
mentee-side row ``a_i`` and a mentor-side row ``b_j``. Non-linear factors (the best
specialty alignment over a mentor's specialties, "any shared language", a concordance
fallback over several categories, time-zone overlap) become bilinear by giving each
mentor a *type* (the distinct sets / values that occur among mentors) and the mentee
a row of precomputed values per type; the mentor side is then a one-hot of its type.
Weights and the per-mentee normalisation are folded into the mentee rows, so the
whole n x m score matrix is ONE matrix product ``A @ B.T`` (about 0.3 s for
20,000 x 5,000 on two cores), and the contribution of a factor to a pair is the
partial dot product over that factor's columns, which sums exactly to the score.

The score of a pair is the weighted mean of the factor values that apply to the
mentee: a factor the mentee gave no data for (no interests listed, no wish about the
mentor's stage, did not opt in to concordance) is left out of both the numerator and
the denominator. That is what makes "did not opt in" identical to "no concordance
data exists", and what makes a weight of 0 remove a factor completely.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from matching.engine.features import (
    FELLOW_STAGE,
    FIRST_ATTENDING_STAGE,
    INSTITUTION_RULES,
    N_STAGES,
    Encoded,
)

FACTORS: tuple[str, ...] = (
    "specialty",
    "stage",
    "interests",
    "goals",
    "concordance",
    "language",
    "meeting",
    "timezone",
    "institution",
    "availability",
    "mentor_preference",
    "style",
)

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "specialty": 3.0,
    "stage": 2.0,
    "interests": 2.0,
    "goals": 2.0,
    "concordance": 1.5,
    "language": 1.0,
    "meeting": 0.5,
    "timezone": 0.5,
    "institution": 0.5,
    "availability": 1.0,
    "mentor_preference": 0.5,
    "style": 0.5,
}

# Specialty alignment levels: "closely related" must outrank "merely the same family".
SPECIALTY_SAME = 1.0
SPECIALTY_RELATED = 0.7
SPECIALTY_FAMILY = 0.5

# Hours of a 12-hour shared day (08:00-20:00) still overlapping after the offset.
TZ_WINDOW_HOURS = 12.0
# Remaining capacity and monthly hours beyond these count as "plenty of time".
AVAILABILITY_SLOTS = 3
AVAILABILITY_HOURS = 8.0

# Mentee wish ("any", "supportive", "challenging") x
# mentor style ("either", "supportive", "challenging").
STYLE_FIT = np.array(
    [
        [0.0, 0.0, 0.0],
        [0.6, 1.0, 0.0],
        [0.6, 0.0, 1.0],
    ]
)


def stage_fit_table() -> np.ndarray:
    """(3, N_STAGES, N_STAGES) fit of a mentor stage for (wish, mentee stage).

    Wish 1 "near_peer": a senior student or resident a few rungs above (1-4 rungs fit
    fully, then fades). Wish 2 "senior": an attending fits fully, a fellow partly.
    Wish 0 "any" is never used (the factor does not apply), and a mentor who is not
    farther along gets 0 here but is excluded by the feasibility mask anyway.
    """
    table = np.zeros((3, N_STAGES, N_STAGES))
    for s in range(N_STAGES):
        for t in range(s + 1, N_STAGES):
            gap = t - s
            table[1, s, t] = 1.0 if gap <= 4 else max(0.2, 1.0 - 0.2 * (gap - 4))
            if t >= FIRST_ATTENDING_STAGE:
                table[2, s, t] = 1.0
            elif t == FELLOW_STAGE:
                table[2, s, t] = 0.6
            elif t >= FELLOW_STAGE - 3:
                table[2, s, t] = 0.4
            else:
                table[2, s, t] = 0.2
    return table


@dataclass(eq=False)
class FactorBlock:
    """One factor as value(i, j) = mentee[i] . mentor[j], for mentees where it applies."""

    mentee: np.ndarray  # (n, k)
    mentor: np.ndarray  # (m, k)
    applies: np.ndarray  # (n,) bool


def _one_hot(codes: np.ndarray, width: int) -> np.ndarray:
    """Rows of zeros where code < 0 (unknown), else a single 1.0."""
    out = np.zeros((codes.shape[0], width))
    ok = codes >= 0
    out[np.flatnonzero(ok), codes[ok]] = 1.0
    return out


def unique_rows(sets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(sets, axis=0, return_inverse=True)``, the same rows in the same order.

    For bool rows it sorts the rows packed eight columns to a byte (the first column in
    the top bit, so byte order is row order) instead of comparing them column by
    column: the sort that dominated scoring one mentee against thousands of mentors.
    """
    if sets.dtype != np.bool_ or sets.ndim != 2 or sets.shape[0] == 0:
        uniq, inverse = np.unique(sets, axis=0, return_inverse=True)
        return uniq, np.asarray(inverse).reshape(-1)
    packed = np.packbits(sets, axis=1)
    order = np.lexsort(packed.T[::-1])  # lexsort's last key is the primary one
    ranked = packed[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = np.any(ranked[1:] != ranked[:-1], axis=1)
    inverse = np.empty(order.size, dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    return sets[order[first]], inverse


def max_over_sets(item_values: np.ndarray, sets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make "max over the mentor's set of per-mentee item values" bilinear.

    ``item_values`` (n, k): value for mentee i of item c; ``sets`` (m, k) bool: the
    mentor's items. Returns (table (n, T), one_hot (m, T)) over the T distinct mentor
    sets, with table[i, t] = max of item_values[i, c] over c in set t (0 if empty).
    """
    n, k = item_values.shape
    m = sets.shape[0]
    if k == 0 or m == 0:
        return np.zeros((n, 0)), np.zeros((m, 0))
    uniq, inverse = unique_rows(sets)
    width = max(1, int(uniq.sum(axis=1).max()))
    # Members of each distinct set, padded with a sentinel column whose value is 0.
    order = np.argsort(~uniq, axis=1, kind="stable")[:, :width]
    members = np.where(np.take_along_axis(uniq, order, axis=1), order, k)
    padded = np.concatenate([item_values, np.zeros((n, 1))], axis=1)
    table = padded[:, members[:, 0]]
    for slot in range(1, width):
        np.maximum(table, padded[:, members[:, slot]], out=table)
    return table, _one_hot(inverse, len(uniq))


def interest_idf(mentor_interests: np.ndarray) -> np.ndarray:
    """Smoothed IDF of each interest over the mentor pool: rarer shared interests count more.

    The pool is the mentors given, not the mentees: a mentee's ranking then does not
    depend on which other mentees are scored in the same call (per-request
    recommendations and the cohort run agree). Always > 0, which keeps the interest
    factor monotone.
    """
    m = mentor_interests.shape[0]
    df = mentor_interests.sum(axis=0)
    return np.log((1.0 + m) / (1.0 + df)) + 1.0


def _safe_rows(values: np.ndarray, totals: np.ndarray) -> np.ndarray:
    return values / np.where(totals > 0, totals, 1.0)[:, None]


def factor_blocks(enc: Encoded) -> dict[str, FactorBlock]:
    """Build every factor's bilinear block from the encoded arrays (no loop over pairs)."""
    tax, e, r = enc.taxonomy, enc.mentees, enc.mentors
    n = len(e)
    blocks: dict[str, FactorBlock] = {}

    # Specialty: per mentee, the best level for every specialty, then max over the mentor's.
    wanted = e.specialties.astype(np.float64)
    related = (wanted @ tax.related_matrix()) > 0
    family = (wanted @ tax.family_matrix()) > 0
    per_specialty = np.maximum(
        wanted * SPECIALTY_SAME,
        np.maximum(related * SPECIALTY_RELATED, family * SPECIALTY_FAMILY),
    )
    table, hot = max_over_sets(per_specialty, r.specialties)
    blocks["specialty"] = FactorBlock(table, hot, np.asarray(e.specialties.any(axis=1)))

    stage_table = stage_fit_table()
    blocks["stage"] = FactorBlock(
        stage_table[e.stage_wish, e.stage], _one_hot(r.stage, N_STAGES), e.stage_wish > 0
    )

    idf = interest_idf(r.interests)
    weighted = e.interests * idf
    blocks["interests"] = FactorBlock(
        _safe_rows(weighted, weighted.sum(axis=1)),
        r.interests.astype(np.float64),
        np.asarray(e.interests.any(axis=1)),
    )

    prio = e.goals.astype(np.float64)
    blocks["goals"] = FactorBlock(
        _safe_rows(prio, prio.sum(axis=1)), r.strengths.astype(np.float64), prio.sum(axis=1) > 0
    )

    blocks["concordance"] = _concordance_block(enc)

    table, hot = max_over_sets(e.languages.astype(np.float64), r.languages)
    blocks["language"] = FactorBlock(table, hot, np.asarray(e.languages.any(axis=1)))

    blocks["meeting"] = _meeting_block(enc)
    blocks["timezone"] = _timezone_block(enc)
    blocks["institution"] = _institution_block(enc)

    remaining = r.remaining
    availability = (
        0.6 * np.minimum(remaining, AVAILABILITY_SLOTS) / AVAILABILITY_SLOTS
        + 0.4 * np.minimum(np.maximum(r.hours, 0.0), AVAILABILITY_HOURS) / AVAILABILITY_HOURS
    )
    blocks["availability"] = FactorBlock(
        np.ones((n, 1)), availability[:, None], np.ones(n, dtype=bool)
    )

    # A mentor with no stated preference welcomes every stage.
    prefers = np.where(
        np.asarray(r.preferred_stages.any(axis=1))[:, None], r.preferred_stages, True
    ).astype(np.float64)
    blocks["mentor_preference"] = FactorBlock(
        _one_hot(e.stage, N_STAGES), prefers, np.ones(n, dtype=bool)
    )

    blocks["style"] = FactorBlock(STYLE_FIT[e.style_wish], _one_hot(r.style, 3), e.style_wish > 0)
    return blocks


def _concordance_block(enc: Encoded) -> FactorBlock:
    """Mean over the dimensions the mentee opted in to of the category similarity.

    Mentees who did not opt in (or have no category to compare) get all-zero rows
    and ``applies`` False, so their scores are exactly those without concordance data.
    """
    tax, e, r = enc.taxonomy, enc.mentees, enc.mentors
    n, m = len(e), len(r)
    use_gender = (
        e.want_same_gender & (e.gender >= 0)
        if tax.gender_similarity is not None
        else np.zeros(n, dtype=bool)
    )
    use_eth = (
        e.want_same_ethnicity & e.ethnicity.any(axis=1)
        if tax.ethnicity_similarity is not None
        else np.zeros(n, dtype=bool)
    )
    dims = use_gender.astype(np.float64) + use_eth
    share = np.where(dims > 0, 1.0 / np.maximum(dims, 1.0), 0.0)
    mentee_parts, mentor_parts = [], []
    if tax.gender_similarity is not None:
        sim = np.asarray(tax.gender_similarity, dtype=np.float64)
        rows = np.where((e.gender >= 0)[:, None], sim[np.maximum(e.gender, 0)], 0.0)
        mentee_parts.append(rows * (use_gender * share)[:, None])
        mentor_parts.append(_one_hot(r.gender, sim.shape[0]))
    if tax.ethnicity_similarity is not None:
        sim = np.asarray(tax.ethnicity_similarity, dtype=np.float64)
        # Best similarity of each category to any of the mentee's categories.
        best = np.zeros((n, sim.shape[0]))
        for a in range(sim.shape[0]):
            np.maximum(best, e.ethnicity[:, a : a + 1] * sim[a], out=best)
        table, hot = max_over_sets(best, r.ethnicity)
        mentee_parts.append(table * (use_eth * share)[:, None])
        mentor_parts.append(hot)
    if not mentee_parts:
        return FactorBlock(np.zeros((n, 0)), np.zeros((m, 0)), np.zeros(n, dtype=bool))
    return FactorBlock(np.hstack(mentee_parts), np.hstack(mentor_parts), dims > 0)


def _meeting_block(enc: Encoded) -> FactorBlock:
    """Share of the mentee's usable meeting modes the mentor also offers.

    In person only works at the same institution, so it is the token
    "in person at institution X"; video and phone are tokens of their own.
    """
    e, r = enc.mentees, enc.mentors
    in_person_e = e.modes[:, 0] & (e.institution >= 0)
    in_person_r = r.modes[:, 0] & (r.institution >= 0)
    places = np.intersect1d(e.institution[in_person_e], r.institution[in_person_r])
    mentee_tokens = [e.modes[:, 1:].astype(np.float64)]
    mentor_tokens = [r.modes[:, 1:].astype(np.float64)]
    if places.size:
        pos_e = np.searchsorted(places, e.institution)
        hit_e = (
            in_person_e
            & (pos_e < places.size)
            & (places[np.minimum(pos_e, places.size - 1)] == e.institution)
        )
        pos_r = np.searchsorted(places, r.institution)
        hit_r = (
            in_person_r
            & (pos_r < places.size)
            & (places[np.minimum(pos_r, places.size - 1)] == r.institution)
        )
        mentee_tokens.append(_one_hot(np.where(hit_e, pos_e, -1), places.size))
        mentor_tokens.append(_one_hot(np.where(hit_r, pos_r, -1), places.size))
    count = e.modes.sum(axis=1).astype(np.float64)
    return FactorBlock(
        _safe_rows(np.hstack(mentee_tokens), count), np.hstack(mentor_tokens), count > 0
    )


def timezone_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of a 12-hour day two UTC offsets have in common (0 when unknown)."""
    diff = np.abs(a - b) % 24.0
    diff = np.minimum(diff, 24.0 - diff)
    out = np.clip((TZ_WINDOW_HOURS - diff) / TZ_WINDOW_HOURS, 0.0, 1.0)
    return np.nan_to_num(out, nan=0.0)


def _timezone_block(enc: Encoded) -> FactorBlock:
    e, r = enc.mentees, enc.mentors
    known = ~np.isnan(r.timezone)
    values, inverse = np.unique(r.timezone[known], return_inverse=True)
    codes = np.full(len(r), -1, dtype=np.int64)
    codes[known] = np.asarray(inverse).reshape(-1)
    table = timezone_overlap(e.timezone[:, None], values[None, :])
    return FactorBlock(table, _one_hot(codes, values.size), ~np.isnan(e.timezone))


def _institution_block(enc: Encoded) -> FactorBlock:
    """ "same": 1 at the mentee's institution; "other": 1 anywhere else (1 - same)."""
    e, r = enc.mentees, enc.mentors
    applies = (e.institution_pref > 0) & (e.institution >= 0)
    places = np.intersect1d(e.institution[applies], r.institution[r.institution >= 0])
    same_e = np.zeros((len(e), places.size))
    same_r = np.zeros((len(r), places.size))
    if places.size:
        pos = np.searchsorted(places, e.institution)
        hit = (
            applies
            & (pos < places.size)
            & (places[np.minimum(pos, places.size - 1)] == e.institution)
        )
        same_e = _one_hot(np.where(hit, pos, -1), places.size)
        pos = np.searchsorted(places, r.institution)
        hit = (pos < places.size) & (places[np.minimum(pos, places.size - 1)] == r.institution)
        same_r = _one_hot(np.where(hit, pos, -1), places.size)
    wants_other = (applies & (e.institution_pref == 2)).astype(np.float64)
    sign = np.where(e.institution_pref == 2, -1.0, 1.0)
    mentee = np.hstack([wants_other[:, None], same_e * (sign * applies)[:, None]])
    mentor = np.hstack([np.ones((len(r), 1)), same_r])
    return FactorBlock(mentee, mentor, applies)


def normalise_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Defaults overridden by ``weights``; unknown names or negative values raise ValueError."""
    out = dict(DEFAULT_WEIGHTS)
    for name, value in (weights or {}).items():
        if name not in DEFAULT_WEIGHTS:
            raise ValueError(f"unknown factor {name!r}; expected one of {list(FACTORS)}")
        if not value >= 0:
            raise ValueError(f"weight of {name!r} must be >= 0, got {value}")
        out[name] = float(value)
    return out


@dataclass(eq=False)
class ScoreModel:
    """The score matrix in factored form: scores = A @ B.T.

    ``share[i, f]`` is the weight share of factor ``FACTORS[f]`` for mentee i (0 when
    the weight is 0 or the factor does not apply to that mentee); the shares of a
    mentee sum to 1, so scores are weighted means in [0, 1]. Factors of weight 0 are
    dropped from A and B entirely.
    """

    encoded: Encoded
    weights: dict[str, float]
    slices: dict[str, slice]
    A: np.ndarray  # (n, K) float64
    B: np.ndarray  # (m, K) float64
    share: np.ndarray  # (n, len(FACTORS)) float64
    A32: np.ndarray  # float32 mentee side, concordance columns excluded
    B32: np.ndarray
    conc_rows: np.ndarray  # mentees for whom concordance counts (they opted in)
    conc_A32: np.ndarray  # (len(conc_rows), k) float32
    conc_B32: np.ndarray  # (m, k) float32

    @property
    def shape(self) -> tuple[int, int]:
        return self.A.shape[0], self.B.shape[0]


def build_model(enc: Encoded, weights: Mapping[str, float] | None = None) -> ScoreModel:
    """Encode every factor once and fold weights and normalisation into the mentee side."""
    w = normalise_weights(weights)
    blocks = factor_blocks(enc)
    n = enc.n_mentees
    raw = np.zeros((n, len(FACTORS)))
    for f, name in enumerate(FACTORS):
        raw[:, f] = w[name] * blocks[name].applies
    total = raw.sum(axis=1)
    share = _safe_rows(raw, total)
    a_parts, b_parts, slices = [], [], {}
    start = 0
    for f, name in enumerate(FACTORS):
        block = blocks[name]
        width = block.mentee.shape[1]
        if w[name] == 0 or width == 0:
            continue
        a_parts.append(block.mentee * share[:, f : f + 1])
        b_parts.append(block.mentor)
        slices[name] = slice(start, start + width)
        start += width
    m = enc.n_mentors
    A = np.hstack(a_parts) if a_parts else np.zeros((n, 0))
    B = np.hstack(b_parts) if b_parts else np.zeros((m, 0))
    # Concordance gets its own product, added only to the rows of mentees who opted
    # in: everyone else's scores are then bit-for-bit those computed without any
    # concordance data (extra zero columns in one product would change rounding).
    conc = slices.get("concordance", slice(0, 0))
    main = (
        np.r_[0 : conc.start, conc.stop : A.shape[1]]
        if conc.stop > conc.start
        else np.arange(A.shape[1])
    )
    conc_rows = (
        np.flatnonzero(share[:, FACTORS.index("concordance")] > 0)
        if conc.stop > conc.start
        else np.zeros(0, dtype=np.int64)
    )
    return ScoreModel(
        encoded=enc,
        weights=w,
        slices=slices,
        A=A,
        B=B,
        share=share,
        A32=np.ascontiguousarray(A[:, main], dtype=np.float32),
        B32=np.ascontiguousarray(B[:, main], dtype=np.float32),
        conc_rows=conc_rows,
        conc_A32=np.ascontiguousarray(A[conc_rows, conc], dtype=np.float32),
        conc_B32=np.ascontiguousarray(B[:, conc], dtype=np.float32),
    )


def _add_concordance(model: ScoreModel, out: np.ndarray, rows: np.ndarray) -> None:
    """Add the concordance product to ``out`` (rows of ``rows``) for opted-in mentees only."""
    if model.conc_rows.size == 0 or rows.size == 0:
        return
    pos = np.searchsorted(model.conc_rows, rows)
    pos = np.minimum(pos, model.conc_rows.size - 1)
    hit = np.flatnonzero(model.conc_rows[pos] == rows)
    if hit.size:
        out[hit] += model.conc_A32[pos[hit]] @ model.conc_B32.T


def score_matrix(
    model: ScoreModel, rows: np.ndarray | slice | None = None, chunk: int = 2048
) -> np.ndarray:
    """float32 scores in [0, 1] for the given mentee rows (default all) x every mentor.

    One matrix product per chunk of rows; chunks bound the temporary memory and keep
    the clipping pass in cache.
    """
    index = (
        np.arange(model.A32.shape[0])
        if rows is None
        else np.atleast_1d(np.arange(model.A32.shape[0])[rows])
    )
    A = model.A32 if rows is None else model.A32[index]
    n, m = A.shape[0], model.B32.shape[0]
    out = np.empty((n, m), dtype=np.float32)
    bt = model.B32.T
    for start in range(0, n, chunk):
        part = out[start : start + chunk]
        np.matmul(A[start : start + chunk], bt, out=part)
        _add_concordance(model, part, index[start : start + chunk])
        # Rounding can step a hair outside [0, 1]; callers rely on the bounds.
        np.clip(part, 0.0, 1.0, out=part)
    return out


# ---------------------------------------------------------------------------
# Hard rules


@dataclass(frozen=True)
class Rules:
    """Program-level hard rules (mentor-declared conflicts live on the mentor arrays).

    ``exclusions``: (mentee index, mentor index) pairs a coordinator excluded.
    ``institution_rule``: None, "same" or "other".
    """

    exclusions: Sequence[tuple[int, int]] | np.ndarray = ()
    institution_rule: str | None = None

    def __post_init__(self) -> None:
        if self.institution_rule not in INSTITUTION_RULES:
            raise ValueError(f"institution_rule must be one of {INSTITUTION_RULES}")

    def exclusion_array(self) -> np.ndarray:
        return np.asarray(self.exclusions, dtype=np.int64).reshape(-1, 2)


def _conflict_hits(enc: Encoded, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mentee position within rows, mentor) pairs blocked by a declared conflict."""
    conf = enc.mentors.conflicts
    if conf.size == 0 or rows.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    inst = enc.mentees.institution[rows]
    stage = enc.mentees.stage[rows]
    c_mentor, c_inst, c_stage = conf[:, 0], conf[:, 1], conf[:, 2]
    hit_i, hit_j = [], []
    # Mentees x declared conflicts, in blocks: -1 is a wildcard on either field.
    block = max(1, 2_000_000 // max(conf.shape[0], 1))
    for s in range(0, rows.size, block):
        hit = ((c_inst[None, :] == -1) | (c_inst[None, :] == inst[s : s + block, None])) & (
            (c_stage[None, :] == -1) | (c_stage[None, :] == stage[s : s + block, None])
        )
        i, k = np.nonzero(hit)
        hit_i.append(i + s)
        hit_j.append(c_mentor[k])
    return np.concatenate(hit_i), np.concatenate(hit_j)


def _same_person_hits(enc: Encoded, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mentor_person = enc.mentors.person
    if rows.size * mentor_person.size <= 1_000_000:
        # A few rows (a recommendations request): one comparison beats sorting.
        i, j = np.nonzero(enc.mentees.person[rows][:, None] == mentor_person[None, :])
        return i.astype(np.int64), j.astype(np.int64)
    order = np.argsort(mentor_person, kind="stable")
    sorted_person = mentor_person[order]
    person = enc.mentees.person[rows]
    lo = np.searchsorted(sorted_person, person, side="left")
    hi = np.searchsorted(sorted_person, person, side="right")
    hit_i, hit_j = [], []
    for pos in np.flatnonzero(hi > lo):
        js = order[lo[pos] : hi[pos]]
        hit_i.append(np.full(js.size, pos, dtype=np.int64))
        hit_j.append(js)
    if not hit_i:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(hit_i), np.concatenate(hit_j)


def feasibility(
    enc: Encoded, rules: Rules | None = None, rows: np.ndarray | None = None, chunk: int = 2048
) -> np.ndarray:
    """Bool mask (len(rows) x m): True where the pair breaks no hard rule.

    Rules: not the same person; mentor accepting and with a free slot; mentor
    strictly farther along the career ladder; no declared conflict of interest
    matching the mentee's (institution, stage); not excluded by a coordinator; the
    program's institution rule, if any.
    """
    rules = rules or Rules()
    e, r = enc.mentees, enc.mentors
    rows = np.arange(len(e)) if rows is None else np.atleast_1d(np.asarray(rows, dtype=np.int64))
    out = np.empty((rows.size, len(r)), dtype=bool)
    open_mentor = r.accepting & (r.remaining > 0)
    mentor_stage = r.stage
    for start in range(0, rows.size, chunk):
        part = out[start : start + chunk]
        sub = rows[start : start + chunk]
        np.greater(mentor_stage[None, :], e.stage[sub][:, None], out=part)
        part &= open_mentor[None, :]
        if rules.institution_rule is not None:
            same = e.institution[sub][:, None] == r.institution[None, :]
            part &= same if rules.institution_rule == "same" else ~same
    hit_i, hit_j = _conflict_hits(enc, rows)
    out[hit_i, hit_j] = False
    hit_i, hit_j = _same_person_hits(enc, rows)
    out[hit_i, hit_j] = False
    excl = rules.exclusion_array()
    if excl.size:
        if rows.size == len(e) and np.array_equal(rows, np.arange(len(e))):
            out[excl[:, 0], excl[:, 1]] = False
        else:
            pos = {int(i): p for p, i in enumerate(rows)}
            for i, j in excl:
                if int(i) in pos:
                    out[pos[int(i)], j] = False
    return out


EXCLUSION_TEXT: Mapping[str, str] = {
    "same_person": "This is your own mentor profile: nobody can mentor themselves",
    "not_accepting": "This mentor is not accepting new mentees right now",
    "full": "This mentor has no free mentee slots",
    "not_farther_along": "This mentor is not farther along the career path than you",
    "conflict": (
        "This mentor declared a conflict of interest with your cohort "
        "(for example, grading or selecting its students)"
    ),
    "coordinator": "A program coordinator excluded this pairing",
    "institution_same": "The program pairs mentees only with mentors at their own institution",
    "institution_other": "The program pairs mentees only with mentors at another institution",
}


def exclusion_rules(
    enc: Encoded, mentee: int, mentor: int, rules: Rules | None = None
) -> list[str]:
    """Keys of ``EXCLUSION_TEXT`` for every hard rule the pair breaks (empty if feasible)."""
    rules = rules or Rules()
    e, r = enc.mentees, enc.mentors
    out = []
    if e.person[mentee] == r.person[mentor]:
        out.append("same_person")
    if not r.accepting[mentor]:
        out.append("not_accepting")
    elif r.remaining[mentor] <= 0:
        out.append("full")
    if r.stage[mentor] <= e.stage[mentee]:
        out.append("not_farther_along")
    for _mentor, c_inst, c_stage in r.conflicts[r.conflicts[:, 0] == mentor]:
        if c_inst in (-1, e.institution[mentee]) and c_stage in (-1, e.stage[mentee]):
            out.append("conflict")
            break
    excl = rules.exclusion_array()
    if excl.size and np.any((excl[:, 0] == mentee) & (excl[:, 1] == mentor)):
        out.append("coordinator")
    same = e.institution[mentee] == r.institution[mentor]
    if rules.institution_rule == "same" and not same:
        out.append("institution_same")
    elif rules.institution_rule == "other" and same:
        out.append("institution_other")
    return out


def score_cohort(
    enc: Encoded, weights: Mapping[str, float] | None = None, rules: Rules | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Convenience: (scores float32 (n, m), allowed bool (n, m)) for a whole cohort."""
    model = build_model(enc, weights)
    return score_matrix(model), feasibility(enc, rules)
