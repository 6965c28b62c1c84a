"""The hot reads of bench/load.py: every contract's most polled GET, its data and its request paths.

Issue 26: each of them must serve at least READ_TARGET of the minimal JsonResponse view through
d2d's own handler (bench/load_baseline_d2d_handler.py), measured in the same run, with p99 under
READ_P99_MS at 8 clients. The data is made in the bench process after migrate (prepare), through
d2d's services where they exist:

- 000 task detail and list, 001 status: the warm-up conversion (one input, succeeded);
- 002 compute status: a published dataset and one finished compute job per client, each client
  with its own Ethereum key, so its nonces only grow (a nonce at or below the stored one is
  refused, and eight clients sharing one address would race); the signatures are made before the
  slices, so the client's signing does not take CPU from the server while it is measured;
- 003 task list: one labeling task in the project;
- 004 sources, jobs and job tasks (run history): the bench's pipeline jobs, one of them synced once.
"""

import itertools
import time
from urllib.parse import urlencode

READ_TARGET = 0.25  # of the minimal view through d2d's handler
READ_P99_MS = 50

# name -> (label, contract)
READS = {
    "d2d_detail": "d2d GET /api/v1/tasks/<id> (000 task detail)",
    "d2d_task_list": "d2d GET /api/v1/tasks/ (000 task list)",
    "d2d_common": "d2d GET /api/v1/task?id= (001 status)",
    "d2d_compute": "d2d GET /api/v1/services/compute (002 status)",
    "d2d_labeling": "d2d GET /api/tasks/ (003 task list)",
    "d2d_sources": "d2d GET .../project/<p>/sources (004)",
    "d2d_jobs": "d2d GET .../project/<p>/jobs (004)",
    "d2d_job_tasks": "d2d GET .../jobs/<id>/tasks (004 run history)",
}


def seed_reads(*, username: str, project_id: str, clients: int) -> dict:
    """The 002 and 003 data of the hot reads (django.setup() done): returns what the clients need."""
    from django.db import connections
    from eth_account import Account

    from accounts.models import Project, User
    from compute.datasets import dataset_publish
    from compute.models import ComputeJob, OceanStatus
    from kernel.models import TaskStatus
    from labeling.models import LabelingTask

    try:
        user = User.objects.get(username=username)
        project = Project.objects.get(pk=project_id)
        LabelingTask.objects.create(project=project, publisher=user, name="load bench labeling", size=3)
        dataset = dataset_publish(
            project=project, name="load bench dataset", datatoken_address="0x" + "d7" * 20,
            services=[{"index": 0, "type": "access", "price": "1"}, {"index": 1, "type": "compute", "price": "2"}],
            files=[{"url": "http://127.0.0.1:9/never-fetched.csv", "contentType": "text/csv"}], by=user,
        )
        signers = []
        for _ in range(clients):
            account = Account.create()
            job = ComputeJob.objects.create(project=project, dataset=dataset, owner_address=account.address,
                                            status=TaskStatus.SUCCEEDED, stage=OceanStatus.COMPLETED)
            signers.append({"key": bytes(account.key), "address": account.address, "job_id": job.job_id, "did": dataset.did})
        return {"signers": signers}
    finally:
        connections.close_all()


class ComputeStatusPaths:
    """002 compute status requests of one client: its own address, job and growing nonce, signed ahead."""

    def __init__(self, signer: dict, count: int):
        from compute.signatures import message_for, sign

        self._sign, self._message_for = sign, message_for
        self.signer = signer
        self.nonces = itertools.count(int(time.time() * 1000))
        self.ready = [self._make() for _ in range(count)]
        self.ready.reverse()

    def _make(self) -> str:
        fields = {"consumerAddress": self.signer["address"], "jobId": self.signer["job_id"], "documentId": self.signer["did"]}
        nonce = str(next(self.nonces))
        signature = self._sign(self._message_for("compute_status", fields, nonce), self.signer["key"])
        return "/api/v1/services/compute?" + urlencode({**fields, "nonce": nonce, "signature": signature})

    def __call__(self) -> str:
        return self.ready.pop() if self.ready else self._make()  # signed now only when the ones made ahead ran out


def read_targets(*, port: int, token: str, task_id: str, project: str, job_id: str) -> dict:
    """name -> (port, token, path) of the hot reads with a fixed path; 002's paths come per client."""
    p = f"/api/v1/project/{project}"
    return {
        "d2d_detail": (port, token, f"/api/v1/tasks/{task_id}"),
        "d2d_task_list": (port, token, "/api/v1/tasks/"),
        "d2d_common": (port, token, "/api/v1/task?id=" + task_id),
        "d2d_compute": (port, "", None),
        "d2d_labeling": (port, token, f"/api/tasks/?project={project}"),
        "d2d_sources": (port, token, f"{p}/sources"),
        "d2d_jobs": (port, token, f"{p}/jobs"),
        "d2d_job_tasks": (port, token, f"{p}/jobs/{job_id}/tasks"),
    }
