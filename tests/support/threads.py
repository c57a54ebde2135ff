"""Real threads released at the same instant, for races on a real database."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections

from mentorship.exceptions import ApplicationError


def together(works: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run each of ``works`` in its own thread, all released at once; their results in
    finishing order. A refusal (``ApplicationError``) is a result: its message. Any other
    error fails the test, with the threads' errors."""
    barrier = threading.Barrier(len(works))
    outcomes: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(work: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            result = work()
        except ApplicationError as refusal:
            result = refusal.message
        except Exception as error:
            with lock:
                errors.append(error)
            return
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, f"threads failed: {errors!r}"
    assert len(outcomes) == len(works), "a thread did not finish"
    return outcomes
