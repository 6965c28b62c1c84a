"""App config for accounts: the OpenAPI security schemes of its authentication classes; project scoping of every admin."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and projects"

    def ready(self):
        from accounts.admin_scoping import scope_admin_site
        from accounts.api import schema  # noqa: F401  registers the OpenAPI auth extensions

        # django.contrib.admin, listed first, has registered every app's admin by now (its ready()
        # runs autodiscover), so this reaches all of them.
        scope_admin_site()
