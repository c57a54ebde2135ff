"""Settings for a Celery worker that a test starts as a subprocess, on Redis.

The test settings, except that tasks go through the broker, emails are written to a
table in the sending transaction (``tests.support.mail_sink``), and a task whose
worker died is handed out again within seconds instead of an hour. The test passes
DATABASE_URL (its test database) and CELERY_BROKER_URL in the environment.
"""

from .env import env_int
from .test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = False
EMAIL_BACKEND = "tests.support.mail_sink.EmailBackend"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A delivered but unacknowledged task goes back to the queue after this long...
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 5),
    # ...checked every second by every worker (kombu: interval x throttle seconds)...
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
    # ...and a worker killed while holding the restore lock blocks the others only
    # this long (kombu's default is 5 minutes).
    "unacked_mutex_expire": 10,
}
