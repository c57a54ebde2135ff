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

1. a sparse graph of each mentee's best few mentors;
2. an exact max-weight matching on it: scipy's LAPJVsp
   (``min_weight_full_bipartite_matching``), mentors expanded into capacity slots;
3. dual prices certifying that matching on the sparse graph (Bellman-Ford on the
   complementary-slackness difference constraints), then ONE dense pass over all
   allowed pairs finds every mentee's and mentor's largest reduced cost;
4. if none is positive the matching is optimal for the full dense problem (the
   prices are a feasible dual of equal value). Otherwise the positive reduced costs
   bound what any better solution can gain, ``gap``, and every pair of an optimal
   solution has reduced cost >= -gap: when that set is small it is added whole and
   one more solve is exact; else the most violated pair of each mentee and mentor
   is added, and steps 2-4 repeat.

Only step 4's check decides optimality; the choices in steps 1 and 4 affect speed,
never the result. ``Assignment.max_violation`` reports the certificate's largest
reduced cost (<= 1e-9).

General path (some mentee wants several mentors, or mentor teams): the same LP
solved by HiGHS (``scipy.optimize.linprog``), whose vertex solutions are integral.

``objective="coverage"`` maximises the number of mentees matched, then the score,
by adding a bonus larger than any achievable score total to a mentee's first pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

OBJECTIVES = ("score", "coverage")
UNMATCHED_NO_FEASIBLE = "no feasible mentor"
UNMATCHED_ALL_FULL = "all feasible mentors full"

# Reduced costs above this (in score units) count as violations of the certificate.
DUAL_TOLERANCE = 1e-9
_ROW_CHUNK = 256
# Initial sparse graph: each mentee's best mentors.
FIRST_CANDIDATES = 3
# Initial pairs within this reduced cost of tight under the guessed prices.
NEAR_TIGHT = 0.05
# Rows per block when taking each mentor's best mentee per block.
COLUMN_BLOCK = 1024
# Certifying prices used for pricing: 0 = least, 1 = greatest (see _cs_prices).
PRICE_MIX = 1.0


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
    if allowed is None:
        finite = np.isfinite(scores).all()
    else:
        finite = (
            bool(np.isfinite(scores[allowed]).all())
            if n * m <= 4_000_000
            else all(
                np.isfinite(scores[s : s + 1024][allowed[s : s + 1024]]).all()
                for s in range(0, n, 1024)
            )
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
    (mentee, mentor, slot). "coverage" maximises the number of filled (mentee, slot)
    places, then the score. ``Assignment.slots`` gives each pair's slot.
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
        x = _highs(-vw, sp.vstack(blocks).tocsc(), rhs)
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


@dataclass
class _Scan:
    """Per-row and per-column most positive reduced costs of one dense pass."""

    max_violation: float  # exact largest reduced cost found (<= tolerance means certified)
    row_gain: float  # upper bound of sum_i max(0, max_j rc_ij)
    col_gain: np.ndarray  # (m,) upper bound of max(0, max_i rc_ij)
    row_pairs: tuple[np.ndarray, np.ndarray]  # violating (row, col) per row, exact rc > tolerance
    col_pairs: tuple[np.ndarray, np.ndarray]  # violating (row, col) per column


class _Dense:
    """Row-chunked passes over the masked score matrix (float32 screen, float64 check).

    ``work`` is a float32 copy with forbidden pairs at -inf: one extra matrix (400 MB
    at 20,000 x 5,000) buys mask-free passes of a few tens of milliseconds each.
    Every decision is re-checked in float64 against the caller's scores, with a
    screening margin that covers float32 rounding.
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
        work = np.empty((n_r, m), dtype=np.float32)
        all_rows = n_r == scores.shape[0]
        not_ok = np.empty((min(1024, n_r), m), dtype=bool)
        for s in range(0, n_r, 1024):
            sub = slice(s, s + 1024) if all_rows else rows[s : s + 1024]
            part = work[s : s + 1024]
            part[...] = scores[sub]
            if allowed is not None:
                flag = not_ok[: part.shape[0]]
                np.logical_not(allowed[sub], out=flag)
                np.copyto(part, -np.inf, where=flag)
            if not cols_ok.all():
                part[:, ~cols_ok] = -np.inf
        if len(forbid):
            pos = np.full(scores.shape[0], -1, dtype=np.int64)
            pos[rows] = np.arange(n_r)
            keep = pos[forbid[:, 0]] >= 0
            work[pos[forbid[keep, 0]], forbid[keep, 1]] = -np.inf
        self.work = work
        self.top = float(np.abs(scores).max()) if scores.size else 0.0

    def exact(self, r: np.ndarray, j: np.ndarray) -> np.ndarray:
        return self.scores[self.rows[r], j].astype(np.float64)

    def _margin(self, a: np.ndarray, v: np.ndarray) -> float:
        scale = (
            self.top
            + float(np.max(np.abs(a), initial=0.0))
            + float(np.max(np.abs(v), initial=0.0))
            + 1.0
        )
        return 8.0 * scale * float(np.finfo(np.float32).eps)

    def row_max(self, v: np.ndarray) -> np.ndarray:
        """max_j (s_rj - v_j) per row, float32 precision (-inf for a row with no pair)."""
        v32 = v.astype(np.float32)
        out = np.empty(self.work.shape[0])
        tmp = np.empty((_ROW_CHUNK, self.work.shape[1]), dtype=np.float32)
        for s in range(0, self.work.shape[0], _ROW_CHUNK):
            part = self.work[s : s + _ROW_CHUNK]
            t = tmp[: part.shape[0]]
            np.subtract(part, v32, out=t)
            out[s : s + _ROW_CHUNK] = t.max(axis=1)
        return out

    def scan(self, a: np.ndarray, v: np.ndarray) -> _Scan:
        """Largest reduced cost s_rj - a_r - v_j of every row and every column."""
        n_r, m = self.work.shape
        a32, v32 = a.astype(np.float32), v.astype(np.float32)
        margin = self._margin(a, v)
        row_best = np.empty(n_r, dtype=np.float32)
        row_arg = np.empty(n_r, dtype=np.int64)
        col_best = np.full(m, -np.inf, dtype=np.float32)
        col_arg = np.zeros(m, dtype=np.int64)
        tmp = np.empty((_ROW_CHUNK, m), dtype=np.float32)
        for s in range(0, n_r, _ROW_CHUNK):
            part = self.work[s : s + _ROW_CHUNK]
            t = tmp[: part.shape[0]]
            np.subtract(part, v32, out=t)
            t -= a32[s : s + _ROW_CHUNK, None]
            arg = t.argmax(axis=1)
            row_arg[s : s + _ROW_CHUNK] = arg
            row_best[s : s + _ROW_CHUNK] = t[np.arange(t.shape[0]), arg]
            carg = t.argmax(axis=0)
            cbest = t[carg, np.arange(m)]
            better = cbest > col_best
            col_best[better] = cbest[better]
            col_arg[better] = carg[better] + s
        # Exact reduced costs of the screened maxima decide which pairs violate.
        rr = np.arange(n_r)
        rc_row = self.exact(rr, row_arg) - a - v[row_arg]
        rc_col = self.exact(col_arg, np.arange(m)) - a[col_arg] - v
        # A row or column with no allowed pair has only -inf entries: nothing to price.
        rc_row = np.where(np.isfinite(row_best), rc_row, -np.inf)
        rc_col = np.where(np.isfinite(col_best), rc_col, -np.inf)
        row_v = rc_row > DUAL_TOLERANCE
        col_v = rc_col > DUAL_TOLERANCE
        worst = max(float(rc_row.max(initial=-np.inf)), float(rc_col.max(initial=-np.inf)))
        if worst <= DUAL_TOLERANCE and np.any(row_best > DUAL_TOLERANCE - margin):
            # float32 cannot certify these rows: re-check them entry by entry.
            doubt = np.flatnonzero(row_best > DUAL_TOLERANCE - margin)
            found = self.sweep(a, v, DUAL_TOLERANCE, rows=doubt)
            if found is not None and found[0].size:
                worst = float(found[2].max())
                return _Scan(
                    worst,
                    float(np.sum(np.maximum(row_best + margin, 0.0))),
                    np.maximum(col_best + margin, 0.0).astype(np.float64),
                    (found[0], found[1]),
                    (found[0][:0], found[1][:0]),
                )
        return _Scan(
            max_violation=worst,
            row_gain=float(np.sum(np.maximum(row_best.astype(np.float64) + margin, 0.0))),
            col_gain=np.maximum(
                np.where(np.isfinite(col_best), col_best, -np.inf).astype(np.float64) + margin, 0.0
            ),
            row_pairs=(rr[row_v], row_arg[row_v]),
            col_pairs=(col_arg[col_v], np.arange(m)[col_v]),
        )

    def sweep(
        self,
        a: np.ndarray,
        v: np.ndarray,
        threshold: float,
        limit: int | None = None,
        rows: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Every allowed (r, j) with s_rj - a_r - v_j > threshold and its exact reduced cost.

        Returns None as soon as more than ``limit`` pairs pass the float32 screen.
        """
        m = self.work.shape[1]
        a32, v32 = a.astype(np.float32), v.astype(np.float32)
        margin = self._margin(a, v)
        order = np.arange(self.work.shape[0]) if rows is None else rows
        tmp = np.empty((_ROW_CHUNK, m), dtype=np.float32)
        hit = np.empty((_ROW_CHUNK, m), dtype=bool)
        out_r, out_j = [], []
        count = 0
        contiguous = rows is None
        for s in range(0, order.size, _ROW_CHUNK):
            idx = order[s : s + _ROW_CHUNK]
            part = self.work[s : s + _ROW_CHUNK] if contiguous else self.work[idx]
            t, h = tmp[: part.shape[0]], hit[: part.shape[0]]
            np.subtract(part, v32, out=t)
            t -= a32[idx, None]
            np.greater(t, threshold - margin, out=h)
            r, j = np.nonzero(h)
            count += r.size
            if limit is not None and count > limit:
                return None
            out_r.append(idx[r])
            out_j.append(j)
        r = np.concatenate(out_r) if out_r else np.zeros(0, dtype=np.int64)
        j = np.concatenate(out_j) if out_j else np.zeros(0, dtype=np.int64)
        rc = self.exact(r, j) - a[r] - v[j]
        keep = rc > threshold
        return r[keep], j[keep], rc[keep]


def _row_top_k(work: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(cand, val): the k best columns of each row of ``work`` (val -inf when missing)."""
    n_r, m = work.shape
    k = min(k, m)
    cand = np.empty((n_r, k), dtype=np.int64)
    for s in range(0, n_r, 1024):
        part = work[s : s + 1024]
        cand[s : s + 1024] = np.argpartition(part, m - k, axis=1)[:, m - k :]
    val = np.take_along_axis(work, cand, axis=1).astype(np.float64)
    return cand, val


def _solve_matching(
    ri: np.ndarray, cj: np.ndarray, w: np.ndarray, n_r: int, cap: np.ndarray
) -> np.ndarray:
    """Exact max-weight matching on a sparse graph: mentor of each row (-1 = none).

    Mentors are expanded into capacity slots, and every slot gets a private dummy
    row of weight 0, so a full matching (what LAPJVsp needs) always exists and
    "leave the slot empty" is an option. Costs are shifted to stay positive
    (LAPJVsp reserves explicit zeros), which does not change the optimum because
    every full matching has exactly one edge per slot.
    """
    m = cap.size
    n_slots = int(cap.sum())
    start = np.concatenate([[0], np.cumsum(cap)[:-1]]).astype(np.int64)
    slot_mentor = np.repeat(np.arange(m), cap)
    reps = cap[cj]
    keep = reps > 0
    ri, cj, w, reps = ri[keep], cj[keep], w[keep], reps[keep]
    total = int(reps.sum())
    er = np.repeat(ri, reps)
    offset = np.arange(total) - np.repeat(np.cumsum(reps) - reps, reps)
    ec = np.repeat(start[cj], reps) + offset
    shift = float(np.max(w, initial=0.0)) + 1.0
    cost = shift - np.repeat(w, reps)
    rows = np.concatenate([er, n_r + np.arange(n_slots)])
    cols = np.concatenate([ec, np.arange(n_slots)])
    data = np.concatenate([cost, np.full(n_slots, shift)])
    graph = sp.csr_matrix((data, (rows, cols)), shape=(n_r + n_slots, n_slots))
    r, c = min_weight_full_bipartite_matching(graph)
    real = r < n_r
    match = np.full(n_r, -1, dtype=np.int64)
    match[r[real]] = slot_mentor[c[real]]
    return match


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
    graph; which one is returned (``PRICE_MIX`` between least and greatest) only
    changes how many pairs outside it look violated. With more mentees than places
    the true prices sit near the top (mentees keep little surplus), so the greatest
    prices leave the fewest false alarms.
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


def _initial_graph(dense: _Dense, beta: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Keys (row * m + col) of a sparse graph likely to hold an optimal matching.

    Three cheap sources (speed only; the certificate decides): each mentee's few
    best mentors; pairs nearly tight under guessed prices, where a mentor's price is
    guessed as its best score among the mentees most likely to stay unmatched
    (the weakest ones, when mentees outnumber places); and, for every mentor, its
    best mentee in each block of rows, so that no mentor is left out.
    """
    work = dense.work
    n_r, m = work.shape
    cand, val = _row_top_k(work, FIRST_CANDIDATES)
    finite = np.isfinite(val)
    parts = [
        np.repeat(np.arange(n_r), cand.shape[1])[finite.ravel()] * m + cand.ravel()[finite.ravel()]
    ]
    spare = n_r - int(cap.sum())
    if spare > 0:
        strength = np.where(finite, val, 0.0).mean(axis=1)
        weakest = np.argsort(strength, kind="stable")[:spare]
        guess = np.zeros(m, dtype=np.float32)
        for s in range(0, weakest.size, 1024):
            np.maximum(guess, work[np.sort(weakest[s : s + 1024])].max(axis=0), out=guess)
        prices = guess.astype(np.float64) + float(beta.max(initial=0.0))
        best = dense.row_max(prices) + beta
        found = dense.sweep(np.maximum(best, 0.0) - beta, prices, -NEAR_TIGHT, limit=8 * n_r)
        if found is not None:
            parts.append(found[0] * m + found[1])
    cols = np.arange(m)
    for s in range(0, n_r, COLUMN_BLOCK):
        block = work[s : s + COLUMN_BLOCK]
        arg = block.argmax(axis=0)
        ok = np.isfinite(block[arg, cols])
        parts.append((arg[ok] + s) * m + cols[ok])
    return np.unique(np.concatenate(parts))


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
    when no reduced cost is positive. While some are, let ``gap`` bound what the missing
    pairs can still gain (the sum over mentees of their largest positive reduced
    cost, or over mentors of capacity x largest): every pair of the true optimum
    has reduced cost >= -gap, so adding all such pairs and solving once more is
    exact. When that set would be too large, add each row's and column's most
    violated pair instead and repeat.
    """
    m = scores.shape[1]
    rows = np.flatnonzero(dem > 0)
    dense = _Dense(scores, allowed, rows, cap > 0, forbid)
    beta = bonus[rows]
    n_r = rows.size

    keys = _initial_graph(dense, beta, cap)
    match: np.ndarray | None = None
    v: np.ndarray | None = None
    violation = 0.0
    while True:
        ri, cj = keys // m, keys % m
        w = dense.exact(ri, cj) + beta[ri]
        if match is not None:
            v = _cs_prices(ri, cj, w, match, cap)
        if match is None or v is None:
            match = _solve_matching(ri, cj, w, n_r, cap)
            v = _cs_prices(ri, cj, w, match, cap)
            if v is None:  # pragma: no cover - an optimal matching always has prices
                raise AssignmentError("internal error: no dual prices for an optimal matching")
        u = np.zeros(n_r)
        on = match >= 0
        u[on] = dense.exact(np.flatnonzero(on), match[on]) + beta[on] - v[match[on]]
        scan = dense.scan(u - beta, v)
        violation = scan.max_violation
        if violation <= DUAL_TOLERANCE:
            break
        gap = min(scan.row_gain, float(np.sum(cap * scan.col_gain)))
        found = dense.sweep(
            u - beta, v, -(gap + 10 * DUAL_TOLERANCE), limit=max(4 * keys.size, 200_000)
        )
        if found is not None:
            extra = found[0] * m + found[1]
        else:
            extra = np.concatenate(
                [
                    scan.row_pairs[0] * m + scan.row_pairs[1],
                    scan.col_pairs[0] * m + scan.col_pairs[1],
                ]
            )
        grown = np.union1d(keys, extra)
        # Violated pairs are never in the graph already (it satisfies its own
        # prices), so each round grows it and the loop ends.
        if grown.size == keys.size:  # pragma: no cover
            raise AssignmentError("internal error: the certificate found no new pair to add")
        keys = grown
    picked = np.flatnonzero(match >= 0)
    return np.column_stack([rows[picked], match[picked]]).astype(np.int64), max(violation, 0.0)


# ---------------------------------------------------------------------------
# Reports


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
    blocking = 0
    for s in range(0, n, 1024):
        part = scores[s : s + 1024].astype(np.float64)
        block = (part > mentee_floor[s : s + 1024, None]) & (part > mentor_floor[None, :])
        if allowed is not None:
            block &= allowed[s : s + 1024]
        sel = (pairs[:, 0] >= s) & (pairs[:, 0] < s + 1024)
        block[pairs[sel, 0] - s, pairs[sel, 1]] = False
        blocking += int(block.sum())

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
