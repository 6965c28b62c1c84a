"""Print a source's catalog (streams, columns, keys, cursor fields) as JSON."""

import json

from django.core.management.base import BaseCommand, CommandError

from kernel.errors import DomainError
from pipelines.models import Job, Source
from pipelines.selectors import by_ref
from pipelines.services import job_update, source_discover


class Command(BaseCommand):
    help = "Discover the streams of a saved source, of a job's source (merged with its choices), or of a config."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--source", help="a saved source, by id or name")
        target.add_argument("--job", help="a job, by id or name: its catalog re-discovered, keeping the choices")
        target.add_argument("--type", help="a source type, with --config")
        parser.add_argument("--config", help="the config as JSON (with --type)")
        parser.add_argument("--connector-version", dest="connector_version", default="latest")
        parser.add_argument("--project")
        parser.add_argument("--save", action="store_true", help="with --job: store the merged catalog on the job")

    def handle(self, *args, source, job, type, config, connector_version, project, save, **options):
        try:
            if job:
                job_obj = by_ref(Job, job, project)
                src = job_obj.source
                catalog = source_discover(
                    type=src.type, version=src.version, config=src.config, saved_catalog=job_obj.streams_config,
                    project_id=src.project_id, threads=job_obj.discover_threads,
                )
                if save:
                    job_update(job=job_obj, user=None, streams_config=catalog)
            elif source:
                src = by_ref(Source, source, project)
                catalog = source_discover(type=src.type, version=src.version, config=src.config, project_id=src.project_id)
            else:
                if not config:
                    raise CommandError("--type needs --config")
                catalog = source_discover(type=type, version=connector_version, config=json.loads(config), project_id=project)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps({"streams_config": catalog}, indent=2))
