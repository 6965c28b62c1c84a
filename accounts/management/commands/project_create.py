"""manage.py project_create ID NAME [--owner USERNAME]"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import project_create
from kernel.errors import DomainError


class Command(BaseCommand):
    help = "Create a project (tenant), optionally with an owner."

    def add_arguments(self, parser):
        parser.add_argument("project_id", help="readable id, e.g. olake")
        parser.add_argument("name")
        parser.add_argument("--owner", help="username of the first owner")

    def handle(self, *args, project_id, name, owner, **options):
        user = None
        if owner:
            user = get_user_model().objects.filter(username=owner).first()
            if user is None:
                raise CommandError(f"no user {owner!r}")
        try:
            project = project_create(project_id=project_id, name=name, owner=user)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"created project {project.id}"))
