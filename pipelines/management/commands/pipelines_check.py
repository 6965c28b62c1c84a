"""Check that sources and destinations can be reached with their configs."""

import json

from django.core.management.base import BaseCommand, CommandError

from kernel.errors import DomainError
from pipelines.models import Destination, Job, Source
from pipelines.selectors import by_ref
from pipelines.services import KIND_OF_MODEL, connector_test


class Command(BaseCommand):
    help = "Test the connection of a source, a destination, a job's two ends, or a --type/--config; exits 1 on failure."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--source")
        target.add_argument("--destination")
        target.add_argument("--job")
        target.add_argument("--type", help="with --kind and --config")
        parser.add_argument("--kind", choices=["source", "destination"], default="source")
        parser.add_argument("--config", help="JSON (with --type)")
        parser.add_argument("--connector-version", dest="connector_version", default="latest")
        parser.add_argument("--project")

    def handle(self, *args, source, destination, job, type, kind, config, connector_version, project, **options):
        if job:
            job_obj = by_ref(Job, job, project)
            targets = [job_obj.source, job_obj.destination]
        elif source:
            targets = [by_ref(Source, source, project)]
        elif destination:
            targets = [by_ref(Destination, destination, project)]
        else:
            targets = [None]
        failed = False
        for obj in targets:
            if obj is None:
                label, call = f"{kind} {type}", {"kind": kind, "type": type, "version": connector_version, "config": json.loads(config or "{}"), "project_id": project}
            else:
                label = f"{obj._meta.verbose_name} {obj.name}"
                call = {"kind": KIND_OF_MODEL[obj.__class__], "type": obj.type, "version": obj.version, "config": obj.config, "project_id": obj.project_id}
            try:
                connector_test(**call)
                self.stdout.write(self.style.SUCCESS(f"{label}: OK"))
            except DomainError as exc:
                failed = True
                self.stdout.write(self.style.ERROR(f"{label}: {exc.message}"))
        if failed:
            raise CommandError("connection check failed")
