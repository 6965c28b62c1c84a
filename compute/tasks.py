"""Task-runner entry points of compute: thin wrappers over compute.execution."""

from compute.execution import compute_job_execute


def run_compute_job(run) -> None:
    compute_job_execute(run)
