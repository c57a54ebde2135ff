"""Vocabulary of medical careers shared by models, forms, the API and the matching adapter."""

from django.db import models


class Role(models.TextChoices):
    STUDENT = "student", "Student (pre-med or medical student)"
    RESIDENT = "resident", "Resident or fellow"
    PHYSICIAN = "physician", "Physician (attending or faculty)"
    COORDINATOR = "coordinator", "Program coordinator"
    STAFF = "staff", "Platform staff"


SIGNUP_ROLES = [Role.STUDENT, Role.RESIDENT, Role.PHYSICIAN]
MENTOR_ROLES = {Role.RESIDENT, Role.PHYSICIAN}
MENTEE_ROLES = {Role.STUDENT, Role.RESIDENT}


class Stage(models.IntegerChoices):
    """The career ladder, in order: a mentor must stand on a higher rung than the mentee."""

    PREMED = 0, "Pre-med"
    MS1 = 1, "MS1"
    MS2 = 2, "MS2"
    MS3 = 3, "MS3"
    MS4 = 4, "MS4"
    PGY1 = 5, "PGY-1 (intern)"
    PGY2 = 6, "PGY-2"
    PGY3 = 7, "PGY-3"
    PGY4 = 8, "PGY-4"
    PGY5 = 9, "PGY-5"
    PGY6 = 10, "PGY-6"
    PGY7 = 11, "PGY-7+"
    FELLOW = 12, "Fellow"
    ATTENDING_EARLY = 13, "Early-career attending"
    ATTENDING_MID = 14, "Mid-career attending"
    ATTENDING_SENIOR = 15, "Senior attending"


STUDENT_STAGES = [Stage.PREMED, Stage.MS1, Stage.MS2, Stage.MS3, Stage.MS4]
RESIDENT_STAGES = [
    Stage.PGY1,
    Stage.PGY2,
    Stage.PGY3,
    Stage.PGY4,
    Stage.PGY5,
    Stage.PGY6,
    Stage.PGY7,
    Stage.FELLOW,
]
PHYSICIAN_STAGES = [Stage.ATTENDING_EARLY, Stage.ATTENDING_MID, Stage.ATTENDING_SENIOR]
STAGES_BY_ROLE = {
    Role.STUDENT: STUDENT_STAGES,
    Role.RESIDENT: RESIDENT_STAGES,
    Role.PHYSICIAN: PHYSICIAN_STAGES,
}


class Goal(models.TextChoices):
    """Why mentees look for a mentor; mentors declare the same list as strengths."""

    CAREER_GUIDANCE = "career_guidance", "Career guidance and specialty choice"
    RESIDENCY_APPLICATION = "residency_application", "Residency application and the Match"
    RESEARCH = "research", "Research"
    CLINICAL_SKILLS = "clinical_skills", "Clinical skills"
    WELLNESS = "wellness", "Wellness and burnout"
    NETWORKING = "networking", "Networking and introductions"
    WORK_LIFE = "work_life", "Work–life and topics not discussed in the hospital"
    LETTERS = "letters", "Letters of recommendation"


class Priority(models.IntegerChoices):
    LOW = 1, "Nice to have"
    MEDIUM = 2, "Important"
    HIGH = 3, "Most important"


class Offer(models.TextChoices):
    """What a mentee gives back."""

    RESEARCH_HELP = "research_help", "Help with research and lab projects"
    GRANTS = "grants", "Grant preparation"
    PRESENTATIONS = "presentations", "Posters and presentations"
    CLINICAL_WORK = "clinical_work", "Help with clinical projects"
    TEACHING = "teaching", "Teaching and tutoring juniors"


class MeetingMode(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    VIDEO = "video", "Video call"
    PHONE = "phone", "Phone"


class MentorStagePreference(models.TextChoices):
    ANY = "any", "No preference"
    NEAR_PEER = "near_peer", "A near-peer (senior student or resident)"
    SENIOR = "senior", "A senior physician"


class InstitutionPreference(models.TextChoices):
    ANY = "any", "No preference"
    SAME = "same", "At my institution"
    OTHER = "other", "Outside my institution"


class MentoringStyle(models.TextChoices):
    EITHER = "either", "Either"
    SUPPORTIVE = "supportive", "Supportive"
    CHALLENGING = "challenging", "Challenging"


class Gender(models.TextChoices):
    WOMAN = "woman", "Woman"
    MAN = "man", "Man"
    NON_BINARY = "non_binary", "Non-binary"
    SELF_DESCRIBED = "self_described", "I prefer to self-describe"


class Ethnicity(models.TextChoices):
    AMERICAN_INDIAN = "american_indian", "American Indian or Alaska Native"
    ASIAN = "asian", "Asian"
    BLACK = "black", "Black or African American"
    HISPANIC = "hispanic", "Hispanic, Latino or of Spanish origin"
    MIDDLE_EASTERN = "middle_eastern", "Middle Eastern or North African"
    PACIFIC_ISLANDER = "pacific_islander", "Native Hawaiian or Pacific Islander"
    WHITE = "white", "White"
    SELF_DESCRIBED = "self_described", "I prefer to self-describe"


class SpecialtyFamily(models.TextChoices):
    SURGICAL = "surgical", "Surgical"
    MEDICAL = "medical", "Internal medicine and subspecialties"
    PAEDIATRIC = "paediatric", "Paediatrics"
    WOMENS_HEALTH = "womens_health", "Obstetrics and gynaecology"
    MIND_BRAIN = "mind_brain", "Neurology and psychiatry"
    ACUTE_CARE = "acute_care", "Acute and critical care"
    PRIMARY_CARE = "primary_care", "Primary care and public health"
    DIAGNOSTIC = "diagnostic", "Diagnostic"
    OTHER = "other", "Other specialties"


class InterestKind(models.TextChoices):
    RESEARCH = "research", "Research area"
    PATH = "path", "Non-clinical path"


class EmailKind(models.TextChoices):
    """The kinds of email a person can route or switch off in their notification settings."""

    REQUESTS = "requests", "Mentor requests: new requests and answers"
    MENTORSHIP = "mentorship", "Mentorship updates: agreements, check-ins, notes"
    REQUEST_REMINDERS = "request_reminders", "Reminders to answer a mentor request"
    CHECKIN_UPCOMING = "checkin_upcoming", "Upcoming check-ins"
    CHECKIN_OVERDUE = "checkin_overdue", "Overdue check-ins"
    AGREEMENT_UNSIGNED = "agreement_unsigned", "Agreements waiting for a signature"
    CALENDAR = "calendar", "Academic calendar prompts (ERAS, Step, Match Day)"
    PROGRAM_DEADLINE = "program_deadline", "Program deadlines"
    DIGEST = "digest", "Monthly digest"


# Event emails go out as things happen; reminders are bundled (one email a day at most),
# wait for the end of quiet hours, and can be routed to the monthly digest instead.
EVENT_EMAIL_KINDS = (EmailKind.REQUESTS, EmailKind.MENTORSHIP)
REMINDER_EMAIL_KINDS = (
    EmailKind.REQUEST_REMINDERS,
    EmailKind.CHECKIN_UPCOMING,
    EmailKind.CHECKIN_OVERDUE,
    EmailKind.AGREEMENT_UNSIGNED,
    EmailKind.CALENDAR,
    EmailKind.PROGRAM_DEADLINE,
)


class Delivery(models.TextChoices):
    EMAIL = "email", "Email"
    DIGEST = "digest", "In the monthly digest"
    OFF = "off", "Don't email me"
