"""Print the provider's Ethereum address (where consumers send datatokens); never the key."""

from django.core.management.base import BaseCommand

from compute.keys import provider_address


class Command(BaseCommand):
    help = "Print the Ocean provider's address, derived from D2D_PROVIDER_PRIVATE_KEY or the generated key."

    def handle(self, *args, **options):
        self.stdout.write(provider_address())
