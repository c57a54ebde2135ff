"""Project package and the relationship domain (mentorships, agreements, check-ins)."""

from .celery import app as celery_app

__all__ = ("celery_app",)
