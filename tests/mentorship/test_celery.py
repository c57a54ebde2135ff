"""A real Celery worker consuming a real broker: Redis, and the embedded default of `make run`."""

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.core import mail

import accounts.tasks  # noqa: F401 - registers the shared task
from accounts.models import Profile
from mentorship.celery import app as project_app
from tests.conftest import require_service

pytestmark = pytest.mark.django_db(transaction=True)


def _run_with_broker(broker_url: str, user_id: int) -> None:
    """Configure a fresh app exactly like production's, on the given broker, and run a worker."""
    worker_app = Celery("mentorship-test", set_as_current=False)
    worker_app.config_from_object("django.conf:settings", namespace="CELERY")
    worker_app.conf.update(broker_url=broker_url, task_always_eager=False)
    if broker_url.startswith("sqla+"):
        # Redis's options (visibility timeout) would reach SQLAlchemy's create_engine.
        worker_app.conf.broker_transport_options = {}
    worker_app.finalize()  # binds every @shared_task, as autodiscovery does in production
    assert "accounts.tasks.send_welcome_email" in worker_app.tasks
    try:
        with start_worker(
            worker_app,
            perform_ping_check=False,
            pool="solo",
            loglevel="WARNING",
            shutdown_timeout=10,
        ):
            worker_app.send_task("accounts.tasks.send_welcome_email", args=[user_id])
            _wait_for(
                lambda: Profile.objects.filter(user_id=user_id, welcomed_at__isnull=False).exists()
            )
    finally:
        worker_app.close()
        project_app.set_current()  # start_worker made the test app current; give it back


def _wait_for(condition, timeout: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail("the worker did not finish the task in time")


@pytest.mark.redis
@pytest.mark.celery_worker
def test_a_real_worker_on_redis_sends_the_welcome_email_once(redis_url, student):
    _run_with_broker(redis_url, student.pk)
    assert [m.to for m in mail.outbox] == [[student.email]]


@pytest.mark.celery_worker
def test_a_real_worker_on_the_embedded_sqlite_broker_sends_the_email(tmp_path, student):
    try:
        import sqlalchemy  # noqa: F401
    except ImportError:
        require_service("SQLAlchemy for the embedded broker")
    _run_with_broker(f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}", student.pk)
    assert [m.to for m in mail.outbox] == [[student.email]]
