from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and profiles"
    default = True

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from . import audit
        from .middleware import session_stamp_login

        user_logged_in.connect(session_stamp_login, dispatch_uid="accounts.session_stamp_login")
        user_logged_in.connect(audit.sign_in_recorded, dispatch_uid="accounts.audit_sign_in")
        user_login_failed.connect(
            audit.sign_in_failure_recorded, dispatch_uid="accounts.audit_sign_in_failed"
        )
        user_logged_out.connect(audit.sign_out_recorded, dispatch_uid="accounts.audit_sign_out")


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin, on the site that asks staff who enrolled a device for their code
    (listed in INSTALLED_APPS instead of "django.contrib.admin")."""

    default = False
    default_site = "accounts.admin_site.AdminSite"
