"""manage.py ensure_admin: create the first superuser once, printing its password (or taking D2D_ADMIN_PASSWORD)."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.models import Project, Role
from accounts.services import membership_set


class Command(BaseCommand):
    help = "Create the admin superuser if no superuser exists yet."

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        username = os.environ.get("D2D_ADMIN_USER", "admin")
        email = os.environ.get("D2D_ADMIN_EMAIL", "admin@localhost")
        password = os.environ.get("D2D_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, email=email, password=password)
        for project in Project.objects.all():
            membership_set(project=project, user=user, role=Role.OWNER)
        if os.environ.get("D2D_ADMIN_PASSWORD"):
            self.stdout.write(f"created superuser {username} with the password from D2D_ADMIN_PASSWORD")
        else:
            self.stdout.write(self.style.WARNING(f"created superuser {username} with password {password} (shown once)"))
