from django.contrib import admin

from referwell.directory.models import Niche, Partner, Profession, Touchpoint


@admin.register(Profession)
class ProfessionAdmin(admin.ModelAdmin[Profession]):
    list_display = ["slug", "name", "is_provider"]


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin[Partner]):
    list_display = ["name", "practice", "stage", "city", "zip_code"]
    list_filter = ["stage", "practice"]
    search_fields = ["name", "clinic"]


admin.site.register(Niche)
admin.site.register(Touchpoint)
