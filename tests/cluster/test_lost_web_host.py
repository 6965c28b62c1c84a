"""Scenario 4: a web host lost under a polling and upload load through both web hosts.

Clients spread their requests over both web hosts, as a load balancer would: each uploads a CSV for
a conversion, submits it, and polls the status of the tasks it has. One web host drops off the
network mid-load. Every request to the other one keeps succeeding, and every task whose submit was
accepted (202) finishes once.
"""

import random
import threading
import time
from collections import Counter

import pytest
import requests

from tests.cluster.conftest import print_figures
from tests.cluster.harness import wait_until
from tests.cluster.ops import FINISHED, conversions, csv_upload

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

CLIENTS = 6
BEFORE, AFTER = 8.0, 10.0  # seconds of load before the loss, and after it


class Load:
    """The clients' threads and what they saw: per host, requests that succeeded and failed, before and after."""

    def __init__(self, cluster, token: str):
        self.hosts = {host.name: f"http://{host.address}:8000" for host in cluster.webs}
        self.headers = {"Authorization": f"Bearer {token}"}
        self.lost_at: float | None = None
        self.stop = threading.Event()
        self.counts = Counter()
        self.accepted: list[str] = []
        self.unexpected: list[str] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def request(self, host: str, method: str, path: str, **kwargs):
        phase = "after" if self.lost_at is not None else "before"
        try:
            answer = requests.request(method, self.hosts[host] + path, headers=self.headers, timeout=10, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.counts[(host, phase, "failed")] += 1
                self.errors.append(f"{host} {phase} {method} {path}: {type(exc).__name__}: {exc}"[:300])
            return None
        with self.lock:
            self.counts[(host, phase, "ok" if answer.status_code < 500 else "failed")] += 1
            if answer.status_code >= 500:
                self.errors.append(f"{host} {phase} {method} {path}: {answer.status_code} {answer.text[:200]}")
            if answer.status_code >= 400:
                self.unexpected.append(f"{host} {method} {path}: {answer.status_code} {answer.text[:200]}")
        return answer

    def client(self, number: int) -> None:
        mine, turn = [], number
        while not self.stop.is_set():
            turn += 1
            host = sorted(self.hosts)[turn % 2]
            if turn % 3 == 0 or not mine:  # a new conversion: create, upload, submit, on one host
                created = self.request(host, "POST", "/api/v1/uploads/tasks", json={"service": "tabular", "params": {"to": "parquet"}})
                if created is None or created.status_code != 201:
                    continue
                task = created.json()["id"]
                files = {"files": (f"c{number}-{turn}.csv", csv_upload(300, turn), "text/csv")}
                uploaded = self.request(host, "POST", f"/api/v1/uploads/tasks/{task}/files", files=files)
                if uploaded is None or uploaded.status_code != 201:
                    continue
                submitted = self.request(host, "POST", f"/api/v1/uploads/tasks/{task}/submit")
                if submitted is not None and submitted.status_code == 202:
                    mine.append(task)
                    with self.lock:
                        self.accepted.append(str(task))
            else:  # poll one of this client's tasks
                self.request(host, "GET", f"/api/v1/tasks/{random.choice(mine)}")


def test_it_keeps_serving_and_loses_no_task_when_a_web_host_is_lost(cluster, operator, workers):
    load = Load(cluster, operator["token"])
    threads = [threading.Thread(target=load.client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    web1 = cluster["web1"]
    try:
        time.sleep(BEFORE)
        load.lost_at = time.monotonic()
        web1.lose()
        time.sleep(AFTER)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=30)
        web1.link_up()
        cluster.start_web(web1)
    figures = {f"{host}_{phase}_{outcome}": count for (host, phase, outcome), count in sorted(load.counts.items())}
    assert load.counts[("web2", "before", "ok")] and load.counts[("web2", "after", "ok")]
    assert load.counts[("web2", "before", "failed")] == load.counts[("web2", "after", "failed")] == 0, [e for e in load.errors if e.startswith("web2")]
    assert load.counts[("web1", "after", "failed")], "the lost host stopped answering"
    assert not load.unexpected, load.unexpected[:5]
    figures["accepted"] = len(load.accepted)
    started = time.monotonic()

    def all_done():
        found = conversions(cluster, load.accepted)
        return found if len(found) == len(load.accepted) and all(row[0] in FINISHED for row in found.values()) else None

    found = wait_until(all_done, timeout=300, interval=1, message="every accepted task to finish")
    figures["all_finished_s"] = round(time.monotonic() - started, 1)
    assert [row[0] for row in found.values()].count("succeeded") == len(load.accepted), found
    assert {row[1] for row in found.values()} == {1} and {row[3] for row in found.values()} == {1}, \
        "each accepted task ran once, with one result"
    print_figures("scenario 4, a web host lost under load", figures)
