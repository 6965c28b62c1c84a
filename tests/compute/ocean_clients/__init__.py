"""Ocean's own Python clients in virtualenvs of their own, built outside the repository and kept between runs.

Their pins conflict with d2d's (web3, eth-account) and they need older Pythons: ocean-lib 3.x
runs on 3.10 (on 3.11 its enforce-typing dependency raises on typing.Any) and 0.8.x's pins
(web3 5.25, cryptography 3.3) install on 3.8. Each environment is installed from a frozen list
with --no-deps (no resolver run, which for 0.8.x backtracks for many minutes) and stamped with
a hash of that list and the interpreter; a matching stamp means it is ready.
"""

import fcntl
import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
CACHE = Path(os.environ.get("D2D_OCEAN_CLIENTS_DIR", "/tmp/d2d-ocean-clients"))


@dataclass(frozen=True)
class Client:
    name: str
    python: str  # a pyenv version prefix, e.g. "3.10"
    requirements: Path
    driver: Path


V3 = Client("ocean-lib-3", "3.10", HERE / "requirements-v3.txt", HERE / "driver_v3.py")
V08 = Client("ocean-lib-0.8", "3.8", HERE / "requirements-v08.txt", HERE / "driver_v08.py")


class ClientUnavailable(Exception):
    """The client's environment cannot be built here; the message says what is missing."""


def interpreter(client: Client) -> Path:
    found = sorted(PYENV.glob(f"{client.python}.*/bin/python{client.python}"))
    if not found:
        raise ClientUnavailable(
            f"{client.name} needs Python {client.python}: none under {PYENV} (install it with pyenv: pyenv install {client.python})"
        )
    return found[-1]


def venv_python(client: Client) -> Path:
    """The environment's python, building the environment first unless its stamp matches."""
    base = interpreter(client)
    folder = CACHE / client.name
    stamp = hashlib.sha256(str(base).encode() + client.requirements.read_bytes()).hexdigest()
    python = folder / "bin" / "python"
    stamp_file = folder / ".d2d-stamp"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{client.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs on one machine build it once, never over each other
        if not (python.exists() and stamp_file.exists() and stamp_file.read_text() == stamp):
            build(base, folder, python, client)
            stamp_file.write_text(stamp)
    return python


def build(base: Path, folder: Path, python: Path, client: Client) -> None:
    subprocess.run([str(base), "-m", "venv", "--clear", str(folder)], check=True)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "-r", str(client.requirements)],
        capture_output=True, text=True, timeout=1800,
    )
    if install.returncode != 0:
        raise ClientUnavailable(f"pip could not install {client.name}: {install.stderr[-3000:]}")
