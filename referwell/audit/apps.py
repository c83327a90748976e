from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "referwell.audit"
    label = "audit"

    def ready(self) -> None:
        from referwell.audit.services import on_page_read
        from referwell.core.schemas import page_read

        # The API's pages of client information (core.schemas.AuditedPage) are recorded here.
        page_read.connect(on_page_read, dispatch_uid="referwell_audit_page_read")
