from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from .models import (
    AuditEvent,
    ConflictOfInterest,
    Institution,
    Interest,
    Language,
    Profile,
    Specialty,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "is_active", "is_staff", "date_joined"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "role")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "role", "password1", "password2"),
            },
        ),
    )


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["name", "short_name", "kind", "city", "timezone"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Specialty)
class SpecialtyAdmin(admin.ModelAdmin):
    list_display = ["name", "family", "slug"]
    list_filter = ["family"]
    filter_horizontal = ["related"]
    search_fields = ["name"]


@admin.register(Interest)
class InterestAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "slug"]
    list_filter = ["kind"]


@admin.register(Language)
class LanguageAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "stage", "institution", "accepting_mentees", "capacity"]
    list_filter = ["stage", "institution", "accepting_mentees"]
    list_select_related = ["user", "institution"]
    search_fields = ["user__email", "user__full_name"]
    autocomplete_fields = ["specialties"]
    raw_id_fields = ["user"]


@admin.register(ConflictOfInterest)
class ConflictOfInterestAdmin(admin.ModelAdmin):
    list_display = ["mentor", "kind", "institution", "stage", "description"]
    raw_id_fields = ["mentor"]


# Demographics are deliberately not registered: no list or form in the admin can
# show a person's gender or ethnicity. Staff see only aggregates (coordinator dashboard).


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Staff browse the audit log; nobody adds, changes or deletes a row here."""

    list_display = ["at", "action", "actor", "institution", "object_type", "object_id"]
    list_filter = ["action", "institution"]
    search_fields = ["action", "actor__email", "object_id"]
    date_hierarchy = "at"
    list_select_related = ["actor", "institution"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
