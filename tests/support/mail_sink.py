"""An email backend that writes each message to a table, in the caller's transaction.

Used by the Celery worker that tests/mentorship/test_reminder_worker.py starts: the
reminder delivery sends its email inside the transaction that marks the ledger, so
a row here exists if and only if that transaction committed. A worker killed between
"send" and "commit" leaves no row, just as it leaves the ledger rows pending: what
the test counts is what the database agreed was sent.

Fault injection, from the environment: while the file named by
``MAIL_SINK_HOLD_FILE`` exists, each send waits after writing its row, with the
transaction still open, so a test can kill the worker exactly between "send" and
"commit". ``MAIL_SINK_DELAY_MS`` sleeps there after every message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.db import connection

TABLE = "test_mail_sink"
CREATE_SQL = (
    f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, message_id text NOT NULL, "
    "recipient text NOT NULL, subject text NOT NULL, "
    "written_at timestamptz NOT NULL DEFAULT clock_timestamp())"
)
DROP_SQL = f"DROP TABLE IF EXISTS {TABLE}"
INSERT_SQL = f"INSERT INTO {TABLE} (message_id, recipient, subject) VALUES (%s, %s, %s)"  # noqa: S608
# Sends parked after their INSERT, their transaction open (seen from another connection).
PARKED_SQL = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "  # noqa: S608
    f"AND state = 'idle in transaction' AND query LIKE 'INSERT INTO {TABLE} (%'"
)
HOLD_LIMIT = 60.0  # seconds: a parked send gives up eventually if nobody kills it


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        delay = int(os.environ.get("MAIL_SINK_DELAY_MS", "0")) / 1000
        hold = os.environ.get("MAIL_SINK_HOLD_FILE")
        sent = 0
        for message in email_messages:
            rendered = message.message()  # renders and validates the headers, like SMTP would
            with connection.cursor() as cursor:
                for recipient in message.recipients():
                    cursor.execute(
                        INSERT_SQL,
                        [rendered["Message-ID"] or "", recipient, rendered["Subject"] or ""],
                    )
            if delay:
                time.sleep(delay)
            if hold:
                deadline = time.monotonic() + HOLD_LIMIT
                while Path(hold).exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
            sent += 1
        return sent
