"""What Ocean's clients read before they call anything: the root document, the compute environment, provider fees.

Ocean's clients (ocean-lib 3.x) find every endpoint in the provider's root document, list
compute environments to choose one, and expect ``providerFee`` in initialize: a fee the
provider signs so that a datatoken contract can check it on chain. d2d has one environment,
its bubblewrap sandbox, whose limits are compute's settings.
"""

import json
import math
import os
import time
from decimal import Decimal

from django.conf import settings
from django.urls import reverse
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak, to_checksum_address

from compute import conf
from compute.keys import provider_address, provider_private_key
from compute.models import ComputeJob
from kernel.models import TaskStatus

SOFTWARE = "d2d"
ENVIRONMENT_ID = "d2d-sandbox"
GIB = 1024**3

# Ocean's names for each endpoint, the HTTP method its clients use, and d2d's route name.
SERVICE_ENDPOINTS = {
    "nonce": ("GET", "compute-nonce"),
    "encrypt": ("POST", "compute-encrypt"),
    "initialize": ("GET", "compute-initialize"),
    "fileinfo": ("POST", "compute-fileinfo"),
    "download": ("GET", "compute-download"),
    "computeStart": ("POST", "compute-jobs"),
    "computeStatus": ("GET", "compute-jobs"),
    "computeStop": ("PUT", "compute-jobs"),
    "computeDelete": ("DELETE", "compute-jobs"),
    "computeResult": ("GET", "compute-result"),
    "computeEnvironments": ("GET", "compute-environments"),
    "orders": ("GET", "compute-orders"),
}


def provider_document() -> dict:
    """The root document: who the provider is, on which chains, and where each endpoint lives."""
    address = provider_address()
    chains = conf.chain_ids()
    return {
        "software": SOFTWARE,
        "version": settings.SPECTACULAR_SETTINGS.get("VERSION", ""),
        "providerAddress": address,
        "providerAddresses": {str(chain): address for chain in chains},
        "chainIds": chains,
        "serviceEndpoints": {name: [method, reverse(route)] for name, (method, route) in SERVICE_ENDPOINTS.items()},
    }


def compute_environment() -> dict:
    """d2d's sandbox as one Ocean compute environment: its limits are the settings every job runs under."""
    running = ComputeJob.objects.filter(status__in=[TaskStatus.QUEUED, TaskStatus.RUNNING]).count()
    price = conf.price_per_minute()
    return {
        "id": ENVIRONMENT_ID,
        "desc": "bubblewrap sandbox without network, host runtimes (" + ", ".join(sorted(conf.runtimes())) + ")",
        "cpuNumber": os.cpu_count() or 1,
        "cpuType": "host",
        "gpuNumber": 0,
        "gpuType": "",
        "ramGB": round(conf.memory_bytes() / GIB, 3),
        "diskGB": round(conf.output_bytes() / GIB, 3),
        "maxJobDuration": conf.wall_seconds(),
        "maxJobs": int(settings.Q_CLUSTER.get("workers") or 1),
        "currentJobs": running,
        "priceMin": float(price),
        "feeToken": to_checksum_address(conf.fee_token()),
        "consumerAddress": provider_address(),
        "storageExpiry": 0,
        "lastSeen": int(time.time()),
        "free": price == 0,
    }


def compute_environments() -> dict:
    """computeEnvironments: the one environment, under each chain id (ocean-lib 3 looks its chain up)."""
    environment = compute_environment()
    return {str(chain): [environment] for chain in conf.chain_ids()}


def fee_amount(valid_until: int, now: int) -> int:
    """Whole fee-token units (10**decimals) for a job that may run until ``valid_until``, capped at the wall limit."""
    seconds = max(0, min(valid_until - now, conf.wall_seconds()))
    tokens = conf.price_per_minute() * math.ceil(seconds / 60)
    return int(tokens * (Decimal(10) ** conf.token_decimals()))


def provider_fee(*, datatoken: str, service_id, compute: bool, valid_until: int | None = None) -> dict:
    """A provider fee signed as Ocean's provider signs it, so a datatoken's startOrder accepts it.

    The signed hash is keccak256(abi.encodePacked(providerData, feeAddress, feeToken, amount,
    validUntil)), personal-signed (EIP-191). Access is free (amount 0, validUntil 0); compute
    costs priceMin per started minute until validUntil (default: the wall limit from now).
    """
    now = int(time.time())
    if compute:
        valid_until = int(valid_until) if valid_until else now + conf.wall_seconds()
        amount = fee_amount(valid_until, now)
    else:
        valid_until, amount = 0, 0
    address = provider_address()
    token = to_checksum_address(conf.fee_token())
    data = json.dumps(
        {"environment": ENVIRONMENT_ID if compute else None, "timestamp": now, "dt": datatoken, "id": str(service_id)},
        separators=(",", ":"),
    ).encode()
    packed = data + bytes.fromhex(address[2:]) + bytes.fromhex(token[2:]) + amount.to_bytes(32, "big") + valid_until.to_bytes(32, "big")
    signed = Account.sign_message(encode_defunct(primitive=keccak(packed)), provider_private_key())
    return {
        "providerFeeAddress": address,
        "providerFeeToken": token,
        "providerFeeAmount": amount,
        "providerData": "0x" + data.hex(),
        "v": signed.v,
        "r": "0x" + signed.r.to_bytes(32, "big").hex(),
        "s": "0x" + signed.s.to_bytes(32, "big").hex(),
        "validUntil": valid_until,
    }
