"""Compute jobs: start (after signature and order checks), status, stop (7) and delete (8)."""

import json

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from compute.datasets import dataset_by_did, dataset_service
from compute.models import Algorithm, ComputeJob, Order, ServiceType
from compute.orders import order_require_paid
from compute.sandbox import command_for
from compute.signatures import signed_request_verify
from kernel.errors import DomainError, NotFound
from kernel.runner import task_cancel, task_enqueue
from kernel.statements import Statement
from kernel.storage import delete_prefix


def _algorithm_meta(raw) -> dict:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise DomainError("algorithmMeta must be a JSON object", field="algorithmMeta") from None
    if not isinstance(raw, dict):
        raise DomainError("algorithmMeta must be a JSON object", field="algorithmMeta")
    if not str(raw.get("rawcode") or "").strip():
        raise DomainError("algorithmMeta needs rawcode (d2d does not fetch algorithm URLs)", field="algorithmMeta")
    container = raw.get("container") or {}
    entrypoint = str(container.get("entrypoint") or "python3 $ALGO")
    command_for(entrypoint)  # refuse an unknown runtime now, not in the worker
    return {"rawcode": raw["rawcode"], "container": {**container, "entrypoint": entrypoint}}


def _choose_algorithm(data: dict, service: dict) -> tuple[Algorithm | None, dict]:
    did = data.get("algorithmDid")
    if did:  # takes precedence over algorithmMeta, as 002 says
        algorithm = Algorithm.objects.filter(did=str(did)).first()
        if algorithm is None:
            raise NotFound(f"no algorithm with algorithmDid {did}")
        trusted = service.get("trustedAlgorithms") or []
        if trusted and did not in trusted:
            raise DomainError(f"algorithm {did} is not trusted by this dataset's compute service", field="algorithmDid")
        return algorithm, {}
    if data.get("algorithmMeta") in (None, "", {}):
        raise DomainError("algorithmDid or algorithmMeta is required", field="algorithmDid")
    if not service.get("allowRawAlgorithm"):
        raise DomainError("this dataset's compute service does not allow raw algorithms", field="algorithmMeta")
    return None, _algorithm_meta(data["algorithmMeta"])


def start_request_flat(data: dict) -> dict:
    """Ocean's v4 body ({dataset: {...}, algorithm: {meta} | {documentId}}) in 002's flat fields.

    The v4 client signs consumerAddress + dataset.documentId + nonce, which is the flat message
    once dataset.documentId stands in documentId; a flat body is returned as it came.
    """
    if "dataset" not in data and not isinstance(data.get("algorithm"), dict):
        return data
    dataset = data.get("dataset")
    if isinstance(dataset, str):
        try:
            dataset = json.loads(dataset)
        except ValueError:
            dataset = None
    if not isinstance(dataset, dict) or not dataset.get("documentId"):
        raise DomainError("dataset must be an object with documentId, serviceId and transferTxId", field="dataset")
    algorithm = data.get("algorithm") or {}
    if not isinstance(algorithm, dict):
        raise DomainError("algorithm must be an object: {meta: {rawcode, container}} or {documentId}", field="algorithm")
    flat = {key: value for key, value in data.items() if key not in ("dataset", "algorithm", "documentId", "algorithmDid", "algorithmMeta")}
    flat.update(documentId=dataset["documentId"], serviceId=dataset.get("serviceId"), transferTxId=dataset.get("transferTxId"))
    if algorithm.get("documentId"):
        flat["algorithmDid"] = algorithm["documentId"]
    elif algorithm.get("meta") is not None:
        flat["algorithmMeta"] = algorithm["meta"]
    return flat


@transaction.atomic
def compute_start(*, data: dict) -> ComputeJob:
    """Start a job; any refusal rolls the whole request back, the signer's nonce included."""
    data = start_request_flat(data)
    consumer = signed_request_verify("compute_start", data)
    dataset = dataset_by_did(data.get("documentId"))
    service_type = data.get("serviceType") or ServiceType.COMPUTE
    if service_type != ServiceType.COMPUTE:
        raise DomainError("serviceType must be compute", field="serviceType")
    service = dataset_service(dataset, data.get("serviceId"), ServiceType.COMPUTE)
    algorithm, meta = _choose_algorithm(data, service)
    order = order_require_paid(
        dataset=dataset, service=service, consumer=consumer, tx_id=data.get("transferTxId") or data.get("transactionId")
    )
    output = data.get("output") or {}
    if isinstance(output, str):
        try:
            output = json.loads(output)
        except ValueError:
            raise DomainError("output must be a JSON object", field="output") from None
    with transaction.atomic():
        # A compute order pays for one job; the row lock makes two simultaneous starts take turns.
        Order.objects.select_for_update().filter(pk=order.pk).first()
        used = order.compute_jobs.first()
        if used is not None:
            raise DomainError(
                f"transferTxId {order.tx_id} already paid for compute job {used.job_id}: order again", field="transferTxId"
            )
        job = ComputeJob.objects.create(
            project=dataset.project,
            dataset=dataset,
            owner_address=consumer,
            order=order,
            algorithm=algorithm,
            algorithm_meta=meta,
            output=output if isinstance(output, dict) else {},
        )
        # Attempts: D2D_TASK_MAX_ATTEMPTS, for a worker that died or a storage error; the algorithm's
        # own failure (ComputeStopped) is final, as the same code on the same data fails again.
        task_enqueue(job, message=f"compute job {job.job_id} queued for {consumer}")
    return job


def _jobs_of(shape, owner, job_id, did):
    by_job, by_document = shape
    jobs = ComputeJob.objects.filter(owner_address=owner).select_related("dataset").order_by("created_at")
    if by_job:
        jobs = jobs.filter(job_id=job_id)
    if by_document:
        jobs = jobs.filter(dataset__did=did)
    return jobs


# The signer's jobs, compiled once per database and the narrowing present (kernel/statements.py):
# 002's status is polled, and building this queryset was most of its time after the signature.
_JOBS_OF = Statement(ComputeJob, _jobs_of, owner=str, job_id=str, did=str)


def compute_jobs_of(*, data: dict) -> list[ComputeJob]:
    """The signer's own jobs, narrowed by jobId and documentId (status, stop and delete share this)."""
    owner = signed_request_verify("compute_status", data)
    job_id, did = str(data.get("jobId") or ""), str(data.get("documentId") or "")
    return _JOBS_OF.all(shape=(bool(job_id), bool(did)), owner=owner, job_id=job_id, did=did)


def _require_some(jobs, data: dict) -> list[ComputeJob]:
    found = list(jobs)
    if not found and (data.get("jobId") or data.get("documentId")):
        raise NotFound("no compute job of this owner matches jobId/documentId")
    return found


def compute_stop(*, data: dict) -> list[ComputeJob]:
    jobs = _require_some(compute_jobs_of(data=data), data)
    for job in jobs:
        job_stop(job=job, reason="stopped by the owner")
    return [ComputeJob.objects.select_related("dataset").get(pk=job.pk) for job in jobs]


def job_stop(*, job: ComputeJob, reason: str) -> ComputeJob:
    """Stop a job: a queued one at once, a running one within a second (the worker kills its sandbox)."""
    if job.is_finished:
        return job
    ComputeJob.objects.filter(pk=job.pk, stop_reason="").update(stop_reason=reason[:500])
    task_cancel(job, reason=reason)
    return job


def compute_delete(*, data: dict) -> list[ComputeJob]:
    jobs = _require_some(compute_jobs_of(data=data), data)
    for job in jobs:
        job_stop(job=job, reason="deleted by the owner")
        job_results_remove(job=ComputeJob.objects.get(pk=job.pk))
    return [ComputeJob.objects.select_related("dataset").get(pk=job.pk) for job in jobs]


def job_results_remove(*, job: ComputeJob) -> ComputeJob:
    """Delete the results and the algorithm log from storage; the row stays so status 8 can be read."""
    for path in [item["path"] for item in job.results] + ([job.log_path] if job.log_path else []):
        default_storage.delete(path)
    delete_prefix(default_storage, f"compute/{job.job_id}")  # and whatever a killed attempt stored
    job.results, job.log_path, job.removed_at = [], "", job.removed_at or timezone.now()
    ComputeJob.objects.filter(pk=job.pk).update(results=[], log_path="", removed_at=job.removed_at)
    return job


def job_result_open(*, data: dict):
    """The owner's result file (index 0..n) or algorithm log (index "log"): (file, name)."""
    owner = signed_request_verify("compute_result", data)
    job = ComputeJob.objects.filter(job_id=str(data.get("jobId") or ""), owner_address=owner).first()
    if job is None:
        raise NotFound("no compute job of this owner with this jobId")
    return job_result_file(job=job, index=str(data.get("index", "")))


def job_result_file(*, job: ComputeJob, index: str):
    """A job's result file (index 0..n) or algorithm log ("log"), opened from storage: (file, name)."""
    if job.removed_at:
        raise NotFound("the job's results were deleted")
    if index == "log" or (job.log_path and index == str(len(job.results))):  # the log is last in ``results``
        if not job.log_path:
            raise NotFound("the job has no algorithm log yet")
        return default_storage.open(job.log_path, "rb"), "algorithm.log"
    item = next((result for result in job.results if str(result["index"]) == index), None)
    if item is None:
        raise DomainError(f"index {index or '(missing)'} is not a result of this job: it has {len(job.results)}", field="index")
    return default_storage.open(item["path"], "rb"), item["filename"]
