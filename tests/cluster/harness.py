"""A d2d cluster on one machine: hosts made of Linux network namespaces on a bridge, each running one role.

Every host is a network namespace with one veth pair on a bridge the harness makes, and an address in
10.213.0.0/24, a range used only on that bridge: the namespaces have no route anywhere else, so nothing
they run can reach any other address. The pytest process reaches them through the bridge's own address.
d2d's processes get their settings only from the environment, with each service's address, as on real
machines. A host is lost by taking its link down and SIGKILLing every process in its namespace (the
filesystem stays shared, as a network volume would be). Everything is removed at teardown, and the
leftovers of an earlier run that was killed are removed before a new one starts.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "d2dc"
BRIDGE = f"{PREFIX}-br"
NET = "10.213.0"
GATEWAY = f"{NET}.1"  # the bridge's address in the pytest process's namespace
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SECRET_KEY = "d2d-cluster-test-secret-key-not-for-production"  # the same on every d2d host
S3_KEY, S3_SECRET, S3_REGION, S3_BUCKET = "d2d-cluster", "d2d-cluster-secret", "us-east-1", "d2d-cluster"


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def namespaces_available() -> str | None:
    """None when this machine can make network namespaces; else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip"):
        return "network namespaces need iproute2 (ip)"
    probe = f"{PREFIX}-probe"
    made = run("ip", "netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    run("ip", "netns", "del", probe, check=False)
    return None


def remove_leftovers() -> None:
    """Namespaces and links with this harness's prefix, from a run that was killed before its teardown."""
    for line in run("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(f"{PREFIX}-"):
            _kill_namespace_processes(name)
            run("ip", "netns", "del", name, check=False)
    for line in run("ip", "-o", "link", "show", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if name.startswith(f"{PREFIX}-"):
            run("ip", "link", "del", name, check=False)


def _kill_namespace_processes(namespace: str) -> list[int]:
    pids = [int(pid) for pid in run("ip", "netns", "pids", namespace, check=False).stdout.split()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


@dataclass
class Host:
    """One machine of the cluster: a namespace, its link to the bridge, its address, its processes."""

    name: str
    number: int
    scratch: Path
    processes: list = field(default_factory=list)

    @property
    def namespace(self) -> str:
        return f"{PREFIX}-{self.name}"

    @property
    def link(self) -> str:  # the bridge's end of the host's veth pair (interface names: 15 characters at most)
        return f"{PREFIX}-v{self.number}"

    @property
    def address(self) -> str:
        return f"{NET}.{self.number}"

    def create(self) -> None:
        run("ip", "netns", "add", self.namespace)
        run("ip", "-n", self.namespace, "link", "set", "lo", "up")
        run("ip", "link", "add", self.link, "type", "veth", "peer", "name", "eth0", "netns", self.namespace)
        run("ip", "link", "set", self.link, "master", BRIDGE)
        run("ip", "-n", self.namespace, "addr", "add", f"{self.address}/24", "dev", "eth0")
        self.link_up()

    def link_up(self) -> None:
        run("ip", "link", "set", self.link, "up")
        run("ip", "-n", self.namespace, "link", "set", "eth0", "up")

    def link_down(self) -> None:
        run("ip", "-n", self.namespace, "link", "set", "eth0", "down")
        run("ip", "link", "set", self.link, "down")

    def start(self, argv: list[str], *, env: dict, log: str, user: str | None = None) -> subprocess.Popen:
        """A process inside the host's namespace, in its own session, its output in scratch/<log>.log."""
        prefix = ["ip", "netns", "exec", self.namespace]
        if user:
            prefix += ["runuser", "-u", user, "--"]
        with open(self.scratch / f"{log}.log", "ab") as out:
            process = subprocess.Popen(prefix + argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.processes.append(process)
        return process

    def exec(self, argv: list[str], *, env: dict, timeout: float = 120) -> str:
        """Run a command in the host's namespace to its end; its standard output."""
        done = subprocess.run(["ip", "netns", "exec", self.namespace, *argv], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[:3]} on {self.name} exited {done.returncode}: {done.stderr[-3000:]}")
        return done.stdout

    def kill(self) -> list[int]:
        """SIGKILL every process of the host, as a power cut would; the pids killed."""
        pids = _kill_namespace_processes(self.namespace)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.processes.clear()
        return pids

    def lose(self) -> list[int]:
        """The host drops off the network, then its processes die."""
        self.link_down()
        return self.kill()

    def pids(self) -> set[int]:
        return {int(pid) for pid in run("ip", "netns", "pids", self.namespace, check=False).stdout.split()}

    def remove(self) -> None:
        self.kill()
        run("ip", "netns", "del", self.namespace, check=False)
        run("ip", "link", "del", self.link, check=False)


def wait_for_port(address: str, port: int, *, timeout: float = 60, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process for {address}:{port} exited with {process.returncode}")
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing answers on {address}:{port} after {timeout}s")


def wait_until(predicate, *, timeout: float, interval: float = 0.5, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{message} not met within {timeout}s")


def base_env() -> dict:
    """What every process starts from: no setting inherited from the test run's own environment."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")
    return {key: os.environ[key] for key in keep if key in os.environ} | {"PYTHONUNBUFFERED": "1"}
