"""The audit rows nobody's service writes itself: every sign-in, failed sign-in and
sign-out (Django's auth signals, connected in ``AccountsConfig.ready``) and every change
made in the admin (``AuditedModelAdmin``, mixed into each ModelAdmin by the admin site).

Rows hold ids, field names and reasons, never the values typed: a failed sign-in names
the account it was for when one exists, not the address that was tried.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.http import HttpRequest

from .models import Institution, User
from .services import audit_record, audit_sign_in, institution_of


def _via(request: HttpRequest | None) -> str:
    if request is None:
        return "other"
    return "api" if request.path.startswith("/api/") else "web"


def sign_in_recorded(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    audit_sign_in(user=user, via=_via(request))


def sign_in_failure_recorded(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Credentials arrive with the password already masked; the address is used only to
    # find the account, never stored.
    address = str(credentials.get("username") or credentials.get("email") or "")
    account = User.objects.filter(email__iexact=address).first() if address else None
    if getattr(request, "axes_locked_out", False):
        reason = "locked"
    elif account is None:
        reason = "unknown account"
    elif not account.is_active:
        reason = "inactive account"
    else:
        reason = "wrong password"
    audit_record(
        actor=None,
        action="auth.sign_in_failed",
        target=account,
        institution_id=institution_of(account) if account is not None else None,
        detail={"via": _via(request), "reason": reason},
    )


def sign_out_recorded(
    sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    if user is not None:
        audit_record(actor=user, action="auth.sign_out", target=user)


# --- The admin -------------------------------------------------------------------------


def _changed_fields(message: Any) -> list[str]:
    """Field names out of the admin's change message (a list of {"changed": {"fields":
    [...]}} / {"added": {"name": ...}} entries); the values never appear there."""
    fields: list[str] = []
    for entry in message if isinstance(message, list) else []:
        for kind, info in entry.items():
            if kind == "changed":
                fields.extend(str(name) for name in info.get("fields", []))
                if "name" in info:
                    fields.append(f"{info['name']} (inline)")
            elif kind in ("added", "deleted"):
                fields.append(f"{info.get('name', 'item')} ({kind})")
    return fields


def _admin_recorded(request: HttpRequest, action: str, obj: models.Model, message: Any) -> None:
    user = request.user
    institution_id = getattr(obj, "institution_id", None)
    if isinstance(obj, User):
        institution_id = institution_of(obj)
    elif isinstance(obj, Institution):
        institution_id = obj.pk
    audit_record(
        actor=user if isinstance(user, User) else None,
        action=action,
        target=obj,
        institution_id=institution_id if isinstance(institution_id, int) else None,
        detail={"fields": _changed_fields(message)} if action == "admin.change" else {},
    )


class AuditedModelAdmin:
    """Mixed into every ModelAdmin the admin site registers: Django's own log entry, and
    an audit row beside it (in the same transaction as the change)."""

    def log_addition(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)  # type: ignore[misc]
        _admin_recorded(request, "admin.add", obj, message)
        return entry

    def log_change(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        entry = super().log_change(request, obj, message)  # type: ignore[misc]
        _admin_recorded(request, "admin.change", obj, message)
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Iterable[models.Model]) -> Any:
        # Called before the rows go, so each object still has its id.
        entries = super().log_deletions(request, queryset)  # type: ignore[misc]
        for obj in queryset:
            _admin_recorded(request, "admin.delete", obj, "")
        return entries
