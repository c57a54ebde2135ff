"""Settings shared by every environment. Environment variables are read only through ``env``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from .env import env_bool, env_int, env_list, env_prefixed, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

SITE_NAME = "MedMentor"
SECRET_KEY = env_str("SECRET_KEY", "insecure-local-development-key-do-not-use-in-production")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    # Django's admin on a site that asks enrolled staff for their one-time code.
    "accounts.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "accounts",
    "matching",
    "mentorship",
]

MIDDLEWARE = [
    "mentorship.middleware.RequestIdMiddleware",
    # Above WhiteNoise, so that static files carry the security headers too. WhiteNoise
    # answers them before authentication runs, so they never get the private no-store.
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "mentorship.middleware.PrivateCacheMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages (it tells the person why they were signed out) and before OTP (which
    # wraps the user it leaves).
    "accounts.middleware.SessionTimeoutMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as axes asks: turns a locked-out sign-in into the lockout page or JSON.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mentorship.urls"
WSGI_APPLICATION = "mentorship.wsgi.application"
ASGI_APPLICATION = "mentorship.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mentorship.context_processors.site",
                "mentorship.context_processors.notifications",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------
# Default: a SQLite file in the git-ignored var/ so `make run` needs no server.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The web process, the worker and beat share one file: WAL lets readers run
    # beside a writer, and IMMEDIATE transactions take the write lock up front
    # instead of failing with "database is locked" half-way through.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {
        # Django's default list names username/first_name/last_name, which User lacks.
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ["email", "full_name"]},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24  # one day

# --- Sign-in protection (OWASP ASVS 5.0 level 2) ------------------------------
# Proxies in front of the app that append the client's address to X-Forwarded-For.
# 0: the header is ignored and the client is REMOTE_ADDR, so nobody picks their own
# address by sending it. Read by the lockout log and every API throttle alike.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account before its password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Locked by account (the email), from any address: a guesser with many real addresses
# gets no more tries than one with a single address, and people behind one hospital NAT
# never lock each other out. The price: someone who knows an email can lock that
# account for the cool-off (a password reset by email lifts it at once).
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes warns that a lockout without the address can be dodged by rotating user agents or
# cookies. Not this one: it counts every failure for the account, whatever the address,
# agent or cookie. Limits per address are the throttles' (token login: 10 a minute).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_RESET_ON_SUCCESS = True
# Tries during a lockout never reach the password check, so they need not prolong it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "accounts.security.login_username"
AXES_CLIENT_IP_CALLABLE = "accounts.security.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.security.lockout_response"
# Sign-ins are recorded in our own audit log (accounts/audit.py), without the address or
# agent; axes' second log of every sign-in (email, IP, agent, never purged) is off.
AXES_DISABLE_ACCESS_LOG = True
# A session ends after this long without a request, and this long after sign-in
# whatever happens (accounts.middleware.SessionTimeoutMiddleware). The cookie lives as
# long as the longer limit so the middleware can say which one ended it.
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_MINUTES", 30) * 60
SESSION_ABSOLUTE_TIMEOUT = env_int("SESSION_MAX_HOURS", 12) * 60 * 60
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
OTP_TOTP_ISSUER = SITE_NAME
# Staff may remove someone's lost authenticator in the admin, never read its secret.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- I18n: store UTC, show each person their own zone ----------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files: everything local, served by whitenoise ------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

# --- Email ----------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "MedMentor <no-reply@medmentor.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# An email provider through django-anymail (pip install ".[anymail]"): set EMAIL_BACKEND
# to its backend, e.g. anymail.backends.postmark.EmailBackend, and its settings as
# ANYMAIL_<SETTING> variables, e.g. ANYMAIL_POSTMARK_SERVER_TOKEN.
ANYMAIL = env_prefixed("ANYMAIL_")

# --- REST framework -------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "mentorship.exceptions.api_exception_handler",
    # Writes (POST/PUT/PATCH/DELETE) per person; the token login per address (its view).
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttles.WriteRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "login": env_str("THROTTLE_LOGIN_RATE", "10/min"),
        "write": env_str("THROTTLE_WRITE_RATE", "120/min"),
    },
    # DRF trusts X-Forwarded-For when this is None: only as far as our proxies go.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", True)
SPECTACULAR_SETTINGS = {
    "TITLE": "MedMentor API",
    "DESCRIPTION": (
        "Mentor–mentee matching for medicine. Every error response has the shape "
        '`{"message": str, "fields": {field: [str]}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "mentorship.openapi.add_common_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "accounts.choices.Stage",
        "MentoringStyleEnum": "accounts.choices.MentoringStyle",
        "MeetingModeEnum": "accounts.choices.MeetingMode",
        "DeclineReasonEnum": "matching.models.MentorRequest.DeclineReason",
        "RequestStatusEnum": "matching.models.MentorRequest.Status",
        "MentorshipStatusEnum": "mentorship.models.Mentorship.Status",
        "CheckInStatusEnum": "mentorship.models.CheckIn.Status",
        "CadenceEnum": "matching.models.MentorRequest.Cadence",
        "ProgramStatusEnum": "matching.models.Program.Status",
        "EnrollmentRoleEnum": "matching.models.Enrollment.Role",
        "AcademicCategoryEnum": "mentorship.models.AcademicDate.Category",
        "ImportStatusEnum": "matching.models.ImportJob.Status",
        "ReportReasonEnum": "matching.models.Report.Reason",
        "ReportStatusEnum": "matching.models.Report.Status",
        "MatchRunStatusEnum": "matching.models.MatchRun.Status",
        "ProposalOriginEnum": "matching.models.Proposal.Origin",
    },
}

# --- Celery: one place --------------------------------------------------------
# Default broker needs no server: kombu's SQLAlchemy transport on a SQLite file.
# Worker and beat run as separate processes (`worker -B` on this transport loses
# beat's channel). Redis is used whenever CELERY_BROKER_URL or REDIS_URL is set.
REDIS_URL = env_str("REDIS_URL", "")
CELERY_BROKER_URL = env_str(
    "CELERY_BROKER_URL", REDIS_URL or f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}"
)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The one place periodic work is scheduled. Due dates live in the database; these
# scans find what fell due (including during downtime) and act on it once.
CELERY_BEAT_SCHEDULE = {
    "expire-mentor-requests": {"task": "matching.tasks.expire_requests", "schedule": 15 * 60},
    # Finds every reminder that fell due (check-ins, agreements, requests, calendar,
    # digest), writes it to the ledger once and queues its delivery.
    "scan-reminders": {"task": "mentorship.tasks.scan_reminders", "schedule": 5 * 60},
    # Keeps each institution's academic calendar a year ahead (US defaults).
    "roll-academic-calendars": {
        "task": "mentorship.tasks.roll_academic_calendars",
        "schedule": 6 * 60 * 60,
    },
}
# On Redis, a task whose worker died unacknowledged goes back to the queue after this
# long. (The embedded SQLAlchemy broker passes its options to create_engine: none there.)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 60 * 60)}
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    else {}
)
MENTOR_REQUEST_EXPIRY_DAYS = env_int("MENTOR_REQUEST_EXPIRY_DAYS", 14)

# --- Cache: API throttle counters ----------------------------------------------
# On Redis every web process counts together; without it each process counts alone.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Security headers that hold everywhere ---------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every line carries the request's id, the one the 500 page asks people to quote.
    "filters": {"request_id": {"()": "mentorship.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
