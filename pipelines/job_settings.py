"""What the OLake UI asks of d2d beyond configs: the versions of a connector type, and a job's advanced settings."""

from kernel.errors import DomainError
from pipelines.connectors import connector_class, version_key

# Connector types OLake's UI offers that d2d does not implement (docs/pipelines.md says why):
# asked for their versions, d2d answers none (the UI says "No versions available") rather than an
# error toast on page load. A registered type is never listed here (tests/pipelines/test_versions.py).
OLAKE_ONLY_TYPES = {"source": {"mongodb", "oracle", "kafka", "db2", "mssql"}, "destination": set()}


def connector_versions(*, kind: str, type: str) -> list[str]:
    """The versions a type implements, newest first; "latest" is an alias, so it is not listed."""
    if type in OLAKE_ONLY_TYPES[kind]:
        return []
    versions = [v for v in connector_class(kind, type).versions if v != "latest"]
    return sorted(versions, key=version_key, reverse=True)


# OLake's advanced settings of a job, and the most discovery threads one may ask for.
ADVANCED_SETTINGS = {"max_discover_threads"}
MAX_DISCOVER_THREADS = 256


def advanced_settings_clean(value) -> dict:
    """A job's advanced settings as stored: known keys only (a 400 names any other), nulls dropped."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise DomainError("advanced_settings must be a JSON object", field="advanced_settings")
    unknown = sorted(set(value) - ADVANCED_SETTINGS)
    if unknown:
        raise DomainError(
            f"advanced_settings: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(ADVANCED_SETTINGS))}",
            field="advanced_settings",
        )
    threads = value.get("max_discover_threads")
    if threads is None:
        return {}
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_DISCOVER_THREADS:
        raise DomainError(
            f"advanced_settings.max_discover_threads must be an integer from 1 to {MAX_DISCOVER_THREADS}",
            field="advanced_settings",
        )
    return {"max_discover_threads": threads}
