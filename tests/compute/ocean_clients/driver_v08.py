"""Drives d2d through ocean-lib 0.8.x's own DataServiceProvider; runs in that library's virtualenv (Python 3.8).

The same line protocol as driver_v3.py. 0.8.x signs the raw text plus the provider's current
nonce and sends no nonce, so d2d must run with D2D_COMPUTE_LEGACY_SIGNATURES on.
Usage: python driver_v08.py <provider URL> <consumer private key hex>
"""

import base64
import os
import sys
import tempfile

import requests
from line_protocol import serve
from ocean_lib.data_provider.data_service_provider import DataServiceProvider as DSP
from ocean_lib.models.algorithm_metadata import AlgorithmMetadata
from ocean_lib.web3_internal.wallet import Wallet
from web3 import HTTPProvider, Web3

URL = sys.argv[1]
# The wallet only signs messages here: its web3 is never asked anything, so it points at the provider.
wallet = Wallet(Web3(HTTPProvider(URL)), sys.argv[2], 1, 60)


def sign(message: str) -> str:
    return DSP.sign_message(wallet, message, provider_uri=URL)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def run(command: dict):
    op = command["op"]
    did = command.get("did", "")
    if op == "root":
        return {"valid": DSP.is_valid_provider(URL), "providerAddress": DSP.get_provider_address(URL)}
    if op == "nonce":
        return DSP.get_nonce(wallet.address, URL)
    if op == "encrypt":
        _, endpoint = DSP.build_encrypt_endpoint(URL)
        return DSP.encrypt_files_dict(command["files"], endpoint, did, wallet.address, sign(did))
    if op == "fileinfo_valid":
        return DSP.check_asset_file_info(did, URL)
    if op == "initialize":
        _, endpoint = DSP.build_initialize_endpoint(URL)
        found = DSP.get_order_requirements(did, endpoint, wallet.address, command["serviceId"], command["serviceType"], command["datatoken"])
        return None if found is None else {"amount": found.amount, "dataToken": found.data_token_address, "to": found.receiver_address, "nonce": found.nonce}
    if op == "orders":  # d2d's orders list, signed as this client signs everything
        _, endpoint = DSP.build_endpoint("orders", URL)
        answer = requests.get(endpoint, params={"consumerAddress": wallet.address, "signature": sign(wallet.address)})
        return answer.json()
    if op == "download":
        _, endpoint = DSP.build_download_endpoint(URL)
        with tempfile.TemporaryDirectory() as folder:
            DSP.download_service(did, endpoint, wallet, [{}], folder, command["serviceId"], command["datatoken"], command["tx"], index=0)
            names = os.listdir(folder)
            return {"names": names, "data": [b64(open(os.path.join(folder, name), "rb").read()) for name in names]}
    _, compute = DSP.build_compute_endpoint(URL)
    job = command.get("jobId", "")
    if op == "compute_start":
        signature = sign(f"{wallet.address}{did}")
        if "algorithmDid" in command:
            return DSP.start_compute_job(did, compute, wallet.address, signature, command["serviceId"], command["tx"], algorithm_did=command["algorithmDid"])
        meta = AlgorithmMetadata(command["meta"])
        return DSP.start_compute_job(did, compute, wallet.address, signature, command["serviceId"], command["tx"], algorithm_meta=meta)
    if op == "compute_status":
        return DSP.compute_job_status(did, job, compute, wallet.address, sign(f"{wallet.address}{job}{did}"))
    if op == "compute_result":
        _, endpoint = DSP.build_compute_result_file_endpoint(URL)
        index = command["index"]
        return b64(DSP.compute_job_result_file(job, index, endpoint, wallet.address, sign(f"{wallet.address}{job}{index}")))
    if op == "compute_stop":
        return DSP.stop_compute_job(did, job, compute, wallet.address, sign(f"{wallet.address}{job}{did}"))
    if op == "compute_delete":
        return DSP.delete_compute_job(did, job, compute, wallet.address, sign(f"{wallet.address}{job}{did}"))
    raise ValueError(f"unknown op {op}")


if __name__ == "__main__":
    serve(run)
