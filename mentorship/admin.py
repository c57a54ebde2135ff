"""Staff views of the reminder ledger (failed deliveries first) and academic calendars."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import AcademicDate, Reminder, ReminderEmail


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = (
        "kind", "user", "target_id", "period", "due_at", "status", "attempts", "last_error",
        "skip_reason", "done_at",
    )  # fmt: skip
    list_filter = ("status", "kind")
    search_fields = ("user__email",)
    date_hierarchy = "due_at"
    raw_id_fields = ("user", "email")
    actions = ["retry"]
    readonly_fields = [f.name for f in Reminder._meta.fields]

    @admin.action(description="Retry the selected failed reminders")
    def retry(self, request: HttpRequest, queryset: QuerySet[Reminder]) -> None:
        count = queryset.filter(status=Reminder.Status.FAILED).update(
            status=Reminder.Status.PENDING,
            attempts=0,
            not_before=None,
            queued_at=None,
            done_at=None,
        )
        messages.success(request, f"{count} reminder(s) will be retried by the next scan.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ReminderEmail)
class ReminderEmailAdmin(admin.ModelAdmin):
    list_display = ("user", "day", "kind", "subject", "sent_at")
    list_filter = ("kind",)
    search_fields = ("user__email", "subject")
    readonly_fields = [f.name for f in ReminderEmail._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AcademicDate)
class AcademicDateAdmin(admin.ModelAdmin):
    list_display = ("title", "institution", "date", "category", "lead_days", "active")
    list_filter = ("category", "active", "institution")
    search_fields = ("title",)
