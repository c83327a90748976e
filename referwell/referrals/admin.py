from django.contrib import admin

from referwell.referrals.models import Referral, ReferralEvent


class EventInline(admin.TabularInline[ReferralEvent, Referral]):
    model = ReferralEvent
    extra = 0


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin[Referral]):
    list_display = ["__str__", "practice", "direction", "status", "created_at"]
    list_filter = ["practice", "direction", "status"]
    inlines = [EventInline]
