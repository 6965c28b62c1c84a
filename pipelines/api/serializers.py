"""Request bodies of the OLake server API (004) and how its objects are shown (secrets masked)."""

import json

from rest_framework import serializers

from kernel.models import TaskStatus
from pipelines import catalog
from pipelines.api import compat
from pipelines.connectors import connector_class
from pipelines.models import Job, JobTask, Source
from pipelines.secrets import mask_config
from pipelines.job_settings import MAX_DISCOVER_THREADS


class JSONish(serializers.JSONField):
    """A JSON value that may also arrive as a string of JSON (query parameters, 004's destination config)."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else {}
            except ValueError as exc:
                raise serializers.ValidationError(f"not JSON: {exc}") from exc
        return super().to_internal_value(data)


class ConnectorTypeSerializer(serializers.Serializer):
    type = serializers.CharField(max_length=50)
    version = serializers.CharField(max_length=50, required=False, allow_blank=True, default="latest")
    catalog = serializers.CharField(required=False, allow_blank=True, default="")


class ConnectorTestSerializer(ConnectorTypeSerializer):
    config = JSONish()
    id = serializers.IntegerField(required=False, help_text="a saved connector whose secrets fill in masked values")


class ConnectorSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    type = serializers.CharField(max_length=50)
    version = serializers.CharField(max_length=50)
    config = JSONish()


class ConnectorUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    type = serializers.CharField(max_length=50, required=False)
    version = serializers.CharField(max_length=50, required=False)
    config = JSONish(required=False)


class JobConnectorSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    type = serializers.CharField(max_length=50, required=False)
    version = serializers.CharField(max_length=50, required=False)
    config = JSONish(required=False)


class JobSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    source = JobConnectorSerializer()
    destination = JobConnectorSerializer()
    frequency = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    streams_config = JSONish(required=False, allow_null=True)
    activate = serializers.BooleanField(required=False, default=True)
    advanced_settings = JSONish(required=False, allow_null=True, help_text="{max_discover_threads}")


class JobUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    difference_streams = JSONish(
        required=False, allow_null=True, write_only=True,
        help_text="streams whose destination data the update replaces (from stream-difference): they are cleared first",
    )
    source = JobConnectorSerializer(required=False)
    destination = JobConnectorSerializer(required=False)
    frequency = serializers.CharField(max_length=100, required=False, allow_blank=True)
    streams_config = JSONish(required=False, allow_null=True)
    activate = serializers.BooleanField(required=False)
    advanced_settings = JSONish(required=False, allow_null=True, help_text="{max_discover_threads}; null clears them")


class ActivateSerializer(serializers.Serializer):
    activate = serializers.BooleanField()


class ClearDestinationSerializer(serializers.Serializer):
    streams = serializers.ListField(
        child=serializers.CharField(max_length=400), required=False, help_text='stream keys ("namespace.name"); absent: all'
    )


class StreamDifferenceSerializer(serializers.Serializer):
    updated_streams_config = JSONish(help_text="the edited streams_config, as an object or a string of JSON")


class CheckUniqueSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    entity_type = serializers.ChoiceField(choices=["source", "destination", "job"])


class StreamsSerializer(ConnectorTestSerializer):
    job_id = serializers.IntegerField(
        required=False, help_text="merge with this job's saved streams_config; 0 or less is no job (OLake's UI sends -1)"
    )
    max_discover_threads = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_DISCOVER_THREADS,
        help_text="streams inferred at once (the job form's advanced settings); else the job's own",
    )


def masked_config(obj) -> dict:
    kind = "source" if isinstance(obj, Source) else "destination"
    try:
        spec = connector_class(kind, obj.type).spec
    except Exception:  # noqa: BLE001 - an unknown type hides the whole config rather than leak it
        return {}
    return mask_config(spec, obj.config)


def username(user) -> str | None:
    return user.username if user else None


def last_run(job: Job) -> JobTask | None:
    runs = getattr(job, "latest_runs", None)
    if runs is not None:
        return runs[0] if runs else None
    return job.tasks.order_by("-created_at").first()


# The OLake server reports runs in Temporal's words, which its UI lower-cases and styles.
SERVER_STATUS = {
    TaskStatus.CREATED: "Running",
    TaskStatus.QUEUED: "Running",
    TaskStatus.RUNNING: "Running",
    TaskStatus.RETRYING: "Running",
    TaskStatus.SUCCEEDED: "Completed",
    TaskStatus.FAILED: "Failed",
    TaskStatus.CANCELLED: "Canceled",
}


def run_state(task: JobTask | None, dialect: str) -> str | None:
    if task is None:
        return None
    return SERVER_STATUS.get(task.status, task.status) if dialect == compat.SERVER else task.status


def run_time(task: JobTask | None):
    if task is None:
        return None
    return task.started_at or task.queued_at or task.created_at


def run_file_path(task: JobTask) -> str:
    """The name a run's log goes by on the OLake paths (the server names it after its workflow)."""
    return f"{task.kind}-{task.job_id}-{task.pk}"


def connector_body(obj, dialect: str = compat.CONTRACT) -> dict:
    return {
        "id": obj.id,
        "name": obj.name,
        "type": obj.type,
        "version": obj.version,
        "config": compat.json_field(masked_config(obj), dialect),
    }


def connector_listing(obj, jobs, dialect: str = compat.CONTRACT) -> dict:
    is_source = isinstance(obj, Source)
    rows = []
    for job in jobs:
        latest = last_run(job)
        other = job.destination if is_source else job.source
        prefix = "destination" if is_source else "source"
        row = {
            "name": job.name,
            "id": job.id,
            "activate": job.activate,
            "last_run_time": run_time(latest),
            "last_run_state": run_state(latest, dialect),
            f"{prefix}_name": other.name,
            f"{prefix}_type": other.type,
        }
        if is_source:
            row["dest_name"] = other.name  # 004's word for it
        rows.append(row)
    return {
        **connector_body(obj, dialect),
        "created_at": obj.created_at,
        "updated_at": obj.updated_at,
        "created_by": username(obj.created_by),
        "updated_by": username(obj.updated_by),
        "jobs": rows,
    }


def job_body(job: Job, dialect: str = compat.CONTRACT) -> dict:
    streams = catalog.to_olake(job.streams_config) if dialect == compat.SERVER else job.streams_config
    return {
        "name": job.name,
        "source": connector_body(job.source, dialect),
        "destination": connector_body(job.destination, dialect),
        "frequency": job.frequency,
        "streams_config": compat.json_field(streams, dialect),
        "activate": job.activate,
        # An object in both dialects: OLake's server takes and gives it so (not a string of JSON).
        "advanced_settings": dict(job.advanced_settings or {}),
    }


def job_listing(job: Job, dialect: str = compat.CONTRACT) -> dict:
    latest = last_run(job)
    return {
        "id": job.id,
        **job_body(job, dialect),
        "last_run_time": run_time(latest),
        "last_run_state": run_state(latest, dialect),
        "last_run_type": latest.kind if latest else None,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "created_by": username(job.created_by),
        "updated_by": username(job.updated_by),
    }


def go_duration(seconds: float) -> str:
    """Seconds as Go's Duration prints them, rounded to the second ("1h2m3s", "45s", "0s")."""
    seconds = int(round(seconds or 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def task_listing(task: JobTask, dialect: str = compat.CONTRACT) -> dict:
    server = dialect == compat.SERVER
    return {
        "id": str(task.pk),
        "start_time": run_time(task),
        "runtime": go_duration(task.runtime_seconds) if server else task.runtime_seconds or 0,
        "status": run_state(task, dialect),
        "job_type": task.kind,
        "file_path": run_file_path(task),
        "trigger": task.trigger,
        "rows_synced": task.rows_synced,
        "bytes_synced": task.bytes_synced,
        "attempts": task.attempts,
        "error": task.error,
        "finished_at": task.finished_at,
    }
