"""Test-only code that runs inside other processes (a Celery worker started by a test)."""
