"""Why a mentor fits a mentee: per-factor contributions and plain-language reasons.

Contributions are the partial dot products of the factored score (see
:mod:`matching.engine.scoring`), so they sum exactly to the pair's score. Reasons are
written for the mentee. They never name a sensitive attribute of anyone: the
concordance factor only ever says "Matches a preference you set".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from matching.engine.features import MEETING_MODES, MENTOR_STYLES, Encoded
from matching.engine.scoring import (
    EXCLUSION_TEXT,
    FACTORS,
    SPECIALTY_FAMILY,
    SPECIALTY_RELATED,
    SPECIALTY_SAME,
    Rules,
    ScoreModel,
    exclusion_rules,
    interest_idf,
    timezone_overlap,
)

MAX_REASONS = 4
MIN_REASONS = 2
# A factor must reach this value to be offered as a reason; weaker fits are not "why".
REASON_MIN_VALUE = 0.5
CONCORDANCE_REASON = "Matches a preference you set"


@dataclass(frozen=True)
class Explanation:
    """Score breakdown for one (mentee, mentor) pair.

    ``contributions`` has every factor (0.0 when not counted) and sums to ``score``;
    ``values`` holds the factor value in [0, 1], or None when the factor does not
    count for this mentee. ``excluded_by`` lists plain-language hard rules the pair
    breaks; ``rules_broken`` the matching keys of ``EXCLUSION_TEXT``.
    """

    mentee: int
    mentor: int
    score: float
    contributions: dict[str, float]
    values: dict[str, float | None]
    reasons: list[str]
    feasible: bool
    excluded_by: list[str] = field(default_factory=list)
    rules_broken: list[str] = field(default_factory=list)


def explain(model: ScoreModel, mentee: int, mentor: int, rules: Rules | None = None) -> Explanation:
    """Contributions, 2-4 ranked reasons and, if excluded, the rules that exclude the pair."""
    a, b = model.A[mentee], model.B[mentor]
    contributions: dict[str, float] = {}
    values: dict[str, float | None] = {}
    for f, name in enumerate(FACTORS):
        sl = model.slices.get(name)
        part = float(a[sl] @ b[sl]) if sl is not None else 0.0
        contributions[name] = part
        share = float(model.share[mentee, f])
        values[name] = part / share if share > 0 and sl is not None else None
    score = float(sum(contributions.values()))
    broken = exclusion_rules(model.encoded, mentee, mentor, rules)
    return Explanation(
        mentee=mentee,
        mentor=mentor,
        score=score,
        contributions=contributions,
        values=values,
        reasons=reasons_for(model.encoded, mentee, mentor, contributions, values),
        feasible=not broken,
        excluded_by=[EXCLUSION_TEXT[key] for key in broken],
        rules_broken=broken,
    )


def reasons_for(
    enc: Encoded,
    mentee: int,
    mentor: int,
    contributions: dict[str, float],
    values: dict[str, float | None],
) -> list[str]:
    """Up to 4 reasons, strongest contribution first (ties in factor order)."""
    ranked = sorted(
        (name for name in FACTORS if contributions[name] > 0 and values[name] is not None),
        key=lambda name: (-contributions[name], FACTORS.index(name)),
    )
    strong: list[str] = []
    weak: list[str] = []
    for name in ranked:
        text = _REASONS[name](enc, mentee, mentor, float(values[name] or 0.0))
        if text is None:
            continue
        (strong if (values[name] or 0.0) >= REASON_MIN_VALUE else weak).append(text)
    # Prefer strong reasons; pad with weaker ones only to reach the minimum.
    out = strong[:MAX_REASONS]
    if len(out) < MIN_REASONS:
        out += weak[: MIN_REASONS - len(out)]
    return out


def _names(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _specialty(enc: Encoded, i: int, j: int, value: float) -> str | None:
    tax = enc.taxonomy
    wanted = np.flatnonzero(enc.mentees.specialties[i])
    practice = np.flatnonzero(enc.mentors.specialties[j])
    if wanted.size == 0 or practice.size == 0:
        return None
    related = tax.related_matrix()
    family = np.asarray(tax.specialty_family)
    best: tuple[float, int, int] | None = None
    for s in practice:  # a handful of specialties each: tiny, reason text only
        for w in wanted:
            if s == w:
                level = SPECIALTY_SAME
            elif related[w, s]:
                level = SPECIALTY_RELATED
            elif family[w] == family[s]:
                level = SPECIALTY_FAMILY
            else:
                continue
            if best is None or level > best[0]:
                best = (level, int(w), int(s))
    if best is None:
        return None
    level, want, have = best
    names = tax.specialty_names
    if level == SPECIALTY_SAME:
        return f"Both in {names[have]}"
    if level == SPECIALTY_RELATED:
        return f"Works in {names[have]}, closely related to {names[want]}"
    family_name = tax.family_names[int(family[have])]
    return f"Works in {names[have]}, in the same family ({family_name}) as {names[want]}"


def _stage(enc: Encoded, i: int, j: int, value: float) -> str | None:
    label = enc.taxonomy.stage_labels[int(enc.mentors.stage[j])]
    wish = int(enc.mentees.stage_wish[i])
    if value >= 1.0:
        return f"{label}: a near-peer, as you asked" if wish == 1 else f"{label}, as you asked"
    return f"{label}, close to the mentor stage you asked for"


def _interests(enc: Encoded, i: int, j: int, value: float) -> str | None:
    shared = np.flatnonzero(enc.mentees.interests[i] & enc.mentors.interests[j])
    if shared.size == 0:
        return None
    idf = interest_idf(enc.mentors.interests)
    # Rarest shared interest first: it is the most telling one.
    shared = shared[np.lexsort((shared, -idf[shared]))]
    first = enc.taxonomy.interest_names[shared[0]]
    more = f" and {shared.size - 1} more" if shared.size > 1 else ""
    return f"Shares your interest in {first}{more}"


def _goals(enc: Encoded, i: int, j: int, value: float) -> str | None:
    prio = enc.mentees.goals[i] * enc.mentors.strengths[j]
    goals = np.flatnonzero(prio)
    if goals.size == 0:
        return None
    goals = goals[np.lexsort((goals, -prio[goals]))][:2]
    return "Can help with " + _names([enc.taxonomy.goal_names[int(g)] for g in goals])


def _concordance(enc: Encoded, i: int, j: int, value: float) -> str | None:
    return CONCORDANCE_REASON


def _language(enc: Encoded, i: int, j: int, value: float) -> str | None:
    shared = np.flatnonzero(enc.mentees.languages[i] & enc.mentors.languages[j])
    if shared.size == 0:
        return None
    names = enc.taxonomy.language_names
    return (
        "Speaks "
        + _names([names.get(enc.languages[k], enc.languages[k]) for k in shared[:2]])
        + " with you"
    )


def _meeting(enc: Encoded, i: int, j: int, value: float) -> str | None:
    e, r = enc.mentees, enc.mentors
    if (
        e.modes[i, 0]
        and r.modes[j, 0]
        and e.institution[i] >= 0
        and e.institution[i] == r.institution[j]
    ):
        return "Can meet in person at your institution"
    remote = [MEETING_MODES[k] for k in (1, 2) if e.modes[i, k] and r.modes[j, k]]
    if not remote:
        return None
    return "Can meet by " + " or ".join(remote)


def _timezone(enc: Encoded, i: int, j: int, value: float) -> str | None:
    a, b = enc.mentees.timezone[i], enc.mentors.timezone[j]
    if np.isnan(a) or np.isnan(b):
        return None
    if timezone_overlap(np.array([a]), np.array([b]))[0] >= 1.0:
        return "Same time zone as you"
    diff = abs(a - b) % 24.0
    diff = min(diff, 24.0 - diff)
    return f"Time zones only {diff:g} h apart"


def _institution(enc: Encoded, i: int, j: int, value: float) -> str | None:
    if value <= 0:
        return None
    if enc.mentees.institution_pref[i] == 1:
        return "At your institution, as you prefer"
    return "At another institution, as you prefer"


def _availability(enc: Encoded, i: int, j: int, value: float) -> str | None:
    left = int(enc.mentors.remaining[j])
    if left <= 0:
        return None
    return f"Has time for {left} more mentee{'s' if left != 1 else ''}"


def _mentor_preference(enc: Encoded, i: int, j: int, value: float) -> str | None:
    # Only a stated preference is a reason; "welcomes everyone" says nothing about you.
    if not enc.mentors.preferred_stages[j].any() or value <= 0:
        return None
    return "Welcomes mentees at your stage"


def _style(enc: Encoded, i: int, j: int, value: float) -> str | None:
    style = MENTOR_STYLES[int(enc.mentors.style[j])]
    if value >= 1.0:
        return f"{style.capitalize()} mentoring style, as you asked"
    return "Flexible mentoring style" if style == "either" else None


_REASONS: dict[str, Callable[[Encoded, int, int, float], str | None]] = {
    "specialty": _specialty,
    "stage": _stage,
    "interests": _interests,
    "goals": _goals,
    "concordance": _concordance,
    "language": _language,
    "meeting": _meeting,
    "timezone": _timezone,
    "institution": _institution,
    "availability": _availability,
    "mentor_preference": _mentor_preference,
    "style": _style,
}
