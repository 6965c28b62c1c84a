"""One cluster for the package: made once (about ten seconds), torn down after its last test, also when one fails."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.cluster.harness import namespaces_available
from tests.cluster.topology import Cluster
from tests.support.components import skip_not_provided

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="package")
def cluster():
    reason = namespaces_available()
    if reason:
        skip_not_provided(f"a machine that allows network namespaces ({reason})")
    scratch = Path(tempfile.mkdtemp(prefix="d2d-cluster-"))
    shutil.chown(scratch, "postgres")  # initdb runs as postgres inside it
    scratch.chmod(0o755)
    made = Cluster(scratch)
    try:
        made.create()
        for host in made.webs:
            made.start_web(host)
        yield made
    finally:
        made.destroy()
        if os.environ.get("D2D_CLUSTER_KEEP_LOGS"):  # each host's service logs, for a failure's post-mortem
            print(f"\n[cluster] logs kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="package")
def operator(cluster):
    """A staff user, a project and an API token, made on the cluster's database as an operator would."""
    return cluster.django(cluster.workers[0], """
        from accounts.services import project_create, token_issue, user_create
        user = user_create(username="ops", email="ops@example.com", password="correct-horse-battery", is_staff=True)
        project = project_create(project_id="ops", name="Ops", owner=user)
        _, token = token_issue(user=user, name="cluster")
        result = {"user": user.pk, "project": project.pk, "token": token}
    """)


def print_figures(title: str, figures: dict) -> None:
    """Each scenario prints what it measured (pytest -s shows it; docs/deployment.md quotes it)."""
    print(f"\n[cluster] {title}: " + ", ".join(f"{key}={value}" for key, value in figures.items()))


@pytest.fixture
def workers(cluster):
    """The three worker hosts running qcluster with the deployment's environment; stopped (and relinked) after."""
    cluster.stop_workers()
    for host in cluster.workers:
        cluster.start_worker(host)
    yield cluster.workers
    cluster.stop_workers()
