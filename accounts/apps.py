"""App config for accounts; registers the OpenAPI security schemes of its authentication classes."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and projects"

    def ready(self):
        from accounts.api import schema  # noqa: F401  registers the OpenAPI auth extensions
