"""Run algorithm code in bubblewrap: no network, read-only inputs, a writable outputs folder, limits.

The algorithm never runs in the web or worker process. prlimit sets CPU time, address
space and file size limits that bwrap and the algorithm inherit; bwrap gives it new
namespaces (no network, its own pids) and a filesystem made of /usr (read-only),
/data/inputs (read-only), /data/transformations/algorithm (read-only), /data/outputs
(writable) and a small /tmp. The worker polls it: wall-clock time, total output size
and stop requests each end it by killing its process group (bwrap's --die-with-parent
then takes every process of the sandbox with it).
"""

import os
import shlex
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from compute import conf
from kernel.errors import DomainError

BWRAP = "/usr/bin/bwrap"
PRLIMIT = "/usr/bin/prlimit"
TMP_BYTES = 64 * 1024 * 1024
LOG_TAIL_BYTES = 4000
MAX_OUTPUT_ENTRIES = 1000  # each output becomes a stored file: bound the count, not only the bytes


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int
    wall_seconds: int
    memory_bytes: int
    output_bytes: int

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(conf.cpu_seconds(), conf.wall_seconds(), conf.memory_bytes(), conf.output_bytes())


@dataclass
class Outcome:
    exit_code: int
    reason: str = ""  # empty when the algorithm finished normally

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.reason


def command_for(entrypoint: str) -> list[str]:
    """The entrypoint ("python3 $ALGO") as argv, its program mapped to an allowed host runtime."""
    try:
        argv = shlex.split(entrypoint or "")
    except ValueError:
        raise DomainError("the algorithm's entrypoint cannot be parsed", field="algorithmMeta") from None
    runtimes = conf.runtimes()
    if not argv or argv[0] not in runtimes:
        raise DomainError(f"entrypoint must start with one of: {', '.join(sorted(runtimes))}", field="algorithmMeta")
    algo = "/data/transformations/algorithm"
    return [runtimes[argv[0]], *(arg.replace("$ALGO", algo) for arg in argv[1:])]


def output_usage(folder: Path) -> tuple[int, int]:
    """(bytes, entries) under ``folder``, symlinks not followed."""
    total, entries = 0, 0
    for root, dirs, names in os.walk(folder, followlinks=False):
        entries += len(dirs) + len(names)
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total, entries



def regular_files(folder: Path) -> list[Path]:
    """Output files worth publishing: regular files only, never symlinks (they could point at the host)."""
    found = []
    for root, _dirs, names in os.walk(folder, followlinks=False):
        for name in sorted(names):
            path = Path(root) / name
            if stat.S_ISREG(os.lstat(path).st_mode):
                found.append(path)
    return sorted(found)


class Sandbox:
    """One algorithm run over a prepared work folder (inputs/, algorithm, outputs/, algorithm.log)."""

    def __init__(self, *, work: Path, entrypoint: str, env: dict, limits: Limits):
        self.work = work
        self.limits = limits
        self.argv = command_for(entrypoint)
        self.env = env
        self.process: subprocess.Popen | None = None
        self.started = 0.0
        self.killed_for = ""

    @property
    def outputs(self) -> Path:
        return self.work / "outputs"

    @property
    def log_path(self) -> Path:
        return self.work / "algorithm.log"

    def bwrap_argv(self) -> list[str]:
        limits = self.limits
        argv = [
            PRLIMIT,
            f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
            f"--as={limits.memory_bytes}",
            f"--fsize={limits.output_bytes}",
            "--core=0",
            "--nofile=256",
            "--",
            BWRAP,
            "--unshare-all",
            "--die-with-parent",
            "--ro-bind", "/usr", "/usr",
            "--symlink", "usr/bin", "/bin",
            "--symlink", "usr/sbin", "/sbin",
            "--symlink", "usr/lib", "/lib",
            "--proc", "/proc",
            "--dev", "/dev",
            "--size", str(TMP_BYTES), "--tmpfs", "/tmp",
            "--ro-bind", str(self.work / "inputs"), "/data/inputs",
            "--ro-bind", str(self.work / "algorithm"), "/data/transformations/algorithm",
            "--bind", str(self.outputs), "/data/outputs",
            "--chdir", "/data",
            "--clearenv",
        ]
        if Path("/usr/lib64").exists():
            argv[argv.index("--proc"):argv.index("--proc")] = ["--symlink", "usr/lib64", "/lib64"]
        base_env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        for name, value in {**base_env, **self.env}.items():
            argv += ["--setenv", name, value]
        return [*argv, "--", *self.argv]

    def start(self) -> int:
        self.outputs.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.bwrap_argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True,
            )
        self.started = time.monotonic()
        return self.process.pid

    def kill(self, reason: str) -> None:
        """End the whole sandbox now (its process group; the pid namespace follows bwrap)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.killed_for = self.killed_for or reason
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def poll(self) -> Outcome | None:
        """None while it runs; the outcome once it ended (or was ended for a limit)."""
        assert self.process is not None
        code = self.process.poll()
        if code is None:
            used, entries = output_usage(self.outputs)
            if time.monotonic() - self.started > self.limits.wall_seconds:
                self.kill(f"wall-clock limit of {self.limits.wall_seconds} s exceeded")
            elif used > self.limits.output_bytes:
                self.kill(f"output size limit of {self.limits.output_bytes} bytes exceeded")
            elif entries > MAX_OUTPUT_ENTRIES:
                self.kill(f"more than {MAX_OUTPUT_ENTRIES} files and folders in /data/outputs")
            else:
                return None
            code = self.process.returncode
        return Outcome(code, self.reason_for(code))

    def reason_for(self, code: int) -> str:
        if self.killed_for:
            return self.killed_for
        used, entries = output_usage(self.outputs)
        if used >= self.limits.output_bytes:
            return f"output size limit of {self.limits.output_bytes} bytes exceeded"
        if entries > MAX_OUTPUT_ENTRIES:
            return f"more than {MAX_OUTPUT_ENTRIES} files and folders in /data/outputs"
        if code == 0:
            return ""
        tail = self.log_tail()
        if code in (128 + signal.SIGXCPU, -signal.SIGXCPU):
            return f"CPU time limit of {self.limits.cpu_seconds} s exceeded"
        if code in (128 + signal.SIGKILL, -signal.SIGKILL):
            return f"killed by SIGKILL: CPU time hard limit ({self.limits.cpu_seconds + 1} s) or out of memory"
        if "MemoryError" in tail or "Cannot allocate memory" in tail:
            return f"memory limit of {self.limits.memory_bytes // (1024 * 1024)} MB exceeded"
        if code == 128 + signal.SIGXFSZ or "File too large" in tail:
            return f"output size limit of {self.limits.output_bytes} bytes exceeded"
        last = next((line for line in reversed(tail.splitlines()) if line.strip()), "")
        return f"algorithm exited with code {code}" + (f": {last.strip()[:300]}" if last else "")

    def log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(max(0, self.log_path.stat().st_size - LOG_TAIL_BYTES))
                return handle.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
