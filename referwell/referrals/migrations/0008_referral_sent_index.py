from django.db import migrations, models


def analyze(apps, schema_editor):
    """Statistics for the new index at once: without them SQLite guessed it the most selective
    of all and read the whole referral list through it (42 → 207 ms on 100,000 referrals)."""
    table = schema_editor.quote_name(apps.get_model("referrals", "Referral")._meta.db_table)
    schema_editor.execute(f"ANALYZE {table}")


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0007_referral_today_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(fields=["practice", "status", "sent_at"], name="referral_sent_idx"),
        ),
        migrations.RunPython(analyze, migrations.RunPython.noop, elidable=True),
    ]
