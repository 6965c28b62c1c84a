"""Expire overdue open commits so their pictures return to the pool (apply also does this lazily)."""

from django.core.management.base import BaseCommand

from labeling.services import commits_expire


class Command(BaseCommand):
    help = "Expire open labeling commits past their expiry; their held pictures go back to the pool."

    def handle(self, *args, **options):
        count = commits_expire()
        self.stdout.write(f"expired {count} commit(s)")
