"""Load users (with groups) and OAuth applications into the test provider from a JSON file."""

import json
from pathlib import Path

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from oauth2_provider.models import Application


class Command(BaseCommand):
    help = "seed_provider spec.json: {users: [...], applications: [...]}"

    def add_arguments(self, parser):
        parser.add_argument("spec")

    def handle(self, *args, spec, **options):
        data = json.loads(Path(spec).read_text())
        for entry in data.get("users", []):
            user = User.objects.create_user(
                entry["username"], email=entry["email"], password=entry["password"], first_name=entry.get("first_name", "")
            )
            user.groups.set([Group.objects.get_or_create(name=name)[0] for name in entry.get("groups", [])])
        for entry in data.get("applications", []):
            Application.objects.create(
                name=entry["client_id"],
                client_id=entry["client_id"],
                client_secret=entry.get("client_secret", ""),
                client_type=entry["client_type"],
                authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
                redirect_uris=" ".join(entry["redirect_uris"]),
                algorithm=Application.RS256_ALGORITHM,
                skip_authorization=False,
            )
