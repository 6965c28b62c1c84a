"""manage.py project_add_member PROJECT USERNAME --role owner|editor|viewer"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Project, Role
from accounts.services import membership_set
from kernel.errors import DomainError


class Command(BaseCommand):
    help = "Add a user to a project with a role, or change their role."

    def add_arguments(self, parser):
        parser.add_argument("project_id")
        parser.add_argument("username")
        parser.add_argument("--role", choices=Role.values, default=Role.VIEWER)

    def handle(self, *args, project_id, username, role, **options):
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"no project {project_id!r}")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        try:
            membership_set(project=project, user=user, role=role)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"{username} is {role} of {project_id}"))
