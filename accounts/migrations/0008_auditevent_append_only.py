"""On PostgreSQL the audit log is append-only for every client, not just for the model:
a trigger refuses DELETE, and any UPDATE other than the ON DELETE SET NULL of an actor or
a school that is deleted. (SQLite, the development default, relies on the model's guard.)
"""

from typing import Any

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit rows are never deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id = OLD.id AND NEW.action = OLD.action AND NEW.object_type = OLD.object_type
       AND NEW.object_id = OLD.object_id AND NEW.detail = OLD.detail AND NEW.at = OLD.at
       AND (NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id OR NEW.actor_id IS NULL)
       AND (NEW.institution_id IS NOT DISTINCT FROM OLD.institution_id
            OR NEW.institution_id IS NULL) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit rows are never changed' USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER accounts_auditevent_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditevent
    FOR EACH ROW EXECUTE FUNCTION accounts_auditevent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS accounts_auditevent_append_only ON accounts_auditevent;
DROP FUNCTION IF EXISTS accounts_auditevent_append_only();
"""


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_user_session_nonce")]

    operations = [migrations.RunPython(create, drop)]
