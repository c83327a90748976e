from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from referwell.accounts.models import ApiToken, Member, Practice, User


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MemberInline(admin.TabularInline[Member, Practice]):
    model = Member
    extra = 0


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin[Practice]):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MemberInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ["prefix", "member", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["token_hash", "prefix"]
