"""manage.py token_issue USERNAME [--name NAME] [--days N]: prints the token once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import token_issue


class Command(BaseCommand):
    help = "Issue an API token for a user. The token is printed once; only its hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")
        parser.add_argument("--days", type=int, default=None, help="lifetime; 0 never expires (default D2D_TOKEN_TTL_DAYS)")

    def handle(self, *args, username, name, days, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        token, plain = token_issue(user=user, name=name, ttl_days=days)
        self.stderr.write(f"token id {token.id} for {username}, expires {token.expires_at or 'never'}")
        self.stdout.write(plain)
