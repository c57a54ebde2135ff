"""Exact capacitated cohort assignment, mentor teams, and assignment reports.

The problem (``objective="score"``)::

    max  sum s_ij x_ij
    s.t. sum_j x_ij <= demand_i,  sum_i x_ij <= capacity_j,  x_ij in {0, 1},
         x_ij = 0 where not allowed,  x_ij = 1 for locked pairs.

Its constraint matrix is a bipartite incidence matrix (totally unimodular), so the LP
relaxation has integral vertices and LP duality gives a checkable optimality
certificate: prices u_i >= 0 (mentees) and v_j >= 0 (mentors) with
s_ij <= u_i + v_j on every allowed pair and equality on the chosen ones.

Fast path (every mentee wants at most one more mentor, the usual case), a column
generation that proves its result:

1. mentor prices: a guess (each mentor's best score among the mentees most likely
   to stay unmatched), refined by a short auction on the pairs near tight under it;
2. a sparse graph of the pairs near tight under those prices, plus a few
   candidates per mentor and, if needed, pairs that let every place be filled;
3. an exact max-weight matching on it: scipy's LAPJVsp
   (``min_weight_full_bipartite_matching``), mentors expanded into capacity
   slots, only mentees with an edge taking part, seeded with estimated mentee
   prices when these look reliable;
4. dual prices certifying that matching on the sparse graph (Bellman-Ford on the
   complementary-slackness difference constraints; midway between the least and
   the greatest such prices); the auction's pairs are checked first, then ONE
   dense pass over all allowed pairs collects every pair with a positive (or
   nearly positive) reduced cost;
5. if none is positive the matching is optimal for the full dense problem (the
   prices are a feasible dual of equal value). Otherwise the pairs found join the
   graph, the current matching is re-priced on it (enough when only the prices
   were off) or the graph solved again, and steps 4-5 repeat.

Only step 5's check decides optimality: shortcuts in steps 1-3 (guessed prices,
a seeded solve whose result counts only once re-proved optimal on the true
weights) affect speed, never the result. ``Assignment.max_violation`` reports the
certificate's largest reduced cost (<= 1e-9). The dense passes read the caller's
matrix in row chunks (float32 screen, float64 check) without copying it.

General path (some mentee wants several mentors, or mentor teams): the same LP
solved by HiGHS (``scipy.optimize.linprog``), whose vertex solutions are integral.

``objective="coverage"`` maximises the number of mentees matched, then the score,
by adding a bonus larger than any achievable score total to a mentee's first pair.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import maximum_bipartite_matching, min_weight_full_bipartite_matching

OBJECTIVES = ("score", "coverage")
UNMATCHED_NO_FEASIBLE = "no feasible mentor"
UNMATCHED_ALL_FULL = "all feasible mentors full"

# Reduced costs above this (in score units) count as violations of the certificate.
DUAL_TOLERANCE = 1e-9
_ROW_CHUNK = 256
_SWEEP_CHUNK = 64
_INIT_CHUNK = 1024
# Above one pair in this many forbidden, passes read the mask instead of a list.
_DENSE_MASK_SHARE = 16
# Pairs within this reduced cost of tight (x the largest |score|) join the graph:
# FIRST_NEAR under the auction's prices at first, NEAR_TIGHT under each round's
# certified prices when these are not yet optimal.
FIRST_NEAR = 0.03
NEAR_TIGHT = 0.05
# Pools of near-tight pairs hold at most this many per mentee (the certificate's
# pass: at least _POOL_MIN): beyond, the band is narrowed, for the first graph down
# to _NEAR_FLOOR (x the largest |score|).
_POOL_PER_ROW = 24
_POOL_MIN = 200_000
_NEAR_FLOOR = 1e-4
# Fallback first graph (massive ties): each mentee's best few mentors.
_SPREAD_PER_ROW = 3
# Warm start: mentee prices lowered by this (x the largest |score|) seed the solver.
WARM_MARGIN = 0.03
# Price-finding auction (x the largest |score|): on the pairs within AUCTION_NEAR of
# tight under guessed prices, from the guesses lowered by AUCTION_START, bid step
# AUCTION_EPS, at most _AUCTION_ROUNDS rounds.
AUCTION_NEAR = 0.1
AUCTION_START = 0.1
AUCTION_EPS = 0.003
_AUCTION_ROUNDS = 80
# First graph: for each mentor, about this many candidates per place (and as many more).
COVER_PER_SLOT = 4
# Certifying prices used for pricing: 0 = least, 1 = greatest (see _cs_prices).
PRICE_MIX = 0.5


class AssignmentError(ValueError):
    """The assignment input is malformed or cannot be satisfied."""


class LockInfeasibleError(AssignmentError):
    """Locked pairs are infeasible themselves (forbidden, duplicate, over capacity or demand)."""


@dataclass(frozen=True)
class GroupReport:
    """Aggregate outcome of one caller-defined group of mentees (never individuals)."""

    mentees: int
    matched: int
    coverage: float
    mean_score: float


@dataclass(frozen=True)
class AssignmentReport:
    """Cohort-level figures for coordinators and the equity dashboard.

    ``unmatched`` maps mentee index -> reason ("no feasible mentor" or "all feasible
    mentors full") for mentees with demand > 0 and no mentor. ``blocking_pairs``
    counts allowed unmatched pairs where both sides would rather have each other
    (higher score than their worst current partner, or a free place and a positive
    score). ``load_distribution`` maps "mentees per mentor" -> number of mentors.
    """

    total_score: float
    mean_score: float
    pairs: int
    matched_mentees: int
    coverage: float
    unmatched: dict[int, str]
    blocking_pairs: int
    mentor_load: np.ndarray
    load_distribution: dict[int, int]
    mentor_utilisation: float
    groups: dict[int, GroupReport] = field(default_factory=dict)


@dataclass(frozen=True)
class Assignment:
    """The optimal pairs (sorted by mentee, then mentor) and how good they are.

    ``max_violation`` is the largest reduced cost left by the optimality certificate
    (<= 1e-9 means the total is optimal to float precision; NaN when the LP solver's
    own optimality status is the certificate). ``slots`` holds, for team
    assignments, the slot of each pair.
    """

    pairs: np.ndarray
    total_score: float
    objective: str
    report: AssignmentReport
    max_violation: float = 0.0
    slots: np.ndarray | None = None

    @property
    def reports(self) -> AssignmentReport:
        return self.report


# ---------------------------------------------------------------------------
# Input checking and locks


def _as_inputs(
    scores: np.ndarray,
    capacity: np.ndarray,
    demand: np.ndarray | None,
    allowed: np.ndarray | None,
    locked: np.ndarray | None,
    objective: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    scores = np.asarray(scores)
    if scores.ndim != 2 or not np.issubdtype(scores.dtype, np.floating):
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim != 2:
            raise AssignmentError("scores must be a 2-D array (n_mentees, n_mentors)")
    n, m = scores.shape
    capacity = np.asarray(capacity)
    if (
        capacity.shape != (m,)
        or not np.issubdtype(capacity.dtype, np.integer)
        or np.any(capacity < 0)
    ):
        raise AssignmentError("capacity must be a non-negative int array of shape (n_mentors,)")
    if demand is None:
        demand = np.ones(n, dtype=np.int64)
    demand = np.asarray(demand)
    if demand.shape != (n,) or not np.issubdtype(demand.dtype, np.integer) or np.any(demand < 0):
        raise AssignmentError("demand must be a non-negative int array of shape (n_mentees,)")
    if allowed is not None:
        allowed = np.asarray(allowed, dtype=bool)
        if allowed.shape != (n, m):
            raise AssignmentError("allowed must be a bool array shaped like scores")
    locked_arr = (
        np.zeros((0, 2), dtype=np.int64) if locked is None else np.asarray(locked, dtype=np.int64)
    )
    locked_arr = locked_arr.reshape(-1, 2)
    if objective not in OBJECTIVES:
        raise AssignmentError(f"objective must be one of {OBJECTIVES}")
    # Chunked: all finite (the usual case) needs no mask; else look at allowed pairs only.
    finite = all(
        np.isfinite(scores[s : s + 1024]).all()
        or (allowed is not None and np.isfinite(scores[s : s + 1024][allowed[s : s + 1024]]).all())
        for s in range(0, n, 1024)
    )
    if not finite:
        raise AssignmentError("scores must be finite on allowed pairs")
    return scores, capacity.astype(np.int64), demand.astype(np.int64), allowed, locked_arr


def _apply_locks(
    locked: np.ndarray,
    n: int,
    m: int,
    capacity: np.ndarray,
    demand: np.ndarray,
    allowed: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Residual (capacity, demand) after the locked pairs; raises LockInfeasibleError."""
    if locked.size == 0:
        return capacity.copy(), demand.copy()
    if locked.min() < 0 or np.any(locked[:, 0] >= n) or np.any(locked[:, 1] >= m):
        raise LockInfeasibleError("a locked pair refers to an unknown mentee or mentor")
    if np.unique(locked[:, 0] * m + locked[:, 1]).size != len(locked):
        raise LockInfeasibleError("a locked pair is listed twice")
    if allowed is not None and not allowed[locked[:, 0], locked[:, 1]].all():
        bad = locked[~allowed[locked[:, 0], locked[:, 1]]][0]
        raise LockInfeasibleError(f"locked pair ({bad[0]}, {bad[1]}) breaks a hard rule")
    cap = capacity - np.bincount(locked[:, 1], minlength=m)
    dem = demand - np.bincount(locked[:, 0], minlength=n)
    if np.any(cap < 0):
        j = int(np.flatnonzero(cap < 0)[0])
        raise LockInfeasibleError(f"locked pairs exceed the capacity of mentor {j}")
    if np.any(dem < 0):
        i = int(np.flatnonzero(dem < 0)[0])
        raise LockInfeasibleError(f"locked pairs exceed the demand of mentee {i}")
    return cap, dem


def _coverage_bonus(score_range: float, n_pairs_max: int) -> float:
    """A bonus per covered mentee larger than any possible score difference.

    Any two assignments' totals differ by less than (pairs) x (score range), so with
    this bonus one more covered mentee always wins: a lexicographic objective.
    """
    return float(max(score_range, 0.0) * max(n_pairs_max, 1) + 1.0)


# ---------------------------------------------------------------------------
# Public entry points


def assign(
    scores: np.ndarray,
    capacity: np.ndarray,
    demand: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    locked: np.ndarray | None = None,
    objective: str = "score",
    groups: np.ndarray | None = None,
) -> Assignment:
    """Exact optimal mentee-mentor pairs under capacities, demands, a mask and locks.

    ``scores`` (n, m) float; ``capacity`` (m,) int; ``demand`` (n,) int (default 1);
    ``allowed`` (n, m) bool (default all); ``locked`` (k, 2) int pairs that must be
    kept; ``objective`` "score" (max total score) or "coverage" (max number of
    mentees with a mentor, then max score). ``groups`` (n,) int adds per-group
    aggregates to the report. Deterministic for the same input.
    """
    scores, capacity, demand, allowed, locked = _as_inputs(
        scores, capacity, demand, allowed, locked, objective
    )
    n, m = scores.shape
    cap, dem = _apply_locks(locked, n, m, capacity, demand, allowed)
    # Mentees already covered by a lock earn no further coverage bonus.
    covered = np.zeros(n, dtype=bool)
    covered[locked[:, 0]] = True
    forbid = locked  # each pair at most once: a locked pair is never chosen again
    spread = float(np.max(scores)) - min(float(np.min(scores)), 0.0) if scores.size else 0.0
    bonus = np.zeros(n)
    if objective == "coverage":
        bonus[~covered] = _coverage_bonus(spread, int(min(dem.sum(), cap.sum())))

    if n == 0 or m == 0 or cap.sum() == 0 or dem.sum() == 0:
        chosen = np.zeros((0, 2), dtype=np.int64)
        violation = 0.0
    elif dem.max() <= 1:
        chosen, violation = _semi_assign(scores, allowed, cap, dem, bonus, forbid)
    else:
        chosen, violation = _lp_assign(scores, allowed, cap, dem, bonus, forbid)

    pairs = np.concatenate([locked, chosen]) if len(locked) else chosen
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))] if len(pairs) else pairs.reshape(0, 2)
    total = float(scores[pairs[:, 0], pairs[:, 1]].astype(np.float64).sum()) if len(pairs) else 0.0
    rep = assignment_report(pairs, scores, capacity, demand, allowed, groups)
    return Assignment(
        pairs=pairs, total_score=total, objective=objective, report=rep, max_violation=violation
    )


def assign_team(
    slot_scores: Sequence[np.ndarray],
    capacity: np.ndarray,
    slot_allowed: Sequence[np.ndarray | None] | None = None,
    locked: np.ndarray | None = None,
    objective: str = "score",
    groups: np.ndarray | None = None,
) -> Assignment:
    """Mentor teams: at most one mentor per slot for each mentee, exact.

    ``slot_scores[t]`` (n, m) scores each mentor for slot t (e.g. near-peer resident,
    senior physician), each computed with its own weights; ``slot_allowed[t]`` its
    mask. A mentor is never paired twice with the same mentee (not even through two
    slots) and capacities are shared across slots. ``locked`` rows are
    (mentee, mentor, slot). "coverage" maximises the number of mentees with at least
    one mentor, then the number of filled (mentee, slot) places, then the score.
    ``Assignment.slots`` gives each pair's slot.
    """
    if objective not in OBJECTIVES:
        raise AssignmentError(f"objective must be one of {OBJECTIVES}")
    if not slot_scores:
        raise AssignmentError("slot_scores must hold at least one (n, m) matrix")
    mats = [np.asarray(s, dtype=np.float64) for s in slot_scores]
    n, m = mats[0].shape
    if any(s.shape != (n, m) for s in mats):
        raise AssignmentError("every slot's scores must have the same (n, m) shape")
    n_slots = len(mats)
    masks = [
        np.ones((n, m), dtype=bool) if a is None else np.asarray(a, dtype=bool)
        for a in (slot_allowed or [None] * n_slots)
    ]
    if len(masks) != n_slots or any(a.shape != (n, m) for a in masks):
        raise AssignmentError("slot_allowed must hold one (n, m) mask per slot")
    if any(not np.isfinite(s[a]).all() for s, a in zip(mats, masks, strict=True)):
        raise AssignmentError("scores must be finite on allowed pairs")
    capacity = np.asarray(capacity)
    if (
        capacity.shape != (m,)
        or not np.issubdtype(capacity.dtype, np.integer)
        or np.any(capacity < 0)
    ):
        raise AssignmentError("capacity must be a non-negative int array of shape (n_mentors,)")
    lock = (
        np.zeros((0, 3), dtype=np.int64)
        if locked is None
        else np.asarray(locked, dtype=np.int64).reshape(-1, 3)
    )
    if len(lock):
        if (
            lock.min() < 0
            or np.any(lock[:, 0] >= n)
            or np.any(lock[:, 1] >= m)
            or np.any(lock[:, 2] >= n_slots)
        ):
            raise LockInfeasibleError("a locked (mentee, mentor, slot) refers to something unknown")
        if not all(masks[t][i, j] for i, j, t in lock):
            raise LockInfeasibleError("a locked pair breaks a hard rule of its slot")
        if np.unique(lock[:, 0] * m + lock[:, 1]).size != len(lock):
            raise LockInfeasibleError("a mentor is locked twice to the same mentee")
        if np.unique(lock[:, 0] * n_slots + lock[:, 2]).size != len(lock):
            raise LockInfeasibleError("a mentee has two locked mentors in the same slot")
        if np.any(np.bincount(lock[:, 1], minlength=m) > capacity):
            raise LockInfeasibleError("locked pairs exceed a mentor's capacity")

    cap = capacity.astype(np.int64) - np.bincount(lock[:, 1], minlength=m)
    spread = max(float(s.max()) - min(float(s.min()), 0.0) if s.size else 0.0 for s in mats)
    bonus = (
        _coverage_bonus(spread, int(min(n * n_slots, cap.sum())))
        if objective == "coverage"
        else 0.0
    )

    # Variables: every allowed (mentee, mentor, slot) not touching a locked place.
    taken_place = np.zeros((n, n_slots), dtype=bool)
    taken_pair = np.zeros((n, m), dtype=bool)
    if len(lock):
        taken_place[lock[:, 0], lock[:, 2]] = True
        taken_pair[lock[:, 0], lock[:, 1]] = True
    var_i, var_j, var_t, var_w = [], [], [], []
    for t in range(n_slots):
        ok = masks[t] & ~taken_pair & ~taken_place[:, t : t + 1] & (cap > 0)[None, :]
        i, j = np.nonzero(ok)
        var_i.append(i)
        var_j.append(j)
        var_t.append(np.full(i.size, t, dtype=np.int64))
        var_w.append(mats[t][i, j] + bonus)
    vi, vj, vt, vw = (np.concatenate(x) for x in (var_i, var_j, var_t, var_w))
    chosen = np.zeros(0, dtype=np.int64)
    if vi.size and cap.sum() > 0:
        k = vi.size
        cols = np.arange(k)
        place = vi * n_slots + vt
        pair = vi * m + vj
        pair_ids, pair_row = np.unique(pair, return_inverse=True)
        place_ids, place_row = np.unique(place, return_inverse=True)
        blocks = [
            sp.csr_matrix((np.ones(k), (place_row, cols)), shape=(place_ids.size, k)),
            sp.csr_matrix((np.ones(k), (pair_row.reshape(-1), cols)), shape=(pair_ids.size, k)),
            sp.csr_matrix((np.ones(k), (vj, cols)), shape=(m, k)),
        ]
        rhs = np.concatenate(
            [np.ones(place_ids.size), np.ones(pair_ids.size), cap.astype(np.float64)]
        )
        a_ub, cost = sp.vstack(blocks).tocsr(), -vw
        if objective == "coverage":
            a_ub, cost, rhs = _mentee_cover(a_ub, cost, rhs, vi, np.any(taken_place, axis=1), bonus,
                                            spread, int(min(n * n_slots, cap.sum())))  # fmt: skip
        x = _highs(cost, a_ub.tocsc(), rhs)[:k]
        chosen = np.flatnonzero(x > 0.5)
    out = (
        np.column_stack([vi[chosen], vj[chosen], vt[chosen]])
        if chosen.size
        else np.zeros((0, 3), dtype=np.int64)
    )
    full = np.concatenate([lock, out]) if len(lock) else out
    full = (
        full[np.lexsort((full[:, 2], full[:, 1], full[:, 0]))] if len(full) else full.reshape(0, 3)
    )
    total = float(sum(mats[t][i, j] for i, j, t in full))
    pair_scores = np.zeros((n, m))
    if len(full):
        pair_scores[full[:, 0], full[:, 1]] = [mats[t][i, j] for i, j, t in full]
    any_allowed = np.logical_or.reduce(masks)
    masked = [np.where(a, s, -np.inf) for s, a in zip(mats, masks, strict=True)]
    best = np.max(np.stack(masked), axis=0)
    rep = assignment_report(
        full[:, :2],
        np.where(np.isfinite(best), best, 0.0),
        capacity.astype(np.int64),
        np.full(n, n_slots, dtype=np.int64),
        any_allowed,
        groups,
        pair_scores=pair_scores,
    )
    return Assignment(
        pairs=full[:, :2].copy(),
        total_score=total,
        objective=objective,
        report=rep,
        max_violation=float("nan"),
        slots=full[:, 2].copy(),
    )


def _mentee_cover(
    a_ub: sp.csr_matrix,
    cost: np.ndarray,
    rhs: np.ndarray,
    vi: np.ndarray,
    covered: np.ndarray,
    place_bonus: float,
    spread: float,
    places_max: int,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Add one variable z_i <= sum of mentee i's pairs, z_i <= 1, per mentee not yet
    covered by a lock, rewarded more than any number of extra places and any score.

    The rows stay totally unimodular: each mentee's row holds its place rows (a laminar
    family, as pairs and mentors are on the other side) and z adds a unit column.
    """
    mentees = np.unique(vi[~covered[vi]])
    if mentees.size == 0:
        return a_ub, cost, rhs
    k, r = vi.size, mentees.size
    row_of = np.full(covered.size, -1, dtype=np.int64)
    row_of[mentees] = np.arange(r)
    sel = np.flatnonzero(row_of[vi] >= 0)
    cover = sp.hstack(
        [
            sp.csr_matrix((-np.ones(sel.size), (row_of[vi[sel]], sel)), shape=(r, k)),
            sp.identity(r, format="csr"),
        ]
    )
    widened = sp.hstack([a_ub, sp.csr_matrix((a_ub.shape[0], r))])
    reward = (place_bonus + max(spread, 0.0)) * max(places_max, 1) + 1.0
    return (
        sp.vstack([widened, cover]).tocsr(),
        np.concatenate([cost, np.full(r, -reward)]),
        np.concatenate([rhs, np.zeros(r)]),
    )


# ---------------------------------------------------------------------------
# General path: HiGHS


def _highs(cost: np.ndarray, a_ub: sp.csc_matrix, b_ub: np.ndarray) -> np.ndarray:
    """Minimise cost @ x with A x <= b, 0 <= x <= 1; returns the integral vertex solution."""
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs-ds")
    if res.status != 0:  # pragma: no cover - the LP is always feasible (x = 0) and bounded
        raise AssignmentError(f"LP solver failed: {res.message}")
    x = np.asarray(res.x)
    # Totally unimodular constraints: a simplex vertex is integral up to round-off.
    if np.any(np.abs(x - np.round(x)) > 1e-6):  # pragma: no cover - guards the TU argument
        raise AssignmentError("LP solution is not integral")
    return np.round(x)


def _lp_assign(
    scores: np.ndarray,
    allowed: np.ndarray | None,
    cap: np.ndarray,
    dem: np.ndarray,
    bonus: np.ndarray,
    forbid: np.ndarray,
) -> tuple[np.ndarray, float]:
    """General demands: the transportation LP over every allowed pair, solved by HiGHS."""
    n, m = scores.shape
    ok = np.ones((n, m), dtype=bool) if allowed is None else allowed.copy()
    ok &= (dem > 0)[:, None] & (cap > 0)[None, :]
    if len(forbid):
        ok[forbid[:, 0], forbid[:, 1]] = False
    ri, cj = np.nonzero(ok)
    if ri.size == 0:
        return np.zeros((0, 2), dtype=np.int64), 0.0
    k = ri.size
    w = scores[ri, cj].astype(np.float64)
    cols = np.arange(k)
    rows_i = sp.csr_matrix((np.ones(k), (ri, cols)), shape=(n, k))
    rows_j = sp.csr_matrix((np.ones(k), (cj, cols)), shape=(m, k))
    if np.any(bonus > 0):
        # Coverage: b_i <= sum_j x_ij and b_i <= 1 with a bonus on b_i, a network
        # flow with a cheap first unit per mentee, so still totally unimodular.
        cover = np.flatnonzero(bonus > 0)
        b_cols = k + np.arange(cover.size)
        link = sp.csr_matrix(
            (
                np.concatenate([-np.ones(k), np.ones(cover.size)]),
                (np.concatenate([ri, cover]), np.concatenate([cols, b_cols])),
            ),
            shape=(n, k + cover.size),
        )
        pad = sp.csr_matrix((n + m, cover.size))
        a_ub = sp.vstack([sp.hstack([sp.vstack([rows_i, rows_j]), pad]), link]).tocsc()
        b_ub = np.concatenate([dem, cap, np.zeros(n)]).astype(np.float64)
        x = _highs(-np.concatenate([w, bonus[cover]]), a_ub, b_ub)[:k]
    else:
        a_ub = sp.vstack([rows_i, rows_j]).tocsc()
        x = _highs(-w, a_ub, np.concatenate([dem, cap]).astype(np.float64))
    pick = x > 0.5
    return np.column_stack([ri[pick], cj[pick]]).astype(np.int64), float("nan")


# ---------------------------------------------------------------------------
# Fast path: demand <= 1


def _unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values (by sorting: np.unique may hash, far slower on int keys)."""
    keys = np.sort(keys)
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys


class _Dense:
    """Row-chunked passes over the masked score matrix (float32 screen, float64 check).

    No masked copy of the matrix is made: each pass reads row chunks of the
    caller's scores, subtracts the prices in float32 and sets the pairs that are
    not allowed to -inf, from a sorted list of them when the mask is mostly true
    (the usual case: a few hard rules), else from the mask itself. Mentors without
    capacity get an infinite price. Every decision is re-checked in float64
    against the caller's scores, with a screening margin that covers float32
    rounding.
    """

    def __init__(
        self,
        scores: np.ndarray,
        allowed: np.ndarray | None,
        rows: np.ndarray,
        cols_ok: np.ndarray,
        forbid: np.ndarray,
    ):
        self.scores = scores
        self.rows = rows
        n_r = rows.size
        m = scores.shape[1]
        self.shape = (n_r, m)
        self.all_rows = n_r == scores.shape[0]
        self.col_price = np.where(cols_ok, 0.0, np.inf).astype(np.float32)
        pos = np.full(scores.shape[0], -1, dtype=np.int64)
        pos[rows] = np.arange(n_r)
        blocked = []
        if len(forbid):
            local = pos[forbid[:, 0]]
            keep = local >= 0
            blocked.append(local[keep] * m + forbid[keep, 1])
        self.mask: np.ndarray | None = None
        if allowed is not None:
            sub = allowed if self.all_rows else allowed[rows]
            n_blocked = sub.size - int(np.count_nonzero(sub))
            if n_blocked > sub.size // _DENSE_MASK_SHARE:
                self.mask = sub
            elif n_blocked:
                for s in range(0, n_r, _INIT_CHUNK):
                    blocked.append(np.flatnonzero(~sub[s : s + _INIT_CHUNK]) + s * m)
        self.blocked = _unique(np.concatenate(blocked)) if blocked else np.zeros(0, dtype=np.int64)
        self.top = 0.0  # largest |best score| of a row, set by first_pass

    def exact(self, r: np.ndarray, j: np.ndarray) -> np.ndarray:
        return self.scores[self.rows[r], j].astype(np.float64)

    def _margin(self, a: np.ndarray, v: np.ndarray, threshold: float = 0.0) -> float:
        scale = (
            self.top
            + float(np.max(np.abs(a), initial=0.0))
            + float(np.max(np.abs(v[np.isfinite(v)]), initial=0.0))
            + abs(threshold)
            + 1.0
        )
        return 8.0 * scale * float(np.finfo(np.float32).eps)

    def chunks(
        self, v: np.ndarray, size: int, order: np.ndarray | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(idx, t): row positions and t[k, j] = s_{idx[k], j} - v_j in float32, -inf
        where not allowed. ``t`` is a reused buffer, valid until the next chunk."""
        n_r, m = self.shape
        v32 = v.astype(np.float32) + self.col_price
        tmp = np.empty((min(size, max(n_r, 1)), m), dtype=np.float32)
        total = n_r if order is None else order.size
        for s in range(0, total, size):
            if order is None:
                idx = np.arange(s, min(s + size, n_r))
                src = self.scores[s : s + size] if self.all_rows else self.scores[self.rows[idx]]
            else:
                idx = order[s : s + size]
                src = self.scores[self.rows[idx]]
            t = tmp[: idx.size]
            with np.errstate(invalid="ignore"):
                np.subtract(src, v32, out=t)
            if self.mask is not None:
                ok = self.mask[s : s + size] if order is None else self.mask[idx]
                np.copyto(t, -np.inf, where=~ok)
            if self.blocked.size:
                lo = np.searchsorted(self.blocked, idx * m)
                hi = np.searchsorted(self.blocked, (idx + 1) * m)
                count = hi - lo
                if count.any():
                    which = np.repeat(np.arange(idx.size), count)
                    at = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
                    flat = self.blocked[np.repeat(lo, count) + at]
                    t[which, flat - idx[which] * m] = -np.inf
            yield idx, t

    def first_pass(self, cover_per_slot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(best, arg, floor): each row's best score and mentor (-inf / any when it has
        no allowed pair), and per mentor a score floor met by at least
        ``cover_per_slot[j]`` rows (each the best of its own block of rows)."""
        n_r, m = self.shape
        best = np.empty(n_r)
        arg = np.empty(n_r, dtype=np.int64)
        block_max = []
        for idx, t in self.chunks(np.zeros(m), _SWEEP_CHUNK * 4):
            r_arg = t.argmax(axis=1)
            arg[idx] = r_arg
            best[idx] = t[np.arange(idx.size), r_arg]
            block_max.append(t.max(axis=0))
        finite = best[np.isfinite(best)]
        self.top = float(np.max(np.abs(finite), initial=0.0))
        if not block_max:
            return best, arg, np.full(m, np.inf)
        stack = np.sort(np.stack(block_max), axis=0)  # ascending per mentor
        k = np.clip(stack.shape[0] - cover_per_slot, 0, stack.shape[0] - 1)
        floor = stack[k, np.arange(m)].astype(np.float64)
        return best, arg, np.where(np.isfinite(floor), floor, np.inf)

    def col_max(self, order: np.ndarray) -> np.ndarray:
        """max over the rows ``order`` of each mentor's score (-inf when none)."""
        out = np.full(self.shape[1], -np.inf, dtype=np.float32)
        for _, t in self.chunks(np.zeros(self.shape[1]), _SWEEP_CHUNK * 4, order):
            np.maximum(out, t.max(axis=0), out=out)
        return out.astype(np.float64)

    def near_pairs(
        self,
        v: np.ndarray,
        beta: np.ndarray,
        near: float,
        floor: np.ndarray,
        quota: np.ndarray,
        limit: int,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(keys, surplus): pairs within ``near`` of their row's best under prices ``v``
        or scoring at least their mentor's ``floor`` (the first ``quota[j]`` such
        rows of mentor j), and each row's surplus.

        A row's surplus is taken as max(0, max_j (s_rj + beta_r - v_j)), the best it
        could get, so this is one pass (float32, a heuristic: no exactness needed).
        When more than ``limit`` pairs qualify, the pass stops and is redone with
        ``near`` quartered (None once it drops below _NEAR_FLOOR: massive ties).
        """
        while near >= _NEAR_FLOOR * max(self.top, 1e-12):
            found = self._near_once(v, beta, near, floor, quota, limit)
            if found is not None:
                return found
            near /= 4
        return None

    def _near_once(
        self,
        v: np.ndarray,
        beta: np.ndarray,
        near: float,
        floor: np.ndarray,
        quota: np.ndarray,
        limit: int,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        n_r, m = self.shape
        col_bar = (floor - v).astype(np.float32)
        hit = np.empty((_SWEEP_CHUNK, m), dtype=bool)
        extra = np.empty((_SWEEP_CHUNK, m), dtype=bool)
        surplus = np.zeros(n_r)
        left = quota.astype(np.int64)  # cover pairs each mentor may still take
        keys = []
        count = 0
        for idx, t in self.chunks(v, _SWEEP_CHUNK):
            h, e = hit[: idx.size], extra[: idx.size]
            b = beta[idx]
            gain = np.maximum(t.max(axis=1) + b, 0.0)
            surplus[idx] = gain
            np.greater(t, (gain - b - near).astype(np.float32)[:, None], out=h)
            np.greater_equal(t, col_bar, out=e)
            cols = np.flatnonzero(e.any(axis=0))
            if cols.size:
                seen = np.cumsum(e[:, cols], axis=0)
                h[:, cols] |= e[:, cols] & (seen <= left[cols])
                left[cols] -= np.minimum(seen[-1], left[cols])
            flat = np.flatnonzero(h)
            count += flat.size
            if count > limit:
                return None
            keys.append(flat + idx[0] * m)
        return (np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)), surplus

    def spread_pairs(self, k: int) -> np.ndarray:
        """Keys of each row's ``k`` best pairs and of each mentor's best row per
        chunk of rows: a graph that needs no prices (the fallback when ties make
        the near-tight sets too large)."""
        m = self.shape[1]
        k = min(k, m)
        cols = np.arange(m)
        out = []
        for idx, t in self.chunks(np.zeros(m), _ROW_CHUNK * 4):
            top = np.argpartition(t, m - k, axis=1)[:, m - k :]
            ok = np.isfinite(np.take_along_axis(t, top, axis=1))
            out.append((idx[:, None] * m + top)[ok])
            arg = t.argmax(axis=0)
            ok_c = np.isfinite(t[arg, cols])
            out.append(idx[arg[ok_c]] * m + cols[ok_c])
        return _unique(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)

    def sweep(
        self, a: np.ndarray, v: np.ndarray, threshold: float, limit: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """(r, j, rc, complete): allowed pairs whose reduced cost s_rj - a_r - v_j is
        above a threshold, with their exact (float64) reduced costs.

        The threshold starts at ``threshold`` (<= 0) and, whenever more than
        ``limit`` pairs pass the float32 screen, moves up towards DUAL_TOLERANCE,
        never above; there the screened pairs are checked exactly at once and only
        violated ones kept. ``complete``: every pair above the final threshold is
        returned, so none above DUAL_TOLERANCE means the prices are certified.
        Else the violated pairs alone were too many and each row kept only its
        ``limit / rows`` most violated ones (ties spread by a hash of the pair).
        """
        n_r, m = self.shape
        margin = self._margin(a, v, threshold)
        tiny = 1e-6 * max(self.top, 1e-12)
        thr = min(threshold, DUAL_TOLERANCE)
        a32 = a.astype(np.float32)
        hit = np.empty((_SWEEP_CHUNK, m), dtype=bool)
        keys: list[np.ndarray] = []
        vals: list[np.ndarray] = []  # screened (float32) or, at the tolerance, exact rc
        exact = thr >= DUAL_TOLERANCE
        per_row = 0  # > 0: keep only this many pairs per row

        def violated(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            r, j = key // m, key % m
            rc = self.exact(r, j) - a[r] - v[j]
            keep = rc > DUAL_TOLERANCE
            return key[keep], rc[keep]

        count = 0
        for idx, t in self.chunks(v, _SWEEP_CHUNK):
            h = hit[: idx.size]
            bar = (a[idx] + (thr - margin)).astype(np.float32)
            np.greater(t, bar[:, None], out=h)
            flat = np.flatnonzero(h)
            key = flat + idx[0] * m
            if exact:
                key, val = violated(key)
            else:
                val = (t.ravel()[flat] - a32[idx[0] + flat // m]).astype(np.float64)
            if per_row:
                key, val = _thin(key, val, m, per_row)
            keys.append(key)
            vals.append(val)
            count += key.size
            while count > limit and not per_row:
                if not exact:
                    thr = thr / 4 if thr < -tiny else DUAL_TOLERANCE
                    exact = thr >= DUAL_TOLERANCE
                    pairs = [
                        violated(k) if exact else (k[x > thr - margin], x[x > thr - margin])
                        for k, x in zip(keys, vals, strict=True)
                    ]
                else:
                    per_row = max(1, limit // max(n_r, 1))
                    pairs = [_thin(k, x, m, per_row) for k, x in zip(keys, vals, strict=True)]
                keys = [k for k, _ in pairs]
                vals = [x for _, x in pairs]
                count = sum(k.size for k in keys)
        key = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
        r, j = key // m, key % m
        rc = self.exact(r, j) - a[r] - v[j]
        keep = rc > thr
        return r[keep], j[keep], rc[keep], not per_row


def _thin(
    keys: np.ndarray, vals: np.ndarray, m: int, per_row: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``per_row`` largest ``vals`` of each row (keys row * m + col), ties broken
    by a hash of the key so that tied rows do not all pick the same mentors."""
    rows = keys // m
    spread = (keys * 2654435761) % 4294967291
    order = np.lexsort((spread, -vals, rows))
    keys, vals, rows = keys[order], vals[order], rows[order]
    heads = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if rows.size else rows
    rank = np.arange(rows.size) - np.repeat(heads, np.diff(np.r_[heads, rows.size]))
    keep = rank < per_row
    return keys[keep], vals[keep]


def _solve_matching(
    ri: np.ndarray,
    cj: np.ndarray,
    w: np.ndarray,
    n_r: int,
    cap: np.ndarray,
    slack: bool,
) -> np.ndarray:
    """Max-weight matching on a sparse graph by LAPJVsp: mentor of each row (-1 = none).

    Mentors are expanded into capacity slots and only rows with an edge take part
    (LAPJVsp restarts a shortest-path search per row of the smaller side and pays
    for every column each time, so fewer and smaller sides are much faster).
    Without ``slack`` the smaller side must be matched in full (a ValueError when it
    cannot be): usually the optimum anyway, but the caller must check it. With
    ``slack`` every slot gets a private dummy column of weight 0, so "leave the slot
    empty" is an option and the result is optimal. Costs are shifted to stay
    positive (LAPJVsp reserves explicit zeros), which changes no optimum because
    every full matching has one edge per row.
    """
    keep = cap[cj] > 0
    ri, cj, w = ri[keep], cj[keep], w[keep]
    present, rinv = np.unique(ri, return_inverse=True)
    n_p = present.size
    match = np.full(n_r, -1, dtype=np.int64)
    if n_p == 0:
        return match
    n_slots = int(cap.sum())
    start = np.concatenate([[0], np.cumsum(cap)[:-1]]).astype(np.int64)
    slot_mentor = np.repeat(np.arange(cap.size), cap)
    reps = cap[cj]
    total = int(reps.sum())
    offset = np.arange(total) - np.repeat(np.cumsum(reps) - reps, reps)
    slot = np.repeat(start[cj], reps) + offset
    row = np.repeat(rinv.reshape(-1), reps)
    shift = float(np.max(w)) + 1.0
    cost = shift - np.repeat(w, reps)
    if slack:
        slot = np.concatenate([slot, np.arange(n_slots)])
        row = np.concatenate([row, n_p + np.arange(n_slots)])
        cost = np.concatenate([cost, np.full(n_slots, shift)])
    width = n_p + n_slots if slack else n_p
    graph = sp.csr_matrix((cost, (slot, row)), shape=(n_slots, width))
    s_idx, r_idx = min_weight_full_bipartite_matching(graph)
    real = r_idx < n_p
    match[present[r_idx[real]]] = slot_mentor[s_idx[real]]
    return match


def _solve_sparse(
    ri: np.ndarray,
    cj: np.ndarray,
    w: np.ndarray,
    n_r: int,
    cap: np.ndarray,
    warm: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """An optimal matching of the sparse graph and mentor prices certifying it there.

    Tries, cheapest first: the full-matching form on weights lowered by ``warm``
    (estimated mentee prices; LAPJVsp starts its column prices at zero, so a
    good estimate shortens every search), the full-matching form on the true
    weights, and the form with empty-slot dummies, which is always optimal. A
    result counts only when ``_cs_prices`` proves it optimal on the true weights,
    so the shortcuts can cost time, never exactness.
    """
    attempts: list[tuple[np.ndarray | None, bool]] = [(None, False), (None, True)]
    if warm is not None and np.any(warm > 0):
        attempts.insert(0, (warm, False))
    for lower, slack in attempts:
        try:
            match = _solve_matching(
                ri, cj, w if lower is None else w - lower[ri], n_r, cap, slack=slack
            )
        except ValueError:  # no full matching of the smaller side: try the next form
            continue
        v = _cs_prices(ri, cj, w, match, cap)
        if v is not None:
            return match, v
    raise AssignmentError(  # pragma: no cover - the slack form is always optimal
        "internal error: no dual prices for an optimal matching"
    )


def _cs_prices(
    ri: np.ndarray, cj: np.ndarray, w: np.ndarray, match: np.ndarray, cap: np.ndarray
) -> np.ndarray | None:
    """Mentor prices v certifying ``match`` on the sparse graph, or None if it is not optimal there.

    Complementary slackness turns the dual into difference constraints on v:
    v_k >= w_ik for an unmatched row i, v_k >= v_j + w_ik - w_ij when i is matched
    to j, v >= 0, with upper bounds v_j <= w_ij (u_i >= 0) and v_j = 0 for mentors
    with a free slot. Bellman-Ford from below finds the least solution and from
    above the greatest; crossing a bound means the system is infeasible, i.e.
    ``match`` is not optimal on this graph. Any solution certifies the sparse
    graph (the solutions form a convex set); which one is returned (``PRICE_MIX``
    between least and greatest) only changes how many pairs outside it look
    violated. On graphs of near-tight pairs the midpoint leaves the fewest.
    """
    m = cap.size
    load = np.bincount(match[match >= 0], minlength=m)
    upper = np.where(load < cap, 0.0, np.inf)
    matched_rows = np.flatnonzero(match >= 0)
    own = np.full(match.size, np.nan)
    on_match = match[ri] == cj
    own[ri[on_match]] = w[on_match]
    np.minimum.at(upper, match[matched_rows], own[matched_rows])
    lower = np.zeros(m)
    free = match[ri] < 0
    np.maximum.at(lower, cj[free], w[free])
    link = (match[ri] >= 0) & ~on_match
    src = match[ri[link]]
    dst = cj[link]
    gain = w[link] - own[ri[link]]
    tol = 1e-12 * (1.0 + float(np.max(np.abs(w), initial=0.0)))
    if np.any(lower > upper + tol):
        return None
    least = _relax(lower.copy(), upper, src, dst, gain, tol, up=True)
    if least is None:
        return None
    greatest = _relax(upper.copy(), least, dst, src, -gain, tol, up=False)
    if greatest is None:  # pragma: no cover - feasible from below implies feasible from above
        return least
    mid = PRICE_MIX * greatest + (1 - PRICE_MIX) * least
    return np.where(np.isfinite(mid), mid, least)


def _relax(
    v: np.ndarray,
    bound: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    gain: np.ndarray,
    tol: float,
    up: bool,
) -> np.ndarray | None:
    """Bellman-Ford on v[dst] >= v[src] + gain (up) or v[src'] <= v[dst'] - gain (down).

    ``up``: raise v to the least fixpoint, failing if it exceeds ``bound`` (upper).
    Not ``up``: lower v to the greatest fixpoint, failing below ``bound`` (lower);
    there the constraint is v[dst] <= v[src] + gain with the arguments swapped by
    the caller. Infinite entries (no upper bound) are left alone until a
    constraint pulls them down.
    """
    m = v.size
    order = np.argsort(dst, kind="stable")
    src, dst, gain = src[order], dst[order], gain[order]
    heads = (
        np.flatnonzero(np.r_[True, dst[1:] != dst[:-1]])
        if dst.size
        else np.zeros(0, dtype=np.int64)
    )
    targets = dst[heads]
    for _ in range(m + 2):
        if up and np.any(v > bound + tol):
            return None
        if not up and np.any(v < bound - tol):
            return None
        if dst.size == 0:
            return v
        if up:
            best = np.maximum.reduceat(v[src] + gain, heads)
            move = best > v[targets] + tol
        else:
            with np.errstate(invalid="ignore"):
                best = np.minimum.reduceat(v[src] + gain, heads)
            move = best < v[targets] - tol
        if not move.any():
            return v
        v[targets[move]] = best[move]
    return None  # pragma: no cover - a positive cycle is caught by the bounds first


def _auction_prices(
    keys: np.ndarray,
    w: np.ndarray,
    n_r: int,
    cap: np.ndarray,
    start: np.ndarray,
    eps: float,
) -> np.ndarray:
    """Mentor prices from a Jacobi auction on a sparse graph (a heuristic: speed only).

    Every unplaced mentee bids for its best mentor at price + (best - second best
    value) + ``eps``, where staying unplaced is worth 0; each mentor keeps its
    ``cap`` highest bids, and once full its price is the lowest bid it keeps.
    Prices only rise from ``start``, so at most ``_AUCTION_ROUNDS`` rounds of a
    few array operations each give prices within a few ``eps`` of market-clearing
    ones for the mentees and mentors well covered by the graph.
    """
    m = cap.size
    ri, cj = keys // m, keys % m  # keys are sorted, so rows are grouped
    deg = np.bincount(ri, minlength=n_r)
    first = np.concatenate([[0], np.cumsum(deg)[:-1]])
    price = start.astype(np.float64).copy()
    mentor = np.full(n_r, -1, dtype=np.int64)
    held = np.zeros(n_r)
    active = deg > 0
    for _ in range(_AUCTION_ROUNDS):
        bidders = np.flatnonzero(active & (mentor < 0))
        if bidders.size == 0:
            break
        d = deg[bidders]
        heads = np.concatenate([[0], np.cumsum(d)[:-1]])
        seg = np.repeat(np.arange(bidders.size), d)
        pos = np.arange(int(d.sum())) - np.repeat(heads, d) + np.repeat(first[bidders], d)
        val = w[pos] - price[cj[pos]]
        top = np.maximum.reduceat(val, heads)
        at_top = np.flatnonzero(val == top[seg])
        lead = at_top[np.r_[True, seg[at_top[1:]] != seg[at_top[:-1]]]]
        val[lead] = -np.inf
        second = np.maximum(np.maximum.reduceat(val, heads), 0.0)
        stay = top > 0
        active[bidders[~stay]] = False
        bidders, lead = bidders[stay], pos[lead[stay]]
        if not bidders.size:
            continue
        bid = w[lead] - second[stay] + eps
        target = cj[lead]
        # Only the mentors bid for re-rank their holders.
        hit = np.zeros(m, dtype=bool)
        hit[target] = True
        holders = np.flatnonzero((mentor >= 0) & hit[mentor])
        who = np.concatenate([holders, bidders])
        where = np.concatenate([mentor[holders], target])
        amount = np.concatenate([held[holders], bid])
        order = np.lexsort((-amount, where))
        who, where, amount = who[order], where[order], amount[order]
        group = np.flatnonzero(np.r_[True, where[1:] != where[:-1]])
        size = np.diff(np.r_[group, who.size])
        rank = np.arange(who.size) - np.repeat(group, size)
        win = rank < cap[where]
        mentor[who[~win]] = -1
        mentor[who[win]] = where[win]
        held[who[win]] = amount[win]
        owner = where[group]
        full = (size >= cap[owner]) & (cap[owner] > 0)
        price[owner[full]] = amount[group[full] + cap[owner[full]] - 1]
    return price


def _fill(dense: _Dense, keys: np.ndarray, cap: np.ndarray, best: np.ndarray) -> np.ndarray:
    """``keys`` plus allowed pairs that let the graph fill its smaller side.

    The solver's fast form needs a matching of all places (or all mentees, if
    fewer): when the graph has none (Hall's condition fails, typically in tight
    markets), the mentees left out by a maximum matching are joined to the
    mentors left with free places (the strongest such mentees first, within a
    budget), which restores it unless hard rules forbid.
    """
    n_r, m = dense.shape
    ri, cj = keys // m, keys % m
    n_slots = int(cap.sum())
    start = np.concatenate([[0], np.cumsum(cap)[:-1]]).astype(np.int64)
    reps = cap[cj]
    offset = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
    graph = sp.csr_matrix(
        (np.ones(offset.size), (np.repeat(start[cj], reps) + offset, np.repeat(ri, reps))),
        shape=(n_slots, n_r),
    )
    slot_row = maximum_bipartite_matching(graph, perm_type="column")
    if int(np.count_nonzero(slot_row >= 0)) >= min(n_slots, n_r):
        return keys
    taken = np.zeros(n_r, dtype=bool)
    taken[slot_row[slot_row >= 0]] = True
    short = np.unique(np.repeat(np.arange(m), cap)[slot_row < 0])
    free = np.flatnonzero(~taken)
    budget = max(_POOL_PER_ROW * n_r // max(short.size, 1), 1)
    if free.size > budget:
        free = np.sort(free[np.argsort(-best[free], kind="stable")[:budget]])
    extra = [keys]
    for idx, t in dense.chunks(np.zeros(m), _ROW_CHUNK, free):
        sub = t[:, short]
        r, c = np.nonzero(np.isfinite(sub))
        extra.append(idx[r] * m + short[c])
    return _unique(np.concatenate(extra))


def _initial_graph(
    dense: _Dense, beta: np.ndarray, cap: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None, tuple[np.ndarray, np.ndarray] | None]:
    """(keys, warm, pool): a sparse graph (keys row * m + col) likely to hold an
    optimal matching, estimated mentee prices to seed its solve (None: no
    estimate), and the auction's pairs with their weights (None: no auction), a
    cheap first place to look for violated pairs.

    Speed only (the certificate decides). Mentor prices are guessed, when mentees
    outnumber places, as each mentor's best score among the mentees most likely to
    stay unmatched (the weakest ones); a quick auction on the pairs near tight
    under the guessed prices refines them; the graph is then every pair within
    ``FIRST_NEAR`` of tight under the refined prices, plus for every mentor the
    mentees scoring at least the best of a few blocks of rows (about
    ``COVER_PER_SLOT`` per place), so that no mentor is short of candidates.
    """
    n_r, m = dense.shape
    quota = COVER_PER_SLOT * cap + COVER_PER_SLOT
    best, arg, floor = dense.first_pass(quota)
    scale = max(dense.top, 1e-12)
    ok = np.isfinite(best)
    top = np.flatnonzero(ok) * m + arg[ok]
    prices = np.zeros(m)
    pool: tuple[np.ndarray, np.ndarray] | None = None
    spare = n_r - int(cap.sum())
    if spare > 0:
        weakest = np.sort(np.argsort(best, kind="stable")[:spare])
        guess = dense.col_max(weakest)
        guess = np.where(np.isfinite(guess), guess, 0.0) + float(beta.max(initial=0.0))
        prices = guess
        found = dense.near_pairs(
            guess, beta, AUCTION_NEAR * scale, floor, quota, 3 * _POOL_PER_ROW * n_r
        )
        if found is not None:
            keys = _unique(np.concatenate([found[0], top]))
            w = dense.exact(keys // m, keys % m) + beta[keys // m]
            start = np.maximum(guess - AUCTION_START * scale, 0.0)
            prices = _auction_prices(keys, w, n_r, cap, start, AUCTION_EPS * scale)
            pool = keys, w
    near = dense.near_pairs(prices, beta, FIRST_NEAR * scale, floor, quota, _POOL_PER_ROW * n_r)
    if near is None:
        return _fill(dense, dense.spread_pairs(_SPREAD_PER_ROW), cap, best), None, pool
    warm = None if pool is None else np.maximum(near[1] - WARM_MARGIN * scale, 0.0)
    return _fill(dense, _unique(near[0]), cap, best), warm, pool


def _semi_assign(
    scores: np.ndarray,
    allowed: np.ndarray | None,
    cap: np.ndarray,
    dem: np.ndarray,
    bonus: np.ndarray,
    forbid: np.ndarray,
) -> tuple[np.ndarray, float]:
    """Exact assignment when every mentee wants at most one (more) mentor.

    Column generation with a proof: solve exactly on a sparse graph, price every
    allowed pair with dual prices certifying that solution on the graph, and stop
    when no reduced cost is positive. While some are, the pairs within ``near`` of
    tight under the current prices (the violated ones among them) join the graph:
    first from the auction's pairs (no dense pass), then from one dense pass, which
    is also the final certificate. Each round first tries to re-price the current
    matching on the grown graph (cheap; enough when only the prices, not the
    matching, were off) before solving again, seeded with the current mentee prices
    when the largest violation shows them nearly right. When even the violated
    pairs are too many, each row's most violated ones are added.
    """
    m = scores.shape[1]
    rows = np.flatnonzero(dem > 0)
    dense = _Dense(scores, allowed, rows, cap > 0, forbid)
    beta = bonus[rows]
    n_r = rows.size
    keys, warm, pool = _initial_graph(dense, beta, cap)
    near = NEAR_TIGHT * max(dense.top, 1e-12)
    match: np.ndarray | None = None
    violation = 0.0
    while True:
        ri, cj = keys // m, keys % m
        w = dense.exact(ri, cj) + beta[ri]
        v = None if match is None else _cs_prices(ri, cj, w, match, cap)
        if match is None or v is None:
            match, v = _solve_sparse(ri, cj, w, n_r, cap, warm)
        u = np.zeros(n_r)
        on = match >= 0
        u[on] = dense.exact(np.flatnonzero(on), match[on]) + beta[on] - v[match[on]]
        a = u - beta
        margin = WARM_MARGIN * max(dense.top, 1e-12)
        if pool is not None:
            # Violated pairs among the auction's are found without a dense pass.
            rc = pool[1] - u[pool[0] // m] - v[pool[0] % m]
            violation = float(rc.max(initial=0.0))
            if violation > DUAL_TOLERANCE:
                keys = _unique(np.concatenate([keys, pool[0][rc > -near]]))
                warm = np.maximum(u - margin - 2 * violation, 0.0) if violation <= margin else None
                continue
            pool = None
        r, j, rc, complete = dense.sweep(a, v, -near, max(_POOL_PER_ROW * n_r, _POOL_MIN))
        violation = float(rc.max(initial=0.0))
        if complete and violation <= DUAL_TOLERANCE:
            break
        grown = _unique(np.concatenate([keys, r * m + j]))
        # Violated pairs are never in the graph already (it satisfies its own
        # prices), so each round adds one and the loop ends.
        if grown.size == keys.size:  # pragma: no cover
            raise AssignmentError("internal error: the certificate found no new pair to add")
        keys = grown
        # Seed the next solve with these prices only when they are nearly right.
        warm = np.maximum(u - margin - 2 * violation, 0.0) if violation <= margin else None
    picked = np.flatnonzero(match >= 0)
    return np.column_stack([rows[picked], match[picked]]).astype(np.int64), max(violation, 0.0)


# ---------------------------------------------------------------------------
# Reports


def _count_blocking(
    scores: np.ndarray,
    allowed: np.ndarray | None,
    pairs: np.ndarray,
    mentee_floor: np.ndarray,
    mentor_floor: np.ndarray,
) -> int:
    """Allowed unpaired (i, j) with s_ij above both floors, in chunks of rows.

    The floors are scores (or 0 / inf), so when they survive a round trip through
    the scores' own dtype the comparisons are exact in that dtype, with no float64
    copy of the matrix.
    """
    n, m = scores.shape
    dtype = scores.dtype if np.issubdtype(scores.dtype, np.floating) else np.dtype(np.float64)
    lo_f, hi_f = mentee_floor.astype(dtype), mentor_floor.astype(dtype)
    if not (np.array_equal(lo_f, mentee_floor) and np.array_equal(hi_f, mentor_floor)):
        dtype = np.dtype(np.float64)
        lo_f, hi_f = mentee_floor, mentor_floor
    chunk = 128
    block = np.empty((chunk, m), dtype=bool)
    other = np.empty((chunk, m), dtype=bool)
    blocking = 0
    for s in range(0, n, chunk):
        part = scores[s : s + chunk]
        if part.dtype != dtype:
            part = part.astype(dtype)
        b, o = block[: part.shape[0]], other[: part.shape[0]]
        np.greater(part, lo_f[s : s + chunk, None], out=b)
        np.greater(part, hi_f, out=o)
        b &= o
        if allowed is not None:
            b &= allowed[s : s + chunk]
        sel = (pairs[:, 0] >= s) & (pairs[:, 0] < s + chunk)
        blocking += int(np.count_nonzero(b)) - int(b[pairs[sel, 0] - s, pairs[sel, 1]].sum())
    return blocking


def assignment_report(
    pairs: np.ndarray,
    scores: np.ndarray,
    capacity: np.ndarray,
    demand: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    pair_scores: np.ndarray | None = None,
) -> AssignmentReport:
    """Totals, coverage, unmatched reasons, blocking pairs, mentor load and group aggregates.

    ``pair_scores`` (n, m) overrides the score used for each chosen pair (teams use
    the slot's own score); ``scores`` drives the stability check.
    """
    scores = np.asarray(scores)
    n, m = scores.shape
    capacity = np.asarray(capacity, dtype=np.int64)
    demand = np.ones(n, dtype=np.int64) if demand is None else np.asarray(demand, dtype=np.int64)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    src = scores if pair_scores is None else pair_scores
    chosen = src[pairs[:, 0], pairs[:, 1]].astype(np.float64) if len(pairs) else np.zeros(0)
    total = float(chosen.sum())
    mentee_load = np.bincount(pairs[:, 0], minlength=n)
    mentor_load = np.bincount(pairs[:, 1], minlength=m)
    matched = mentee_load > 0
    wanting = demand > 0

    unmatched: dict[int, str] = {}
    lonely = np.flatnonzero(wanting & ~matched)
    if lonely.size:
        ok = np.ones((lonely.size, m), dtype=bool) if allowed is None else allowed[lonely]
        feasible_any = np.asarray((ok & (capacity > 0)[None, :]).any(axis=1))
        for i, has in zip(lonely.tolist(), feasible_any.tolist(), strict=True):
            unmatched[i] = UNMATCHED_ALL_FULL if has else UNMATCHED_NO_FEASIBLE

    # Stability: worst current partner's score on each side (0 when a place is free:
    # an empty place prefers any positive score).
    pair_s = scores[pairs[:, 0], pairs[:, 1]].astype(np.float64) if len(pairs) else np.zeros(0)
    mentee_floor = np.full(n, np.inf)
    np.minimum.at(mentee_floor, pairs[:, 0], pair_s)
    mentee_floor = np.where(mentee_load < demand, 0.0, mentee_floor)
    mentor_floor = np.full(m, np.inf)
    np.minimum.at(mentor_floor, pairs[:, 1], pair_s)
    mentor_floor = np.where(mentor_load < capacity, 0.0, mentor_floor)
    blocking = _count_blocking(scores, allowed, pairs, mentee_floor, mentor_floor)

    loads, counts = np.unique(mentor_load, return_counts=True)
    groups_out: dict[int, GroupReport] = {}
    if groups is not None:
        groups = np.asarray(groups, dtype=np.int64)
        if groups.shape != (n,):
            raise AssignmentError("groups must be an int array of shape (n_mentees,)")
        pair_group = groups[pairs[:, 0]] if len(pairs) else np.zeros(0, dtype=np.int64)
        for g in np.unique(groups).tolist():
            members = groups == g
            sel = pair_group == g
            groups_out[int(g)] = GroupReport(
                mentees=int(members.sum()),
                matched=int((members & matched).sum()),
                coverage=float((members & matched).sum() / max(int((members & wanting).sum()), 1)),
                mean_score=float(chosen[sel].mean()) if sel.any() else 0.0,
            )
    return AssignmentReport(
        total_score=total,
        mean_score=float(chosen.mean()) if chosen.size else 0.0,
        pairs=len(pairs),
        matched_mentees=int(matched.sum()),
        coverage=float(matched.sum() / max(int(wanting.sum()), 1)),
        unmatched=unmatched,
        blocking_pairs=blocking,
        mentor_load=mentor_load,
        load_distribution={int(a): int(b) for a, b in zip(loads, counts, strict=True)},
        mentor_utilisation=float(mentor_load.sum() / max(int(capacity.sum()), 1)),
        groups=groups_out,
    )
