"""Chain the audit entries written before the chain existed, practice by practice."""

from django.db import migrations

from referwell.audit.chain import GENESIS, hash_of


def chain_existing(apps, schema_editor):
    AuditEntry = apps.get_model("audit", "AuditEntry")
    AuditChain = apps.get_model("audit", "AuditChain")
    practice_ids = AuditEntry.objects.values_list("practice_id", flat=True).distinct()
    for practice_id in sorted(set(practice_ids)):
        prev = GENESIS
        batch = []
        for entry in AuditEntry.objects.filter(practice_id=practice_id).order_by("id").iterator(
            chunk_size=2000
        ):
            entry.prev_hash = prev
            entry.hash = prev = hash_of(entry)
            batch.append(entry)
            if len(batch) >= 1000:
                AuditEntry.objects.bulk_update(batch, ["prev_hash", "hash"])
                batch = []
        if batch:
            AuditEntry.objects.bulk_update(batch, ["prev_hash", "hash"])
        AuditChain.objects.update_or_create(practice_id=practice_id, defaults={"head_hash": prev})


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_audit_chain")]

    operations = [migrations.RunPython(chain_existing, migrations.RunPython.noop)]
