from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "referwell.outreach"
    label = "outreach"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from referwell.accounts.services import on_tenant_row_changed
        from referwell.clients.models import Client
        from referwell.directory.models import Partner, Touchpoint
        from referwell.outreach.models import ContactPlan
        from referwell.referrals.models import Referral

        # What the cadence engine reads: a change moves the practice's data_version, and the
        # Today list each process keeps for it is made again (outreach.cadence).
        for model in (Partner, Touchpoint, Client, Referral, ContactPlan):
            for signal in (post_save, post_delete):
                signal.connect(
                    on_tenant_row_changed,
                    sender=model,
                    dispatch_uid=f"referwell_data_version_{signal is post_save}_{model.__name__}",
                )
