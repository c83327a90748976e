from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DirectoryConfig(AppConfig):
    name = "referwell.directory"
    label = "directory"

    def ready(self) -> None:
        from referwell.directory.professions import professions_sync

        post_migrate.connect(professions_sync, sender=self, dispatch_uid="professions_sync")
