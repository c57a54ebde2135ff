"""Staff review reports here: what was reported, in whose words, and the outcome."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from accounts.models import User
from mentorship.exceptions import ApplicationError

from . import safety
from .models import Report


class ReportResolveForm(forms.ModelForm):
    class Meta:
        model = Report
        fields = ["outcome", "staff_note"]

    def clean_outcome(self) -> str:
        outcome = self.cleaned_data.get("outcome") or ""
        if not outcome:
            raise forms.ValidationError("Choose an outcome to resolve the report.")
        if outcome == Report.Outcome.SUSPENDED and not safety.can_be_suspended(
            self.instance.reported
        ):
            raise forms.ValidationError("This account cannot be suspended from a report.")
        return outcome


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """Open reports first. Saving an outcome resolves the report through the same service
    the API would use: the reporter is thanked, a warned sender gets a notice, a
    suspended one is signed out everywhere."""

    form = ReportResolveForm
    list_display = ["created_at", "reason", "status", "outcome", "reporter", "reported"]
    list_filter = ["status", "reason", "outcome"]
    list_select_related = ["reporter", "reported"]
    ordering = ["status", "-created_at"]  # "open" sorts before "resolved"
    search_fields = ["reported__email", "reporter__email"]
    readonly_fields = [
        "reporter",
        "reported",
        "reason",
        "details",
        "what_was_written",
        "earlier_reports",
        "status",
        "resolved_by",
        "resolved_at",
        "created_at",
    ]
    fieldsets = (
        ("Report", {"fields": ("created_at", "reporter", "reported", "reason", "details")}),
        ("What was reported", {"fields": ("what_was_written", "earlier_reports")}),
        ("Review", {"fields": ("status", "outcome", "staff_note", "resolved_by", "resolved_at")}),
    )
    actions = ["resolve_no_action"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return super().get_queryset(request).select_related("request", "message")

    @admin.display(description="What was written")
    def what_was_written(self, report: Report) -> str:
        text = report.message.body if report.message else report.request.expectations
        return format_html_join("", "<p>{}</p>", ((line,) for line in text.splitlines() if line))

    @admin.display(description="Reports about this person")
    def earlier_reports(self, report: Report) -> str:
        if report.reported_id is None:
            return "-"
        rows = Report.objects.filter(reported_id=report.reported_id).exclude(pk=report.pk)
        return (
            format_html_join(
                "", "<p>{} · {} · {}</p>", ((r.created_at.date(), r.reason, r.status) for r in rows)
            )
            or "No other reports."
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status != Report.Status.OPEN:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Report, form: Any, change: bool) -> None:
        assert isinstance(request.user, User)
        try:
            resolved = safety.report_resolve(
                staff=request.user,
                report_id=obj.pk,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data.get("staff_note", ""),
            )
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        obj.refresh_from_db()
        self.message_user(request, f"Resolved: {resolved.get_outcome_display()}.")

    @admin.action(description="Resolve the selected open reports: no action needed")
    def resolve_no_action(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        assert isinstance(request.user, User)
        done = 0
        for report in queryset.filter(status=Report.Status.OPEN):
            safety.report_resolve(
                staff=request.user, report_id=report.pk, outcome=Report.Outcome.NO_ACTION
            )
            done += 1
        self.message_user(request, f"{done} report(s) resolved.")
