"""The Celery app. All configuration comes from Django settings (namespace ``CELERY_``)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mentorship.settings.local")

app = Celery("mentorship")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
