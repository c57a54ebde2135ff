"""Settings for pytest. SQLite by default, PostgreSQL when DATABASE_URL is set."""

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Unit tests run tasks inline; tests that need a real worker and broker opt out.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
# Each run counts API throttles in its own memory, never in a Redis another run shares.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# One counter per process across thousands of tests (SQLite hands out the same user ids
# again after each rollback) must never trip: the throttle tests set small rates of their own.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"login": "100000/min", "write": "100000/min"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not shared-cache memory: real workers and live servers run in other threads,
    # and in-memory SQLite locks whole tables between connections instead of waiting.
    # TEST_DB_FILE lets two test runs on one checkout keep out of each other's way.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": env_str("TEST_DB_FILE", str(VAR_DIR / "test-db.sqlite3"))  # noqa: F405
    }
