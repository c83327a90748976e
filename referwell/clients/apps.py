from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "referwell.clients"
    label = "clients"
