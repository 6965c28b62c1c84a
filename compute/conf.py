"""compute's options: a Django setting of the same name wins, else the environment, else the default.

Reading at call time (not import time) lets a test override a value with the
``settings`` fixture and a worker process receive it through its environment.
"""

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from d2d.env import env_bool, env_choice, env_int, env_list, env_str


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


def chain_ids() -> list[int]:
    """Chains d2d's provider answers for (its root document's chainIds); 8996 is Ocean's development chain."""
    raw = _get("D2D_COMPUTE_CHAIN_IDS", lambda: env_list("D2D_COMPUTE_CHAIN_IDS", ["8996"]))
    try:
        return [int(item) for item in raw]
    except ValueError:
        raise ImproperlyConfigured("D2D_COMPUTE_CHAIN_IDS must be a comma-separated list of integers") from None


def price_per_minute() -> Decimal:
    """The compute environment's price (priceMin), in fee tokens per started minute of a job."""
    raw = _get("D2D_COMPUTE_PRICE_MIN", lambda: env_str("D2D_COMPUTE_PRICE_MIN", "0"))
    try:
        price = Decimal(str(raw))
    except InvalidOperation:
        raise ImproperlyConfigured("D2D_COMPUTE_PRICE_MIN must be a number") from None
    if not price.is_finite() or price < 0:
        raise ImproperlyConfigured("D2D_COMPUTE_PRICE_MIN must be zero or more")
    return price


def fee_token() -> str:
    """The ERC-20 the provider fee is paid in (the zero address: none configured, so the fee is 0)."""
    return _get("D2D_COMPUTE_FEE_TOKEN", lambda: env_str("D2D_COMPUTE_FEE_TOKEN", "0x" + "0" * 40))


def legacy_signatures() -> bool:
    """ocean-lib 0.8.x's weaker form: no nonce sent, the stored one appended and advanced by the server."""
    return _get("D2D_COMPUTE_LEGACY_SIGNATURES", lambda: env_bool("D2D_COMPUTE_LEGACY_SIGNATURES", False))
