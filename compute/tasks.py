"""The handler of compute-to-data jobs; the work is compute.execution."""

from compute.execution import compute_job_execute
from compute.models import ComputeJob
from kernel.handlers import TaskHandler


class ComputeJobHandler(TaskHandler):
    """Stages the job's inputs and algorithm, runs it under its limits and publishes its outputs."""

    model = ComputeJob

    def run(self) -> None:
        compute_job_execute(self.task_run)
