"""The connector registry: type names to classes, each in its own module."""

import re
from importlib import import_module

from kernel.errors import DomainError
from pipelines.connectors.base import DestinationConnector, SourceConnector

SOURCE_TYPES = {
    "postgres": "pipelines.connectors.postgres.PostgresSource",
    "mysql": "pipelines.connectors.mysql.MySQLSource",
    "mariadb": "pipelines.connectors.mysql.MariaDBSource",
    "sqlite": "pipelines.connectors.sqlite.SQLiteSource",
    "file": "pipelines.connectors.files.FileSource",
    "s3": "pipelines.connectors.s3_source.S3Source",
}
DESTINATION_TYPES = {
    "parquet": "pipelines.connectors.parquet.ParquetDestination",
    "csv": "pipelines.connectors.csvfiles.CsvDestination",
    "jsonl": "pipelines.connectors.jsonl.JsonlDestination",
    "postgres": "pipelines.connectors.postgres.PostgresDestination",
    "iceberg": "pipelines.connectors.iceberg.IcebergDestination",
}


# OLake's own release tags (v0.2.7): its clients name one, and d2d's connector serves any of them.
OLAKE_VERSION = re.compile(r"^v\d{1,3}\.\d{1,3}\.\d{1,4}$")


def version_key(version: str) -> tuple:
    """Sort key of a version tag: v1.10.0 after v1.9.0."""
    return tuple(int(part) if part.isdigit() else -1 for part in version.lstrip("v").split("."))


def connector_types(kind: str) -> list[str]:
    """The types registered for a "source" or "destination"."""
    return sorted(SOURCE_TYPES if kind == "source" else DESTINATION_TYPES)


def _load(path: str):
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def connector_class(kind: str, type_name: str, version: str | None = None):
    """The class of a "source" or "destination" type; a 400 naming what is supported otherwise."""
    registry = SOURCE_TYPES if kind == "source" else DESTINATION_TYPES
    if type_name not in registry:
        raise DomainError(f"unknown {kind} type {type_name!r}; known: {', '.join(sorted(registry))}", field="type")
    cls = _load(registry[type_name])
    if version and version not in cls.versions and not OLAKE_VERSION.match(version):
        raise DomainError(
            f"{kind} type {type_name} has no version {version!r}; it implements: {', '.join(cls.versions)}", field="version"
        )
    return cls


def storage_root(project_id: str | None) -> str:
    """Where a project's file connectors live in storage: they cannot read or write outside it."""
    return f"pipelines/{project_id}" if project_id else ""


def source_connector(type_name: str, config: dict, version: str | None = None, *, project_id=None) -> SourceConnector:
    return connector_class("source", type_name, version)(config, root=storage_root(project_id))


def destination_connector(type_name: str, config: dict, version: str | None = None, *, project_id=None) -> DestinationConnector:
    return connector_class("destination", type_name, version)(config, root=storage_root(project_id))


def job_source(job) -> SourceConnector:
    """The source connector of a job (anything with ``source`` and ``project_id``), in the project's storage."""
    return source_connector(job.source.type, job.source.config, job.source.version, project_id=job.project_id)


def job_destination(job) -> DestinationConnector:
    """The destination connector of a job, in the project's storage."""
    return destination_connector(job.destination.type, job.destination.config, job.destination.version, project_id=job.project_id)
