from __future__ import annotations

import base64
import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from referwell.accounts.models import Practice, User
from referwell.audit.services import log_action, update_with_audit
from referwell.clients.documents import PDF, consent_pdf
from referwell.clients.models import (
    SCOPE_RANK,
    Client,
    Consent,
    ConsentScope,
    SignedHow,
    Visit,
    hash_consent_token,
)
from referwell.clients.selectors import consent_covering
from referwell.core.mail import queue_email
from referwell.directory.models import Partner, Profession


def _check_sources(client: Client) -> None:
    """A client's source partner or client must belong to the same practice."""
    for attr in ("source_partner", "source_client"):
        other = getattr(client, attr)
        if other is not None and other.practice_id != client.practice_id:
            raise ValidationError({attr: "Not found in this practice."})


@transaction.atomic
def client_create(*, practice: Practice, by: User | None, fields: dict[str, Any]) -> Client:
    client = Client(practice=practice, **fields)
    _check_sources(client)
    client.full_clean(exclude=["practice"])
    client.save()
    log_action(practice=practice, actor=by, action="referwell.client.created", obj=client)
    if client.source_partner or client.source_client or client.source_name:
        referral_in_record(client=client, by=by)
    return client


def referral_in_record(*, client: Client, by: User | None, reasons: str = "") -> models.Model:
    """A new client someone sent us: a referral in, which the thank-you and reports follow.
    Returns the referrals.Referral, which this app (below referrals) does not name."""
    from referwell.referrals.models import Direction
    from referwell.referrals.services import referral_create

    who = client.source_partner or client.source_client or client.source_name
    return referral_create(
        practice=client.practice,
        by=by,
        fields={
            "direction": Direction.IN,
            "client": client,
            "partner": client.source_partner,
            "referrer_client": client.source_client,
            "referrer_name": client.source_name,
            "reasons": reasons or f"New client referred by {who}.",
        },
    )


@transaction.atomic
def client_update(*, client: Client, by: User | None, fields: dict[str, Any]) -> Client:
    """The client's fields changed (the intake's encrypted text too: compared as read, stored
    encrypted), the sources checked to be the practice's; the audit names the fields only."""

    def check() -> None:
        _check_sources(client)
        client.full_clean(exclude=["practice"])

    update_with_audit(
        client,
        practice=client.practice,
        by=by,
        action="referwell.client.changed",
        fields=fields,
        check=check,
    )
    return client


@transaction.atomic
def visit_create(
    *,
    client: Client,
    by: User | None,
    date: dt.date,
    service: str,
    fee: Decimal | int | float = 0,
    notes: str = "",
    payer: str = "client",
) -> Visit:
    visit = Visit(
        practice=client.practice,
        client=client,
        date=date,
        service=service,
        fee=Decimal(str(fee)),
        payer=payer,
        notes=notes,
    )
    visit.full_clean(exclude=["practice", "client"])
    visit.save()
    if client.first_seen is None or date < client.first_seen:
        client.first_seen = date
        client.save(update_fields=["first_seen", "updated_at"])
    log_action(
        practice=client.practice,
        actor=by,
        action="referwell.visit.created",
        obj=visit,
        data={"client": client.pk},
    )
    return visit


# --- Consent ----------------------------------------------------------------------------------
#
# Which consent each kind of communication about a client needs: the one place of this rule
# (the referral's moves, the letters and reports ask it). A letter or a report with clinical
# content — the reason for a referral, how treatment goes — is writing: a consent to talk does
# not let it go out.
CONSENT_FOR_KIND: dict[str, str] = {
    "talk": ConsentScope.TALK,  # a call or a meeting about the client (a referral "consented")
    "thanks_care": ConsentScope.TALK,  # a thank-you that names the client, nothing clinical
    "referral": ConsentScope.REPORT,  # the referral letter: the client's name and the reason
    "progress_report": ConsentScope.REPORT,
    "records": ConsentScope.RECORDS,
}
# Why a kind needs more than talk, said when it is refused.
KIND_WHY = {
    "referral": "a referral letter gives the reason for the referral in writing",
    "progress_report": "a progress report says in writing how treatment goes",
    "records": "it sends copies of records",
}


def consent_scope_for(kind: str) -> str:
    """The scope of consent that `kind` (a key of CONSENT_FOR_KIND) needs."""
    return CONSENT_FOR_KIND[kind]


def consent_refusal(
    *,
    client: Client,
    kind: str,
    partner: Partner | None = None,
    profession: Profession | None = None,
    on: dt.date | None = None,
    record_url: str = "",
) -> str:
    """Why nothing of `kind` may go out about the client, in plain words: which consent is
    missing, what the client agreed to instead (if anything), and where to record it."""
    scope = consent_scope_for(kind)
    label = ConsentScope(scope).label
    name = client.first_name or "The client"
    whom = str(partner or profession or "this professional")
    slugs: set[str] = {profession.pk} if profession else set()
    why = KIND_WHY.get(kind, "")
    held = None
    narrower = [s for s, r in SCOPE_RANK.items() if r < SCOPE_RANK[scope]]
    for lower in sorted(narrower, key=SCOPE_RANK.__getitem__, reverse=True):
        held = consent_covering(
            client=client, scope=lower, partner=partner, profession_slugs=slugs, on=on
        )
        if held is not None:
            break
    words = ["Not sent:"] if kind != "talk" else []
    if held is not None:
        words.append(
            f"{name} has agreed only to “{held.get_scope_display()}” with {whom}; {why}, which "
            f"needs consent to “{label}”."
        )
    else:
        words.append(
            f"{name} has not given consent to “{label}” with {whom}"
            + (f" ({why})." if why else ".")
        )
    wider = [s for s, r in SCOPE_RANK.items() if r >= SCOPE_RANK[scope]]
    waiting = Consent.objects.for_practice(client.practice).filter(
        client=client, awaiting_signature=True, revoked_at__isnull=True, scope__in=wider
    )
    if waiting.exists():
        words.append(f"A consent is waiting for {name}'s signature.")
    if record_url:
        words.append(f"Record it: {record_url}")
    return " ".join(words)


@transaction.atomic
def consent_create(*, client: Client, by: User | None, fields: dict[str, Any]) -> Consent:
    consent = Consent(practice=client.practice, client=client, **fields)
    if consent.partner is not None and consent.partner.practice_id != client.practice_id:
        raise ValidationError({"partner": "Not found in this practice."})
    # The link's hash is random (256 bits): its uniqueness is the database's guard, not a query.
    consent.full_clean(exclude=["practice", "client", "link_hash"])
    consent.save()
    log_action(
        practice=client.practice,
        actor=by,
        action="referwell.consent.recorded",
        obj=consent,
        data={"client": client.pk, "scope": consent.scope},
    )
    return consent


# How the client agrees, chosen on the consent form.
HOW_SIGN_HERE, HOW_LINK, HOW_PAPER, HOW_NOTED = "sign_here", "link", "paper", "noted"


def consent_record(
    *,
    client: Client,
    by: User | None,
    fields: dict[str, Any],
    how: str,
    paper: tuple[bytes, str] | None = None,
    base_url: str = "",
) -> Consent:
    """A consent as the form records it: noted (counts at once), signed on paper (the form
    uploaded; counts at once), or waiting for the client's signature — here on the practice's
    screen, or through a link e-mailed to the client."""
    fields = {**fields, "awaiting_signature": how in (HOW_SIGN_HERE, HOW_LINK)}
    if how not in (HOW_PAPER, HOW_LINK):  # one write: consent_create's own transaction
        return consent_create(client=client, by=by, fields=fields)
    if how == HOW_PAPER and paper is None:
        raise ValidationError("Upload the signed form.")
    with transaction.atomic():  # the consent with its paper form, or with its link: both or none
        consent = consent_create(client=client, by=by, fields=fields)
        if how == HOW_PAPER and paper is not None:
            consent_attach_paper(consent=consent, by=by, content=paper[0], content_type=paper[1])
        else:
            consent_link_send(consent=consent, by=by, base_url=base_url)
    return consent


def _store_form(consent: Consent, content: bytes, content_type: str) -> None:
    consent.signed_form = base64.b64encode(content).decode("ascii")
    consent.signed_form_type = content_type


@transaction.atomic
def consent_sign(
    *,
    consent: Consent,
    how: str,
    name: str,
    signature: bytes,
    by: User | None,
    ip_address: str | None = None,
) -> Consent:
    """The client signs (on the practice's screen, or through their link): the consent counts
    from now, and the signed form is kept as a PDF — what was agreed, who, when and how."""

    consent = (
        # Only the consent's row is locked (PostgreSQL locks no nullable side of a join).
        Consent.objects.select_for_update(of=("self",))
        .select_related("client", "practice", "partner", "profession")
        .get(pk=consent.pk)
    )
    if consent.revoked_at is not None:
        raise ValidationError("This consent was withdrawn: it can no longer be signed.")
    if consent.is_signed:
        raise ValidationError("This consent is already signed.")
    consent.signed_how = how
    consent.signed_at = timezone.now()
    consent.signed_name = name.strip()[:200]
    consent.awaiting_signature = False
    witness = by.get_full_name() if by is not None else ""
    _store_form(consent, consent_pdf(consent, signature=signature, witness=witness), PDF)
    consent.save()
    log_action(
        practice=consent.practice,
        actor=by,
        action="referwell.consent.signed",
        obj=consent,
        data={"client": consent.client_id, "how": how},
        ip_address=ip_address,
    )
    return consent


@transaction.atomic
def consent_attach_paper(
    *, consent: Consent, by: User | None, content: bytes, content_type: str
) -> Consent:
    """The paper form the client signed, uploaded (checked by documents.paper_form): the
    consent counts from now."""
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    if consent.revoked_at is not None:
        raise ValidationError("This consent was withdrawn: record a new one.")
    if consent.is_signed:
        raise ValidationError("This consent is already signed.")
    consent.signed_how = SignedHow.PAPER
    consent.signed_at = timezone.now()
    consent.awaiting_signature = False
    _store_form(consent, content, content_type)
    consent.save()
    log_action(
        practice=consent.practice,
        actor=by,
        action="referwell.consent.paper_uploaded",
        obj=consent,
        data={"client": consent.client_id, "type": content_type, "bytes": len(content)},
    )
    return consent


def consent_form_file(consent: Consent) -> tuple[bytes, str]:
    """The signed form's bytes and content type (empty when there is none)."""
    if not consent.signed_form:
        return b"", ""
    return base64.b64decode(consent.signed_form), consent.signed_form_type


CLIENT_LINK_PATH = "/consent/{token}/"  # referwell/clients/public_urls.py, under "consent/"


def consent_link_send(*, consent: Consent, by: User | None, base_url: str) -> str:
    """A new link for the client to sign (and later withdraw) this consent, e-mailed through the
    outbox; an earlier link of the consent stops working. Returns the link."""
    client = consent.client
    if not client.email:
        raise ValidationError(
            f"{client.first_name} has no e-mail address: add one on their page, or choose "
            "another way."
        )
    if consent.revoked_at is not None:
        raise ValidationError("This consent was withdrawn: record a new one.")
    with transaction.atomic():  # the new link and its e-mail (queued): both or none
        return _link_send(consent, by, base_url)


def _link_send(consent: Consent, by: User | None, base_url: str) -> str:
    client = consent.client
    token = secrets.token_urlsafe(32)
    consent.link_hash = hash_consent_token(token)
    consent.link_expires_at = timezone.now() + Consent.LINK_LIFETIME
    consent.save(update_fields=["link_hash", "link_expires_at", "updated_at"])
    url = base_url.rstrip("/") + CLIENT_LINK_PATH.format(token=token)
    practice = consent.practice
    until = timezone.localtime(consent.link_expires_at)
    contact = " or ".join(x for x in (practice.phone, practice.email) if x)
    body = (
        f"Hello {client.first_name},\n\n"
        f"{practice.name} asks for your permission to share information about you with "
        "another professional who cares for you. The page below says what, and with whom, in "
        "plain words; you can sign it there with your finger or a mouse — no account needed.\n\n"
        f"{url}\n\n"
        f"The link works until {until:%B} {until.day}, {until.year}. Through it you can also "
        "withdraw your permission later.\n\n"
        "If you did not expect this, you can ignore it"
        + (f", or contact {practice.name} at {contact}" if contact else "")
        + f".\n\n{practice.name}\n"
    )
    # No client information in the subject; the body names no professional.
    queue_email(f"Your permission, for {practice.name}", body, [client.email])
    log_action(
        practice=practice,
        actor=by,
        action="referwell.consent.link_sent",
        obj=consent,
        data={"client": client.pk},
    )
    return url


@transaction.atomic
def consent_link_opened(*, consent: Consent, ip_address: str | None) -> None:
    """The client's page was fetched: counted and audited (mail scanners fetch links too)."""
    Consent.objects.filter(pk=consent.pk).update(
        link_uses=models.F("link_uses") + 1, link_used_at=timezone.now()
    )
    log_action(
        practice=consent.practice,
        actor=None,
        action="referwell.consent.link_opened",
        obj=consent,
        data={"client": consent.client_id},
        ip_address=ip_address,
    )


def consent_copy_downloaded(*, consent: Consent, ip_address: str | None) -> None:
    log_action(
        practice=consent.practice,
        actor=None,
        action="referwell.consent.copy_downloaded",
        obj=consent,
        data={"client": consent.client_id},
        ip_address=ip_address,
    )


@transaction.atomic
def consent_revoke(
    *, consent: Consent, by: User | None, by_client: bool = False, ip_address: str | None = None
) -> Consent:
    now = timezone.now()
    # One conditional update: the practice and the client (through the link) may both revoke at
    # once; only the first is recorded.
    changed = Consent.objects.filter(pk=consent.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by_client=by_client, awaiting_signature=False, updated_at=now
    )
    if changed:
        consent.revoked_at, consent.revoked_by_client = now, by_client
        consent.awaiting_signature = False
        log_action(
            practice=consent.practice,
            actor=by,
            action="referwell.consent.revoked",
            obj=consent,
            data={"client": consent.client_id, **({"via": "link"} if by_client else {})},
            ip_address=ip_address,
        )
    return consent
