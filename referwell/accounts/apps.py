from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "referwell.accounts"
    label = "accounts"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from referwell.accounts import kept, security

        # What is kept of a practice's data is made again when a model it is made of changes.
        kept.watch()
        user_login_failed.connect(security.on_login_failed, dispatch_uid="referwell_login_failed")
        user_locked_out.connect(security.on_locked_out, dispatch_uid="referwell_locked_out")
        user_logged_in.connect(security.on_logged_in, dispatch_uid="referwell_logged_in")
