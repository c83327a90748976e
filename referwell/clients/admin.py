from django.contrib import admin

from referwell.clients.models import Client, Consent, Visit


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin[Client]):
    list_display = ["last_name", "first_name", "practice", "stream", "first_seen"]
    list_filter = ["practice", "stream"]
    search_fields = ["last_name", "first_name", "email"]


admin.site.register(Visit)
admin.site.register(Consent)
