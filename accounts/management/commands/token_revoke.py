"""manage.py token_revoke TOKEN_ID_OR_PREFIX"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import TOKEN_PREFIX, ApiToken
from accounts.services import token_revoke


class Command(BaseCommand):
    help = "Revoke an API token by its id, its d2d_<key> prefix, or the whole token."

    def add_arguments(self, parser):
        parser.add_argument("token")

    def handle(self, *args, token, **options):
        if token.isdigit():
            found = ApiToken.objects.filter(pk=int(token)).first()
        else:
            key_id = token.removeprefix(TOKEN_PREFIX).split("_")[0]
            found = ApiToken.objects.filter(key_id=key_id).first()
        if found is None:
            raise CommandError(f"no token {token!r}")
        token_revoke(token=found)
        self.stdout.write(self.style.SUCCESS(f"revoked token {found.id} of {found.user.username}"))
