"""A believable demo school, generated deterministically (fixed seed) and idempotently.

Used by ``manage.py seed_demo`` and by tests that need a realistic population.
Names, stages and preferences are invented; proportions follow PRODUCT.md (e.g.
the wish for wellness mentoring rising from ~12% of MS1 to ~52% of MS4, and
concordance mattering far more to some groups than to others).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps as django_apps
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from .choices import (
    Ethnicity,
    Gender,
    Goal,
    InstitutionPreference,
    MentoringStyle,
    MentorStagePreference,
    Offer,
    Role,
    Stage,
)
from .models import (
    ConflictOfInterest,
    Demographics,
    Institution,
    Interest,
    Language,
    Profile,
    Specialty,
    User,
)
from .taxonomy import sync_taxonomy

DEMO_PASSWORD = "mentor-demo-2026"  # noqa: S105 - documented demo credential

FIRST_NAMES = {
    Gender.WOMAN: [
        "Aisha",
        "Maria",
        "Emily",
        "Priya",
        "Grace",
        "Sofia",
        "Hannah",
        "Mei",
        "Fatima",
        "Olivia",
        "Amara",
        "Chloe",
        "Lucia",
        "Nadia",
        "Sarah",
        "Yuki",
        "Zainab",
        "Isabel",
        "Ngozi",
        "Leah",
        "Ana",
        "Ji-woo",
        "Camila",
        "Rachel",
        "Imani",
        "Elena",
        "Anjali",
        "Tiana",
        "Laila",
        "Ruth",
    ],
    Gender.MAN: [
        "James",
        "Omar",
        "Daniel",
        "Wei",
        "Carlos",
        "Samuel",
        "Arjun",
        "Kwame",
        "Lucas",
        "Ethan",
        "Mateo",
        "David",
        "Hiroshi",
        "Ibrahim",
        "Noah",
        "Tomas",
        "Jamal",
        "Raj",
        "Michael",
        "Ali",
        "Diego",
        "Benjamin",
        "Minh",
        "Tyler",
        "Kofi",
        "Andre",
        "Javier",
        "Nathan",
        "Yusuf",
        "Paul",
    ],
    Gender.NON_BINARY: ["Alex", "Jordan", "Riley", "Sam", "Quinn", "Avery", "Rowan", "Kai"],
}
LAST_NAMES = {
    Ethnicity.WHITE: [
        "Miller",
        "Johnson",
        "Anderson",
        "Kowalski",
        "Murphy",
        "Schmidt",
        "Bennett",
        "Carter",
        "Hughes",
        "Larsen",
        "Novak",
        "Walsh",
        "Fischer",
        "Reed",
    ],
    Ethnicity.ASIAN: [
        "Chen",
        "Patel",
        "Nguyen",
        "Kim",
        "Wang",
        "Sharma",
        "Tanaka",
        "Park",
        "Reyes",
        "Li",
        "Gupta",
        "Tran",
        "Choi",
        "Iyer",
    ],
    Ethnicity.BLACK: [
        "Okafor",
        "Washington",
        "Mensah",
        "Jackson",
        "Adeyemi",
        "Robinson",
        "Haile",
        "Brooks",
        "Diallo",
        "Coleman",
    ],
    Ethnicity.HISPANIC: [
        "Garcia",
        "Rodriguez",
        "Martinez",
        "Hernandez",
        "Lopez",
        "Flores",
        "Morales",
        "Ortiz",
        "Castillo",
        "Vargas",
    ],
    Ethnicity.MIDDLE_EASTERN: ["Haddad", "Khalil", "Nasser", "Farah", "Rahimi", "Saleh"],
    Ethnicity.AMERICAN_INDIAN: ["Begay", "Yazzie", "Tsosie", "Redcloud"],
    Ethnicity.PACIFIC_ISLANDER: ["Kahale", "Fonoti", "Keawe"],
}
# Roughly the make-up of US medical school classes.
ETHNICITY_WEIGHTS = {
    Ethnicity.WHITE: 45,
    Ethnicity.ASIAN: 24,
    Ethnicity.HISPANIC: 12,
    Ethnicity.BLACK: 10,
    Ethnicity.MIDDLE_EASTERN: 5,
    Ethnicity.AMERICAN_INDIAN: 2,
    Ethnicity.PACIFIC_ISLANDER: 2,
}
# Share of each group who opt in to a same-ethnicity mentor preference.
ETHNICITY_OPT_IN = {
    Ethnicity.BLACK: 0.58,
    Ethnicity.HISPANIC: 0.35,
    Ethnicity.AMERICAN_INDIAN: 0.45,
    Ethnicity.PACIFIC_ISLANDER: 0.4,
    Ethnicity.MIDDLE_EASTERN: 0.2,
    Ethnicity.ASIAN: 0.1,
    Ethnicity.WHITE: 0.03,
}
GENDER_OPT_IN = {Gender.WOMAN: 0.25, Gender.MAN: 0.04, Gender.NON_BINARY: 0.4}
EXTRA_LANGUAGES = {
    Ethnicity.HISPANIC: ["es"],
    Ethnicity.ASIAN: ["zh", "hi", "vi", "ko", "tl", "ur", "bn", "yue"],
    Ethnicity.BLACK: ["fr", "yo", "am", "ht"],
    Ethnicity.MIDDLE_EASTERN: ["ar", "fa"],
    Ethnicity.WHITE: ["es", "fr", "de", "pl", "ru", "pt"],
}

POPULAR_STUDENT_SPECIALTIES = [
    ("internal-medicine", 12),
    ("general-surgery", 8),
    ("orthopaedic-surgery", 7),
    ("emergency-medicine", 8),
    ("paediatrics", 8),
    ("psychiatry", 6),
    ("family-medicine", 5),
    ("obstetrics-gynaecology", 5),
    ("anaesthesiology", 5),
    ("diagnostic-radiology", 4),
    ("dermatology", 4),
    ("neurology", 4),
    ("cardiology", 5),
    ("neurosurgery", 2),
    ("otolaryngology", 2),
    ("plastic-surgery", 3),
    ("ophthalmology", 2),
    ("urology", 2),
    ("haematology-oncology", 3),
    ("sports-medicine", 2),
    ("orthopaedic-trauma", 1),
    ("physical-medicine-rehabilitation", 1),
    ("pathology", 1),
    ("gastroenterology", 2),
    ("radiation-oncology", 1),
    ("child-adolescent-psychiatry", 1),
    ("critical-care-medicine", 1),
    ("infectious-disease", 1),
    ("preventive-medicine", 1),
]
HOSPITAL_SPECIALTIES = [
    ("internal-medicine", 12),
    ("general-surgery", 6),
    ("orthopaedic-surgery", 5),
    ("emergency-medicine", 6),
    ("paediatrics", 6),
    ("psychiatry", 5),
    ("family-medicine", 5),
    ("obstetrics-gynaecology", 4),
    ("anaesthesiology", 5),
    ("diagnostic-radiology", 3),
    ("dermatology", 2),
    ("neurology", 3),
    ("cardiology", 4),
    ("neurosurgery", 2),
    ("otolaryngology", 2),
    ("plastic-surgery", 2),
    ("ophthalmology", 2),
    ("urology", 2),
    ("haematology-oncology", 3),
    ("sports-medicine", 2),
    ("orthopaedic-trauma", 2),
    ("physical-medicine-rehabilitation", 2),
    ("pathology", 2),
    ("gastroenterology", 2),
    ("nephrology", 1),
    ("pulmonology-critical-care", 2),
    ("endocrinology", 1),
    ("infectious-disease", 2),
    ("rheumatology", 1),
    ("geriatric-medicine", 1),
    ("neonatology", 1),
    ("paediatric-cardiology", 1),
    ("maternal-fetal-medicine", 1),
    ("critical-care-medicine", 1),
    ("interventional-radiology", 1),
    ("radiation-oncology", 1),
    ("vascular-surgery", 1),
    ("cardiothoracic-surgery", 1),
    ("colorectal-surgery", 1),
    ("trauma-acute-care-surgery", 1),
    ("hand-surgery", 1),
    ("palliative-care", 1),
    ("addiction-medicine", 1),
    ("child-adolescent-psychiatry", 1),
    ("pain-medicine", 1),
]
SPECIALTY_INTERESTS = {
    "orthopaedic-surgery": ["sports-medicine-research", "surgical-innovation"],
    "sports-medicine": ["sports-medicine-research"],
    "cardiology": ["cardiovascular-research", "clinical-trials"],
    "haematology-oncology": ["cancer-research", "clinical-trials"],
    "radiation-oncology": ["cancer-research"],
    "neurology": ["neuroscience"],
    "neurosurgery": ["neuroscience", "surgical-innovation"],
    "psychiatry": ["addiction-research", "wellness-burnout"],
    "obstetrics-gynaecology": ["maternal-health", "health-equity"],
    "paediatrics": ["maternal-health", "global-health"],
    "diagnostic-radiology": ["imaging-research", "ai-in-medicine"],
    "emergency-medicine": ["quality-improvement", "global-health"],
    "family-medicine": ["rural-health", "health-equity"],
    "general-surgery": ["outcomes-research", "surgical-innovation"],
    "internal-medicine": ["health-services-research", "medical-education"],
    "infectious-disease": ["global-health", "epidemiology"],
}
HEADLINE_FOCUS = {
    Goal.CAREER_GUIDANCE: "choosing a specialty",
    Goal.RESIDENCY_APPLICATION: "the residency application and interviews",
    Goal.RESEARCH: "getting started in research",
    Goal.CLINICAL_SKILLS: "clinical skills on the wards",
    Goal.WELLNESS: "staying well through training",
    Goal.NETWORKING: "meeting people in the field",
    Goal.WORK_LIFE: "honest talk about life in medicine",
    Goal.LETTERS: "letters of recommendation",
}


@dataclass
class Person:
    email: str
    full_name: str
    role: str
    institution: str
    stage: int | None
    gender: str
    ethnicities: list[str]
    specialties: list[str] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=lambda: ["en"])
    profile: dict[str, object] = field(default_factory=dict)
    wants_same_gender: bool = False
    wants_same_ethnicity: bool = False
    conflicts: list[tuple[str, str, int | None]] = field(default_factory=list)
    is_staff: bool = False


@dataclass(frozen=True)
class SchoolPlan:
    slug: str
    name: str
    short_name: str
    city: str
    timezone: str
    domain: str
    students: dict[int, int]  # stage -> count
    residents: int
    physicians: int


NORTHLAKE = SchoolPlan(
    slug="northlake",
    name="Northlake School of Medicine",
    short_name="Northlake",
    city="Chicago, IL",
    timezone="America/Chicago",
    domain="northlake.example",
    students={Stage.PREMED: 40, Stage.MS1: 75, Stage.MS2: 75, Stage.MS3: 65, Stage.MS4: 65},
    residents=80,
    physicians=120,
)
RIVERSIDE = SchoolPlan(
    slug="riverside",
    name="Riverside College of Medicine",
    short_name="Riverside",
    city="Sacramento, CA",
    timezone="America/Los_Angeles",
    domain="riverside.example",
    students={Stage.PREMED: 4, Stage.MS1: 8, Stage.MS2: 8, Stage.MS3: 6, Stage.MS4: 6},
    residents=10,
    physicians=14,
)

DEMO_LOGINS = [
    (
        "student@northlake.example",
        "Maya Okafor",
        "student",
        "MS2 looking for an orthopaedic mentor",
    ),
    (
        "resident@northlake.example",
        "Daniel Reyes",
        "resident",
        "PGY-2 internal medicine; mentors and is mentored",
    ),
    ("physician@northlake.example", "Helen Park", "physician", "Senior orthopaedic surgeon"),
    (
        "coordinator@northlake.example",
        "Laura Bennett",
        "coordinator",
        "Runs Northlake's mentoring program",
    ),
    (
        "coordinator@riverside.example",
        "Tom Alvarez",
        "coordinator",
        "Runs Riverside's program (isolation demo)",
    ),
    ("admin@medmentor.example", "Platform Admin", "staff", "Django admin"),
]


def _weighted(rng: random.Random, pairs: list[tuple[str, int]], k: int) -> list[str]:
    chosen: list[str] = []
    names = [name for name, _ in pairs]
    weights = [weight for _, weight in pairs]
    while len(chosen) < k:
        pick = rng.choices(names, weights)[0]
        if pick not in chosen:
            chosen.append(pick)
    return chosen


class _Namer:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def identity(self) -> tuple[str, str, list[str]]:
        rng = self.rng
        gender = rng.choices([Gender.WOMAN, Gender.MAN, Gender.NON_BINARY], [54, 44, 2])[0]
        ethnicity = rng.choices(list(ETHNICITY_WEIGHTS), list(ETHNICITY_WEIGHTS.values()))[0]
        ethnicities = [ethnicity.value]
        if rng.random() < 0.06:  # some people report more than one group
            other = rng.choice([e for e in ETHNICITY_WEIGHTS if e != ethnicity])
            ethnicities.append(other.value)
        while True:
            name = f"{rng.choice(FIRST_NAMES[gender])} {rng.choice(LAST_NAMES[ethnicity])}"
            if name not in self.used:
                self.used.add(name)
                return name, gender.value, ethnicities
            if rng.random() < 0.3:  # common names repeat in real schools too
                name = f"{name.split()[0]} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {name.split()[1]}"
                if name not in self.used:
                    self.used.add(name)
                    return name, gender.value, ethnicities


def _email(name: str, domain: str, used: set[str]) -> str:
    base = "".join(ch for ch in name.lower().replace(" ", ".") if ch.isalnum() or ch == ".")
    base = base.replace("..", ".")
    email, n = f"{base}@{domain}", 2
    while email in used:
        email, n = f"{base}{n}@{domain}", n + 1
    used.add(email)
    return email


def _languages(rng: random.Random, ethnicities: list[str]) -> list[str]:
    languages = ["en"]
    for ethnicity in ethnicities:
        extra = EXTRA_LANGUAGES.get(Ethnicity(ethnicity))
        if extra and rng.random() < (0.6 if ethnicity == Ethnicity.HISPANIC else 0.3):
            languages.append(rng.choice(extra))
    if rng.random() < 0.01:
        languages.append("ase")
    return list(dict.fromkeys(languages))


def _interests(rng: random.Random, specialties: list[str], all_interests: list[str]) -> list[str]:
    picks: list[str] = []
    for slug in specialties:
        picks.extend(SPECIALTY_INTERESTS.get(slug, [])[: rng.randint(0, 2)])
    picks.extend(rng.sample(all_interests, rng.randint(1, 3)))
    return list(dict.fromkeys(picks))[:5]


def _student_goals(rng: random.Random, stage: int) -> dict[str, int]:
    year = max(stage, 1)
    goals: dict[str, int] = {}
    if stage <= Stage.MS2:
        goals[Goal.CAREER_GUIDANCE] = rng.choice([2, 3])
    if rng.random() < 0.55:
        goals[Goal.RESEARCH] = rng.choice([1, 2, 3])
    if stage >= Stage.MS3:
        goals[Goal.RESIDENCY_APPLICATION] = 3
        if rng.random() < 0.6:
            goals[Goal.LETTERS] = rng.choice([2, 3])
    # PRODUCT.md: the need for wellness mentoring rises from ~12% (MS1) to ~52% (MS4).
    if rng.random() < 0.12 + (year - 1) * 0.133:
        goals[Goal.WELLNESS] = rng.choice([2, 3])
    for goal, chance in (
        (Goal.NETWORKING, 0.35),
        (Goal.CLINICAL_SKILLS, 0.25),
        (Goal.WORK_LIFE, 0.2),
    ):
        if rng.random() < chance:
            goals[goal] = rng.choice([1, 2])
    if not goals:
        goals[Goal.CAREER_GUIDANCE] = 2
    return {str(goal): priority for goal, priority in goals.items()}


def _bio_student(name: str, stage: int, specialty_names: list[str], goals: dict[str, int]) -> str:
    first = name.split()[0]
    who = "a pre-med student" if stage == Stage.PREMED else f"an {Stage(stage).label} student"
    if specialty_names:
        interest = f"considering {' and '.join(specialty_names[:2]).lower()}"
    else:
        interest = "still exploring specialties"
    top = max(goals, key=lambda goal: goals[goal])
    focus = HEADLINE_FOCUS[Goal(top)]
    return f"I'm {first}, {who}, {interest}. Right now I'd most value help with {focus}."


def _bio_mentor(
    role: str, stage: int, specialty_names: list[str], strengths: Sequence[str], institution: str
) -> str:
    field_name = specialty_names[0].lower() if specialty_names else "medicine"
    if role == Role.RESIDENT:
        opener = f"{Stage(stage).label} in {field_name} at {institution}."
        extra = "The Match is still fresh in my memory, so ask me anything about applications."
    else:
        title = Stage(stage).label.replace("attending", "attending physician")
        opener = f"{title} in {field_name} at {institution}."
        extra = "I've mentored students for years and enjoy helping people find their own path."
    helps = ", ".join(HEADLINE_FOCUS[Goal(s)] for s in strengths[:3])
    return f"{opener} Happy to help with {helps}. {extra}"


def build_people(seed: int = 2026) -> tuple[list[SchoolPlan], list[Person]]:
    """The whole demo population as plain data, fully determined by ``seed``."""
    rng = random.Random(seed)
    namer = _Namer(rng)
    used_emails = {email for email, *_ in DEMO_LOGINS}
    people: list[Person] = []
    all_interests = [slug for slug, *_ in __import__("accounts.taxonomy").taxonomy.INTERESTS]
    names = {slug: name for slug, name, _ in __import__("accounts.taxonomy").taxonomy.SPECIALTIES}
    schools = [NORTHLAKE, RIVERSIDE]

    for school in schools:
        for stage, count in school.students.items():
            for _ in range(count):
                full_name, gender, ethnicities = namer.identity()
                undecided = stage <= Stage.MS1 and rng.random() < 0.35
                specialties = (
                    []
                    if undecided
                    else _weighted(rng, POPULAR_STUDENT_SPECIALTIES, rng.choice([1, 1, 2, 2, 3]))
                )
                goals = _student_goals(rng, stage)
                pref = (
                    MentorStagePreference.NEAR_PEER
                    if stage <= Stage.MS2 and rng.random() < 0.5
                    else MentorStagePreference.SENIOR
                    if stage >= Stage.MS3 and rng.random() < 0.5
                    else MentorStagePreference.ANY
                )
                person = Person(
                    email=_email(full_name, school.domain, used_emails),
                    full_name=full_name,
                    role=Role.STUDENT,
                    institution=school.slug,
                    stage=stage,
                    gender=gender,
                    ethnicities=ethnicities,
                    specialties=specialties,
                    interests=_interests(rng, specialties, all_interests),
                    languages=_languages(rng, ethnicities),
                    profile={
                        "seeking_mentor": rng.random() < 0.85,
                        "goals": goals,
                        "offers": rng.sample(Offer.values, rng.randint(0, 2)),
                        "mentor_stage_preference": pref,
                        "institution_preference": rng.choices(
                            InstitutionPreference.values, [80, 15, 5]
                        )[0],
                        "style_preference": rng.choices(MentoringStyle.values, [70, 18, 12])[0],
                        "headline": (
                            f"{Stage(stage).label} · "
                            + (
                                f"interested in {names[specialties[0]].lower()}"
                                if specialties
                                else "exploring specialties"
                            )
                        ),
                        "bio": _bio_student(
                            full_name, stage, [names[s] for s in specialties], goals
                        ),
                        "meets_in_person": rng.random() < 0.7,
                        "meets_video": True,
                        "meets_phone": rng.random() < 0.3,
                    },
                )
                person.wants_same_gender = rng.random() < GENDER_OPT_IN[Gender(gender)]
                person.wants_same_ethnicity = (
                    rng.random() < ETHNICITY_OPT_IN[Ethnicity(ethnicities[0])]
                )
                people.append(person)

        for _index in range(school.residents):
            full_name, gender, ethnicities = namer.identity()
            stage = rng.choices(
                [
                    Stage.PGY1,
                    Stage.PGY2,
                    Stage.PGY3,
                    Stage.PGY4,
                    Stage.PGY5,
                    Stage.PGY6,
                    Stage.PGY7,
                    Stage.FELLOW,
                ],
                [18, 18, 17, 10, 8, 4, 3, 12],
            )[0]
            specialties = _weighted(rng, HOSPITAL_SPECIALTIES, 1)
            strengths = rng.sample(
                [
                    Goal.RESIDENCY_APPLICATION,
                    Goal.CLINICAL_SKILLS,
                    Goal.WELLNESS,
                    Goal.CAREER_GUIDANCE,
                    Goal.WORK_LIFE,
                    Goal.RESEARCH,
                ],
                rng.randint(2, 4),
            )
            seeking = rng.random() < 0.3
            people.append(
                Person(
                    email=_email(full_name, school.domain, used_emails),
                    full_name=full_name,
                    role=Role.RESIDENT,
                    institution=school.slug,
                    stage=stage,
                    gender=gender,
                    ethnicities=ethnicities,
                    specialties=specialties,
                    interests=_interests(rng, specialties, all_interests),
                    languages=_languages(rng, ethnicities),
                    profile={
                        "accepting_mentees": rng.random() < 0.75,
                        "capacity": rng.choice([1, 2, 2, 3]),
                        "hours_per_month": rng.choice([2, 2, 3, 4]),
                        "strengths": [str(s) for s in strengths],
                        "preferred_mentee_stages": sorted(
                            rng.sample([Stage.MS1, Stage.MS2, Stage.MS3, Stage.MS4], 2)
                        )
                        if rng.random() < 0.4
                        else [],
                        "mentoring_style": rng.choices(MentoringStyle.values, [60, 30, 10])[0],
                        "seeking_mentor": seeking,
                        "goals": (
                            {
                                str(Goal.RESEARCH): 3,
                                str(Goal.CAREER_GUIDANCE): 2,
                                str(Goal.LETTERS): 2,
                            }
                            if seeking
                            else {}
                        ),
                        "mentor_stage_preference": MentorStagePreference.SENIOR
                        if seeking
                        else MentorStagePreference.ANY,
                        "headline": f"{Stage(stage).label} · {names[specialties[0]]}",
                        "bio": _bio_mentor(
                            Role.RESIDENT,
                            stage,
                            [names[s] for s in specialties],
                            [str(s) for s in strengths],
                            school.short_name,
                        ),
                        "meets_in_person": rng.random() < 0.6,
                        "meets_video": True,
                        "meets_phone": rng.random() < 0.4,
                    },
                )
            )

        for _index in range(school.physicians):
            full_name, gender, ethnicities = namer.identity()
            stage = rng.choices(
                [Stage.ATTENDING_EARLY, Stage.ATTENDING_MID, Stage.ATTENDING_SENIOR], [35, 40, 25]
            )[0]
            specialties = _weighted(rng, HOSPITAL_SPECIALTIES, rng.choice([1, 1, 2]))
            physician_strengths = [str(g) for g in rng.sample(Goal.values, rng.randint(2, 5))]
            conflicts: list[tuple[str, str, int | None]] = []
            if rng.random() < 0.12:
                clerkship = names[specialties[0]].lower()
                conflicts.append(
                    ("grades", f"I grade MS3 {clerkship} clerkship students", Stage.MS3)
                )
            if rng.random() < 0.05:
                conflicts.append(
                    ("selects", "I sit on the residency selection committee", Stage.MS4)
                )
            people.append(
                Person(
                    email=_email(full_name, school.domain, used_emails),
                    full_name=full_name,
                    role=Role.PHYSICIAN,
                    institution=school.slug,
                    stage=stage,
                    gender=gender,
                    ethnicities=ethnicities,
                    specialties=specialties,
                    interests=_interests(rng, specialties, all_interests),
                    languages=_languages(rng, ethnicities),
                    conflicts=conflicts,
                    profile={
                        "accepting_mentees": rng.random() < 0.65,
                        "capacity": rng.choice([1, 2, 2, 3, 3, 4, 5]),
                        "hours_per_month": rng.choice([2, 3, 4, 4, 6, 8]),
                        "strengths": physician_strengths,
                        "preferred_mentee_stages": [],
                        "mentoring_style": rng.choices(MentoringStyle.values, [40, 35, 25])[0],
                        "headline": f"{Stage(stage).label} · {names[specialties[0]]}",
                        "bio": _bio_mentor(
                            Role.PHYSICIAN,
                            stage,
                            [names[s] for s in specialties],
                            physician_strengths,
                            school.short_name,
                        ),
                        "meets_in_person": True,
                        "meets_video": rng.random() < 0.8,
                        "meets_phone": rng.random() < 0.5,
                    },
                )
            )

    people.extend(_demo_logins())
    return schools, people


def _demo_logins() -> list[Person]:
    """The fixed accounts listed in the README, each showing a typical person."""
    return [
        Person(
            email="student@northlake.example",
            full_name="Maya Okafor",
            role=Role.STUDENT,
            institution="northlake",
            stage=Stage.MS2,
            gender=Gender.WOMAN,
            ethnicities=[Ethnicity.BLACK],
            specialties=["orthopaedic-surgery", "sports-medicine"],
            interests=["sports-medicine-research", "health-equity"],
            languages=["en", "yo"],
            wants_same_ethnicity=True,
            profile={
                "seeking_mentor": True,
                "goals": {
                    Goal.CAREER_GUIDANCE: 3,
                    Goal.RESEARCH: 3,
                    Goal.NETWORKING: 2,
                    Goal.WELLNESS: 1,
                },
                "offers": [Offer.RESEARCH_HELP, Offer.PRESENTATIONS],
                "mentor_stage_preference": MentorStagePreference.SENIOR,
                "style_preference": MentoringStyle.CHALLENGING,
                "headline": "MS2 · aiming for orthopaedic surgery",
                "bio": (
                    "MS2 at Northlake, former college sprinter, set on orthopaedic surgery "
                    "with an eye on sports medicine. I'd like to start a research project "
                    "before Step 1 and understand what makes an ortho application strong."
                ),
                "meets_in_person": True,
                "meets_video": True,
                "meets_phone": False,
            },
        ),
        Person(
            email="resident@northlake.example",
            full_name="Daniel Reyes",
            role=Role.RESIDENT,
            institution="northlake",
            stage=Stage.PGY2,
            gender=Gender.MAN,
            ethnicities=[Ethnicity.HISPANIC],
            specialties=["internal-medicine"],
            interests=["cardiovascular-research", "medical-education"],
            languages=["en", "es"],
            profile={
                "accepting_mentees": True,
                "capacity": 2,
                "hours_per_month": 3,
                "strengths": [Goal.RESIDENCY_APPLICATION, Goal.CLINICAL_SKILLS, Goal.WELLNESS],
                "preferred_mentee_stages": [Stage.MS3, Stage.MS4],
                "mentoring_style": MentoringStyle.SUPPORTIVE,
                "seeking_mentor": True,
                "goals": {Goal.RESEARCH: 3, Goal.LETTERS: 2, Goal.CAREER_GUIDANCE: 2},
                "mentor_stage_preference": MentorStagePreference.SENIOR,
                "headline": "PGY-2 · internal medicine, heading for cardiology",
                "bio": (
                    "PGY-2 in internal medicine at Northlake, applying to cardiology "
                    "fellowship next year. I remember MS3 and the Match vividly: happy to "
                    "help with clerkships, applications and surviving intern year."
                ),
                "meets_in_person": True,
                "meets_video": True,
                "meets_phone": True,
            },
        ),
        Person(
            email="physician@northlake.example",
            full_name="Helen Park",
            role=Role.PHYSICIAN,
            institution="northlake",
            stage=Stage.ATTENDING_SENIOR,
            gender=Gender.WOMAN,
            ethnicities=[Ethnicity.ASIAN],
            specialties=["orthopaedic-surgery", "sports-medicine"],
            interests=["sports-medicine-research", "surgical-innovation", "leadership"],
            languages=["en", "ko"],
            conflicts=[("grades", "I direct the MS3 surgery clerkship at Northlake", Stage.MS3)],
            profile={
                "accepting_mentees": True,
                "capacity": 3,
                "hours_per_month": 4,
                "strengths": [
                    Goal.CAREER_GUIDANCE,
                    Goal.RESEARCH,
                    Goal.LETTERS,
                    Goal.NETWORKING,
                    Goal.WORK_LIFE,
                ],
                "mentoring_style": MentoringStyle.CHALLENGING,
                "headline": "Senior attending · orthopaedic surgery and sports medicine",
                "bio": (
                    "Orthopaedic surgeon for 22 years, team physician for the city's "
                    "basketball club, and residency program director emerita. I push "
                    "my mentees hard and open doors for them."
                ),
                "meets_in_person": True,
                "meets_video": True,
                "meets_phone": False,
            },
        ),
        Person(
            email="coordinator@northlake.example",
            full_name="Laura Bennett",
            role=Role.COORDINATOR,
            institution="northlake",
            stage=None,
            gender="",
            ethnicities=[],
        ),
        Person(
            email="coordinator@riverside.example",
            full_name="Tom Alvarez",
            role=Role.COORDINATOR,
            institution="riverside",
            stage=None,
            gender="",
            ethnicities=[],
        ),
        Person(
            email="admin@medmentor.example",
            full_name="Platform Admin",
            role=Role.STAFF,
            institution="northlake",
            stage=None,
            gender="",
            ethnicities=[],
            is_staff=True,
        ),
    ]


@dataclass
class SeedResult:
    created: int
    existing: int


@transaction.atomic
def seed_demo(seed: int = 2026) -> SeedResult:
    """Create whatever part of the demo population is missing. Running it again is a no-op."""
    # The taxonomy normally comes from a data migration, but `manage.py flush` (and
    # transactional tests) empty those tables too: restore it first, idempotently.
    sync_taxonomy(django_apps)
    schools, people = build_people(seed)
    institutions = {}
    for school in schools:
        institutions[school.slug], _ = Institution.objects.get_or_create(
            slug=school.slug,
            defaults={
                "name": school.name,
                "short_name": school.short_name,
                "city": school.city,
                "timezone": school.timezone,
            },
        )
    existing = set(
        User.objects.filter(email__in=[p.email for p in people]).values_list("email", flat=True)
    )
    missing = [p for p in people if p.email not in existing]
    if not missing:
        return SeedResult(created=0, existing=len(existing))

    password = make_password(DEMO_PASSWORD)  # hash once: PBKDF2 per user would take minutes
    now = timezone.now()
    users = User.objects.bulk_create(
        [
            User(
                email=p.email,
                full_name=p.full_name,
                role=p.role,
                password=password,
                is_staff=p.is_staff,
                is_superuser=p.is_staff,
                date_joined=now,
            )
            for p in missing
        ]
    )
    user_by_email = {u.email: u for u in User.objects.filter(email__in=[p.email for p in missing])}
    tz = {school.slug: school.timezone for school in schools}
    profiles = Profile.objects.bulk_create(
        [
            Profile(
                user=user_by_email[p.email],
                stage=p.stage,
                institution=institutions[p.institution],
                timezone=tz[p.institution],
                welcomed_at=now,
                **p.profile,
            )
            for p in missing
        ]
    )
    assert len(users) == len(profiles)
    profile_by_email = {
        pr.user.email: pr
        for pr in Profile.objects.filter(user__email__in=[p.email for p in missing]).select_related(
            "user"
        )
    }
    specialty_ids = dict(Specialty.objects.values_list("slug", "id"))
    interest_ids = dict(Interest.objects.values_list("slug", "id"))
    language_ids = dict(Language.objects.values_list("code", "id"))
    through: Any
    for attr, ids, through in (
        ("specialties", specialty_ids, Profile.specialties.through),
        ("interests", interest_ids, Profile.interests.through),
        ("languages", language_ids, Profile.languages.through),
    ):
        column = {
            "specialties": "specialty_id",
            "interests": "interest_id",
            "languages": "language_id",
        }[attr]
        through.objects.bulk_create(
            [
                through(profile_id=profile_by_email[p.email].pk, **{column: ids[key]})
                for p in missing
                for key in getattr(p, attr)
            ]
        )
    Demographics.objects.bulk_create(
        [
            Demographics(
                user=user_by_email[p.email],
                gender=p.gender,
                ethnicities=list(p.ethnicities),
                wants_same_gender=p.wants_same_gender,
                gender_opted_in_at=now if p.wants_same_gender else None,
                wants_same_ethnicity=p.wants_same_ethnicity,
                ethnicity_opted_in_at=now if p.wants_same_ethnicity else None,
            )
            for p in missing
            if p.gender or p.ethnicities
        ]
    )
    ConflictOfInterest.objects.bulk_create(
        [
            ConflictOfInterest(
                mentor=user_by_email[p.email],
                kind=kind,
                description=text,
                stage=stage,
                institution=institutions[p.institution],
            )
            for p in missing
            for kind, text, stage in p.conflicts
        ]
    )
    return SeedResult(created=len(missing), existing=len(existing))
