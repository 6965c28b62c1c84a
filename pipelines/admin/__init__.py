"""The pipelines admin, one module per area; importing them registers their ModelAdmins."""

from pipelines.admin import connectors, jobs, runs, settings, state  # noqa: F401
