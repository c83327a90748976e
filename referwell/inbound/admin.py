from django.contrib import admin

from referwell.inbound.models import ReferralRequest


@admin.register(ReferralRequest)
class ReferralRequestAdmin(admin.ModelAdmin[ReferralRequest]):
    list_display = ["__str__", "practice", "partner", "status", "created_at"]
    list_filter = ["practice", "status"]
    readonly_fields = ["ip_hash", "reviewed_by", "reviewed_at", "client"]
