from typing import Any

from django.db import models

from referwell.audit.models import AuditEntry, Disclosure

SENSITIVE_KEYS = {"password", "token", "notes", "history", "complaints", "goals", "text"}


def _mask(data: dict[str, Any]) -> dict[str, Any]:
    return {k: ("***" if k in SENSITIVE_KEYS else v) for k, v in data.items()}


def log_action(
    *,
    practice: Any,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    data: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEntry:
    """Record an action; sensitive payload keys are masked so the audit never holds PHI text."""
    return AuditEntry.objects.create(
        practice=practice,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        data=_mask(data or {}),
        ip_address=ip_address,
    )


def disclosure_record(
    *,
    client: Any,
    recipient: str,
    channel: str,
    what: str,
    by: Any,
    consent: Any = None,
    referral: Any = None,
    partner: Any = None,
) -> Disclosure:
    """Every letter, e-mail, link or report that carries client information is recorded here,
    by the service that sends it."""
    disclosure = Disclosure.objects.create(
        practice=client.practice,
        client=client,
        referral=referral,
        partner=partner,
        recipient=recipient[:300],
        channel=channel,
        what=what[:300],
        consent=consent,
        by=by if getattr(by, "is_authenticated", False) else None,
    )
    log_action(
        practice=client.practice,
        actor=by,
        action="referwell.disclosure.recorded",
        obj=disclosure,
        data={"client": client.pk, "channel": channel},
    )
    return disclosure
