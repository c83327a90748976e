from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_member_notifications"),
    ]

    operations = [
        migrations.AddField(
            model_name="member",
            name="seen_news_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the member last marked the dashboard's news seen.",
                null=True,
                verbose_name="news marked seen at",
            ),
        ),
    ]
