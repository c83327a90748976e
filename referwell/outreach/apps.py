from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "referwell.outreach"
    label = "outreach"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from referwell.accounts.services import on_partner_links_changed, on_tenant_row_changed
        from referwell.clients.models import Client
        from referwell.directory.models import Niche, Partner, Touchpoint
        from referwell.outreach.models import ContactPlan
        from referwell.referrals.models import Referral

        # What is kept of a practice's data is made of these (accounts/kept.py: Today, the
        # dashboard, guidance facts, list pages): a change moves its data version.
        for model in (Partner, Niche, Touchpoint, Client, Referral, ContactPlan):
            for signal in (post_save, post_delete):
                signal.connect(
                    on_tenant_row_changed,
                    sender=model,
                    dispatch_uid=f"referwell_data_version_{signal is post_save}_{model.__name__}",
                )
        # A partner's professions and niches (guidance ranks partners by them).
        for through in (Partner.professions.through, Partner.niches.through):
            m2m_changed.connect(
                on_partner_links_changed,
                sender=through,
                dispatch_uid=f"referwell_data_version_{through.__name__}",
            )
