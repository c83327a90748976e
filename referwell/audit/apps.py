from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "referwell.audit"
    label = "audit"
