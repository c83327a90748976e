from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "referwell.accounts"
    label = "accounts"
