"""Request bodies of the OLake server API (004) and how its objects are shown (secrets masked)."""

import json

from rest_framework import serializers

from pipelines.connectors import connector_class
from pipelines.models import Job, JobTask, Source
from pipelines.secrets import mask_config


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


class JobUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    source = JobConnectorSerializer(required=False)
    destination = JobConnectorSerializer(required=False)
    frequency = serializers.CharField(max_length=100, required=False, allow_blank=True)
    streams_config = JSONish(required=False, allow_null=True)
    activate = serializers.BooleanField(required=False)


class ActivateSerializer(serializers.Serializer):
    activate = serializers.BooleanField()


class StreamsSerializer(ConnectorTestSerializer):
    job_id = serializers.IntegerField(required=False, help_text="merge with this job's saved streams_config")


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


def connector_body(obj) -> dict:
    return {"name": obj.name, "type": obj.type, "version": obj.version, "config": masked_config(obj)}


def connector_listing(obj, jobs) -> dict:
    other = "dest_name" if isinstance(obj, Source) else "source_name"
    return {
        "id": obj.id,
        **connector_body(obj),
        "created_at": obj.created_at,
        "updated_at": obj.updated_at,
        "created_by": username(obj.created_by),
        "updated_by": username(obj.updated_by),
        "jobs": [
            {
                "name": job.name,
                "id": job.id,
                "activate": job.activate,
                "last_run_time": run_time(last_run(job)),
                "last_run_state": last_run(job).status if last_run(job) else None,
                other: job.destination.name if isinstance(obj, Source) else job.source.name,
            }
            for job in jobs
        ],
    }


def run_time(task: JobTask | None):
    if task is None:
        return None
    return task.started_at or task.queued_at or task.created_at


def job_body(job: Job) -> dict:
    return {
        "name": job.name,
        "source": connector_body(job.source),
        "destination": connector_body(job.destination),
        "frequency": job.frequency,
        "streams_config": job.streams_config,
        "activate": job.activate,
    }


def job_listing(job: Job) -> dict:
    latest = last_run(job)
    return {
        "id": job.id,
        **job_body(job),
        "last_run_time": run_time(latest),
        "last_run_state": latest.status if latest else None,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "created_by": username(job.created_by),
        "updated_by": username(job.updated_by),
    }


def task_listing(task: JobTask) -> dict:
    return {
        "id": str(task.pk),
        "start_time": run_time(task),
        "runtime": task.runtime_seconds or 0,
        "status": task.status,
        "trigger": task.trigger,
        "rows_synced": task.rows_synced,
        "bytes_synced": task.bytes_synced,
        "attempts": task.attempts,
        "error": task.error,
        "finished_at": task.finished_at,
    }

