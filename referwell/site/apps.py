from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The top layer: what puts the apps together — the URL and API assembly, the dashboard,
    the demo practice and the data generator, the command line and its process commands."""

    name = "referwell.site"
    label = "site"
    verbose_name = "Referwell"
