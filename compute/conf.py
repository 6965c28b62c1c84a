"""compute's options: a Django setting of the same name wins, else the environment, else the default.

Reading at call time (not import time) lets a test override a value with the
``settings`` fixture and a worker process receive it through its environment.
"""

from django.conf import settings

from d2d.env import env_choice, env_int, env_list, env_str


def _get(name: str, read):
    if hasattr(settings, name):
        return getattr(settings, name)
    return read()


def url_allowlist() -> list[str]:
    """host:port pairs a server-side fetch may reach even though they are not global addresses."""
    return [item.lower() for item in _get("D2D_COMPUTE_URL_ALLOWLIST", lambda: env_list("D2D_COMPUTE_URL_ALLOWLIST", []))]


def order_verifier() -> str:
    return _get("D2D_COMPUTE_ORDER_VERIFIER", lambda: env_choice("D2D_COMPUTE_ORDER_VERIFIER", "ledger", {"ledger", "jsonrpc"}))


def eth_rpc_url() -> str:
    return _get("D2D_COMPUTE_ETH_RPC_URL", lambda: env_str("D2D_COMPUTE_ETH_RPC_URL", ""))


def token_decimals() -> int:
    return _get("D2D_COMPUTE_TOKEN_DECIMALS", lambda: env_int("D2D_COMPUTE_TOKEN_DECIMALS", 18, minimum=0, maximum=36))


def max_file_bytes() -> int:
    return _get("D2D_COMPUTE_MAX_FILE_BYTES", lambda: env_int("D2D_COMPUTE_MAX_FILE_BYTES", 512 * 1024 * 1024, minimum=1))


def fetch_timeout() -> int:
    return _get("D2D_COMPUTE_FETCH_TIMEOUT", lambda: env_int("D2D_COMPUTE_FETCH_TIMEOUT", 30, minimum=1))


def cpu_seconds() -> int:
    return _get("D2D_COMPUTE_CPU_SECONDS", lambda: env_int("D2D_COMPUTE_CPU_SECONDS", 300, minimum=1))


def wall_seconds() -> int:
    return _get("D2D_COMPUTE_WALL_SECONDS", lambda: env_int("D2D_COMPUTE_WALL_SECONDS", 900, minimum=1))


def memory_bytes() -> int:
    return _get("D2D_COMPUTE_MEMORY_MB", lambda: env_int("D2D_COMPUTE_MEMORY_MB", 1024, minimum=32)) * 1024 * 1024


def output_bytes() -> int:
    return _get("D2D_COMPUTE_OUTPUT_MB", lambda: env_int("D2D_COMPUTE_OUTPUT_MB", 100, minimum=1)) * 1024 * 1024


def runtimes() -> dict[str, str]:
    """Entrypoint programs an algorithm may name, mapped to host executables (bound read-only)."""
    pairs = _get(
        "D2D_COMPUTE_RUNTIMES",
        lambda: env_list("D2D_COMPUTE_RUNTIMES", ["python3=/usr/bin/python3", "python=/usr/bin/python3", "sh=/bin/sh"]),
    )
    return dict(pair.split("=", 1) for pair in pairs)
