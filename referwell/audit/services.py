import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from referwell.accounts.http import PracticeRequest
from referwell.accounts.models import Practice, User
from referwell.audit.chain import GENESIS, canonical_data, hash_of, prefix_of
from referwell.audit.models import AuditChain, AuditEntry, Disclosure

SENSITIVE_KEYS = {"password", "token", "notes", "history", "complaints", "goals", "text"}


def _mask(data: dict[str, Any]) -> dict[str, Any]:
    return {k: ("***" if k in SENSITIVE_KEYS else v) for k, v in data.items()}


def _ip(value: str | None) -> str | None:
    """The address as the database will store it (so the hash matches), None if not one."""
    value = (value or "").strip()
    try:
        validate_ipv46_address(value)
    except ValidationError:
        return None
    prepared: str = AuditEntry._meta.get_field("ip_address").get_prep_value(value)
    return prepared


def request_ip(request: HttpRequest) -> str | None:
    """Where a request came from, for the audit trail ("from where")."""
    return _ip(request.META.get("REMOTE_ADDR"))


def _concrete(name: str) -> models.Field[Any, Any]:
    """The field `name` of AuditEntry (each one named is a column, not a relation's far end)."""
    field = AuditEntry._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _column(field: models.Field[Any, Any]) -> str:
    """The column of a concrete field (Django sets it for every field that has one)."""
    assert field.column is not None
    return field.column


def _chain_locked(practice_id: int) -> AuditChain:
    """The practice's chain head, locked until the transaction ends (PostgreSQL; SQLite's
    IMMEDIATE transactions already let one writer at a time)."""
    chain, _ = AuditChain.objects.select_for_update().get_or_create(practice_id=practice_id)
    return chain


def log_action(
    *,
    practice: Practice,
    actor: User | AnonymousUser | None,
    action: str,
    obj: models.Model | None = None,
    data: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEntry:
    """Record an action; sensitive payload keys are masked so the audit never holds PHI text.
    The entry is chained to the practice's previous one (see audit/chain.py)."""
    entry = AuditEntry(
        practice=practice,
        actor=actor if isinstance(actor, User) else None,  # an AnonymousUser is nobody
        action=action,
        object_type=(obj._meta.model_name or "") if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        data=canonical_data(_mask(data or {})),
        ip_address=_ip(ip_address),
    )
    if connection.vendor == "postgresql" and _append_in_one_statement(entry):
        return entry
    # No savepoint: if the entry cannot be written, the action it records must not be either.
    with transaction.atomic(savepoint=False):
        _append(entry)
    return entry


# What an update never sets: the key, the tenant, the timestamps Django keeps.
NEVER_UPDATED = frozenset({"practice", "created_at", "updated_at"})
_UNLOADED = object()


def update_with_audit(
    obj: models.Model,
    *,
    practice: Practice,
    by: User | None,
    action: str,
    fields: dict[str, Any],
    check: Callable[[], None] | None = None,
    not_allowed: Iterable[str] = (),
) -> list[str]:
    """The one way the `*_update` services change a record: set `fields` (each an editable
    field of the model, other than the key, the practice, the timestamps and `not_allowed`:
    ValueError for another), run `check` (the service's own validation, `full_clean`, the
    values it derives: a partner's place from its ZIP code…), save only the columns whose
    value changed (`update_fields`, with `updated_at`; nothing when none did), and record one
    audit entry, `action`, naming the fields given that changed — their names only, never
    their values. Returns those names, sorted."""
    meta = obj._meta
    concrete = [f for f in meta.concrete_fields if not f.primary_key]
    excluded = NEVER_UPDATED | set(not_allowed)
    allowed = {f.name: f.attname for f in concrete if f.editable and f.name not in excluded}
    refused = sorted(set(fields) - set(allowed))
    if refused:
        raise ValueError(f"{meta.label}: {', '.join(refused)} cannot be changed here")
    given = {allowed[key] for key in fields}
    # Before the change, as the instance holds it (a deferred field is not loaded to be
    # compared)...
    before = {f.attname: vars(obj).get(f.attname, _UNLOADED) for f in concrete}
    for key, value in fields.items():
        setattr(obj, key, value)
    # ...except a field given that the instance already held with its new value: a ModelForm
    # puts its values on the instance before the service runs, so what is stored is read
    # (one query, only then).
    same = [a for a in given if vars(obj).get(a, _UNLOADED) == before[a] or before[a] is _UNLOADED]
    if same:
        stored = type(obj)._base_manager.filter(pk=obj.pk).values(*same).first() or {}
        before.update({a: stored.get(a, _UNLOADED) for a in same})
    if check is not None:
        check()

    def differs(field: models.Field[Any, Any]) -> bool:
        was = before[field.attname]
        if was is _UNLOADED:  # deferred and not read: changed when given
            return field.attname in given
        return bool(vars(obj).get(field.attname, _UNLOADED) != was)

    changed = [f for f in concrete if differs(f)]
    if changed:
        automatic = [f.name for f in concrete if getattr(f, "auto_now", False)]
        obj.save(update_fields=[f.name for f in changed] + automatic)
    columns = {f.attname for f in changed}
    names = sorted(key for key in fields if allowed[key] in columns)
    log_action(practice=practice, actor=by, action=action, obj=obj, data={"fields": names})
    return names


def _append_in_one_statement(entry: AuditEntry) -> bool:
    """PostgreSQL: chain and write the entry in one statement — lock the head, insert the entry
    hashed by the database (SHA-256 of `content_prefix`, computed here, and the tail of its
    time and the head's hash), move the head — so that the head is locked for no round trip
    between the app and the database, and outside a transaction the statement is its own (one
    round trip in all, instead of five). The hash is the one `hash_of` computes (the verifier's).
    False, and nothing written, when the practice has no chain head yet (its first entry)."""
    quote = connection.ops.quote_name
    chain_table = quote(AuditChain._meta.db_table)
    entry_table = quote(AuditEntry._meta.db_table)
    fields = [
        _concrete(name)
        for name in (
            "practice",
            "actor",
            "action",
            "object_type",
            "object_id",
            "data",
            "ip_address",
        )
    ]
    prefix = prefix_of(entry)
    # The time is taken once the head is locked, so that the entries' times follow the chain.
    # to_char gives canonical_at's form (UTC, microseconds); the head's hash is hex.
    tail = (
        "'\"' || to_char(h.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') "
        "|| '+00:00\",\"' || h.head_hash || '\"]'"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH head AS (SELECT id, head_hash FROM {chain_table} "  # noqa: S608  # nosec B608 — our names
            "WHERE practice_id = %s FOR UPDATE), "
            "h AS (SELECT id, head_hash, clock_timestamp() AS at FROM head), "
            f"entry AS (INSERT INTO {entry_table} "
            f"({', '.join(quote(_column(f)) for f in fields)}, at, prev_hash, hash) "
            f"SELECT {', '.join(['%s'] * len(fields))}, h.at, h.head_hash, "
            f"encode(sha256(convert_to(%s || {tail}, 'UTF8')), 'hex') FROM h "
            "RETURNING id, at, prev_hash, hash), "
            f"moved AS (UPDATE {chain_table} c SET head_hash = entry.hash FROM entry, h "
            "WHERE c.id = h.id) "
            "SELECT id, at, prev_hash, hash FROM entry",
            [
                entry.practice_id,
                *(f.get_db_prep_save(getattr(entry, f.attname), connection) for f in fields),
                prefix,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    entry.pk, entry.at, entry.prev_hash, entry.hash = row
    entry._state.adding = False
    entry._state.db = connection.alias
    return True


def _append(entry: AuditEntry) -> None:
    """Chain the entry to its practice's head and write both. While the head is locked every
    other writer of the practice waits (on SQLite, every writer of the database: this runs for
    each client page viewed), so the lock is held for three plain statements, not for the
    ORM's building of them (measured: 0.6 → 0.1 ms held; with 8 users on 2 cores, a holder
    taken off the CPU made the others wait 20 ms and more)."""
    quote = connection.ops.quote_name
    chain_table = quote(AuditChain._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, head_hash FROM {chain_table} WHERE practice_id = %s{lock}",  # noqa: S608  # nosec B608 — our names
            [entry.practice_id],
        )
        row = cursor.fetchone()
        if row is None:  # the practice's first entry
            chain = _chain_locked(entry.practice_id)
            row = (chain.pk, chain.head_hash)
        chain_id, head = row
        entry.at = timezone.now()
        entry.prev_hash = head
        entry.hash = hash_of(entry)
        fields = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key]
        # RETURNING where the database has it (SQLite from 3.35, as Django itself decides).
        returning = connection.features.can_return_columns_from_insert
        cursor.execute(
            f"INSERT INTO {quote(AuditEntry._meta.db_table)} "  # noqa: S608  # nosec B608
            f"({', '.join(quote(_column(f)) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})"
            + (f" RETURNING {quote(_column(AuditEntry._meta.pk))}" if returning else ""),
            [f.get_db_prep_save(getattr(entry, f.attname), connection) for f in fields],
        )
        entry.pk = cursor.fetchone()[0] if returning else cursor.lastrowid
        cursor.execute(
            f"UPDATE {chain_table} SET head_hash = %s WHERE id = %s",  # noqa: S608  # nosec B608
            [entry.hash, chain_id],
        )
    entry._state.adding = False
    entry._state.db = connection.alias


def log_request(
    request: PracticeRequest,
    *,
    action: str,
    obj: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """log_action for a page: the member, their practice and the request's address."""
    return log_action(
        practice=request.practice,
        actor=request.user,
        action=action,
        obj=obj,
        data=data,
        ip_address=request_ip(request),
    )


def log_read(
    request: PracticeRequest,
    *,
    action: str,
    ids: Iterable[object],
    obj: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """A read of client information (a list, a search, a page, a FHIR read): ONE entry for the
    request that names every record it returned (`ids`, `count`), never one entry per row.
    For pages and token requests alike (the API's token sets request.user and .practice)."""
    named = list(ids)
    return log_request(
        request, action=action, obj=obj, data={**(data or {}), "ids": named, "count": len(named)}
    )


def on_page_read(
    sender: object, *, request: PracticeRequest, action: str, ids: list[object], **_: object
) -> None:
    """The receiver of core.schemas.page_read: a page of client information the API answered
    (behind the API's token: a member and their practice)."""
    log_read(request, action=action, ids=ids)


def audit_chain_rebuild(*, practice: Practice) -> int:
    """Chain a practice's entries anew, in the order they were written, from a fresh start.
    Only for entries that were not written by log_action: a restored archive (whose keys,
    and so whose hashes, are new). Returns the number of entries."""
    with transaction.atomic():
        chain = _chain_locked(practice.pk)
        prev = GENESIS
        batch: list[AuditEntry] = []
        count = 0
        for entry in (
            AuditEntry.objects.filter(practice_id=practice.pk)
            .order_by("id")
            .iterator(chunk_size=2000)
        ):
            entry.prev_hash = prev
            entry.hash = prev = hash_of(entry)
            batch.append(entry)
            count += 1
            if len(batch) >= 1000:
                AuditEntry.objects.bulk_update(batch, ["prev_hash", "hash"])
                batch = []
        if batch:
            AuditEntry.objects.bulk_update(batch, ["prev_hash", "hash"])
        AuditChain.objects.filter(pk=chain.pk).update(
            head_hash=prev, anchor_hash=GENESIS, pruned_before=None, pruned_count=0
        )
    return count


def audit_prune(*, practice: Practice, before: dt.datetime) -> int:
    """Delete the practice's entries written before `before` (retention), oldest first and
    without gaps: the chain's anchor keeps the hash of the last one deleted, so the entries
    kept still verify and a deletion among them is still seen. Returns how many went."""
    with transaction.atomic():
        chain = _chain_locked(practice.pk)
        entries = AuditEntry.objects.filter(practice_id=practice.pk)
        first_kept = entries.filter(at__gte=before).order_by("id").values_list("id", flat=True)
        boundary = first_kept.first()
        doomed = entries if boundary is None else entries.filter(id__lt=boundary)
        last = doomed.order_by("-id").values_list("hash", flat=True).first()
        if last is None:
            return 0
        count, _ = doomed.delete()
        AuditChain.objects.filter(pk=chain.pk).update(
            anchor_hash=last,
            pruned_before=before,
            pruned_count=models.F("pruned_count") + count,
        )
        log_action(
            practice=practice,
            actor=None,
            action="referwell.audit.pruned",
            data={"entries": count, "before": before.astimezone(dt.UTC).isoformat()},
        )
    return count


class DisclosedClient(Protocol):
    """What a disclosure reads of its client (a clients.Client, in a layer above audit)."""

    @property
    def pk(self) -> int: ...
    @property
    def practice(self) -> Practice: ...


def disclosure_record(
    *,
    client: DisclosedClient,
    recipient: str,
    channel: str,
    what: str,
    by: User | AnonymousUser | None,
    consent: models.Model | None = None,  # a clients.Consent
    referral: models.Model | None = None,  # a referrals.Referral
    partner: models.Model | None = None,  # a directory.Partner
) -> Disclosure:
    """Every letter, e-mail, link or report that carries client information is recorded here,
    by the service that sends it. The client, referral, partner and consent are written by
    their ids: their models belong to the apps above audit."""
    disclosure = Disclosure.objects.create(
        practice=client.practice,
        client_id=client.pk,
        referral_id=referral.pk if referral is not None else None,
        partner_id=partner.pk if partner is not None else None,
        recipient=recipient[:300],
        channel=channel,
        what=what[:300],
        consent_id=consent.pk if consent is not None else None,
        by=by if isinstance(by, User) else None,  # an AnonymousUser is nobody
    )
    log_action(
        practice=client.practice,
        actor=by,
        action="referwell.disclosure.recorded",
        obj=disclosure,
        data={"client": client.pk, "channel": channel},
    )
    return disclosure
