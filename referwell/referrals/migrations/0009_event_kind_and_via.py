"""A referral's timeline tells a move from a note and an undo (issue 23: moves are deliberate),
and says how a step came about in a field of its own.

Before, a step's note began with "[partner link] ", "[letter] " or "[report] ", and a partner's
note was a "move" from a status to the same status. The rows are rewritten: the tag moves to
`via` (the note keeps the rest), and a step that did not move is a note. Notes are encrypted,
so they are read and written through the field (a new token each time)."""

import re

from django.db import migrations, models

TAG = re.compile(r"^\[(partner link|letter|report)\] ?")


def forwards(apps, schema_editor):
    Event = apps.get_model("referrals", "ReferralEvent")
    # A step that did not move (from a status to the same one) is a note: a partner's, before.
    Event.objects.exclude(from_status="").filter(from_status=models.F("to_status")).update(
        kind="note"
    )
    changed = []
    for event in Event.objects.exclude(note="").only("pk", "note").order_by("pk").iterator():
        match = TAG.match(event.note)
        if match:
            event.via = match.group(1)
            event.note = event.note[match.end() :]
            changed.append(event)
        if len(changed) >= 500:
            Event.objects.bulk_update(changed, ["via", "note"])
            changed.clear()
    if changed:
        Event.objects.bulk_update(changed, ["via", "note"])


def backwards(apps, schema_editor):
    Event = apps.get_model("referrals", "ReferralEvent")
    changed = []
    for event in Event.objects.exclude(via="").only("pk", "via", "note").order_by("pk").iterator():
        event.note = f"[{event.via}] {event.note}"
        changed.append(event)
    if changed:
        Event.objects.bulk_update(changed, ["note"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0008_referral_sent_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="referralevent",
            name="kind",
            field=models.CharField(
                choices=[("move", "Move"), ("note", "Note"), ("undo", "Undo")],
                default="move",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="referralevent",
            name="via",
            field=models.CharField(
                blank=True,
                choices=[
                    ("letter", "the referral letter"),
                    ("report", "a progress report"),
                    ("partner link", "the secure link"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
