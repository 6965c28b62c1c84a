"""Drives d2d through ocean-lib 3.x's own DataServiceProvider; runs in that library's virtualenv (Python 3.10).

Reads one JSON command a line on stdin, answers one JSON line on stdout: {"ok": value} or
{"error": "<exception>: <message>"}. The test process sends the commands, so it can act between
them (pay an order, wait for a job) the way a provider's staff and a consumer would.
Usage: python driver_v3.py <provider URL> <consumer private key hex>
"""

import base64
import sys
import tempfile
from pathlib import Path

from eth_account import Account
from line_protocol import serve
from ocean_lib.assets.ddo import DDO
from ocean_lib.data_provider.base import DataServiceProviderBase
from ocean_lib.data_provider.data_encryptor import DataEncryptor
from ocean_lib.data_provider.data_service_provider import DataServiceProvider
from ocean_lib.data_provider.fileinfo_provider import FileInfoProvider
from ocean_lib.models.compute_input import ComputeInput
from ocean_lib.services.service import Service
from ocean_lib.structures.algorithm_metadata import AlgorithmMetadata

CHAIN_ID = 8996
URL = sys.argv[1]
consumer = Account.from_key(sys.argv[2])


def service(command: dict) -> Service:
    kind = command.get("serviceType", "compute")
    return Service(str(command["serviceId"]), kind, URL, command.get("datatoken"), None, 3600)


def ddo(did: str, services: list) -> DDO:
    return DDO(did=did, chain_id=CHAIN_ID, services=services)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def run(command: dict):
    op = command["op"]
    if op == "root":
        return {
            "valid": DataServiceProviderBase.is_valid_provider(URL),
            "providerAddress": DataServiceProviderBase.get_provider_address(URL, CHAIN_ID),
            "endpoints": DataServiceProviderBase.get_service_endpoints(URL),
        }
    if op == "nonce":  # the client's own signing step reads the nonce and signs with the next one
        nonce, _signature = DataServiceProviderBase.sign_message(consumer, "probe", URL)
        return nonce
    if op == "encrypt":
        return DataEncryptor.encrypt(command["document"], URL, CHAIN_ID).text
    if op == "fileinfo":
        return FileInfoProvider.fileinfo(command["did"], service(command)).json()
    if op == "fileinfo_valid":
        return DataServiceProvider.check_asset_file_info(command["did"], str(command["serviceId"]), URL)
    if op == "environments":
        return DataServiceProvider.get_c2d_environments(URL, CHAIN_ID)
    if op == "initialize":
        return DataServiceProvider.initialize(command["did"], service(command), consumer.address).json()
    if op == "orders":  # d2d's orders list, signed as this client signs everything
        method, endpoint = DataServiceProviderBase.build_endpoint("orders", URL)
        nonce, signature = DataServiceProviderBase.sign_message(consumer, consumer.address, URL)
        params = {"consumerAddress": consumer.address, "nonce": nonce, "signature": signature}
        return DataServiceProviderBase._http_method(method, endpoint, params=params).json()
    if op == "download":
        with tempfile.TemporaryDirectory() as folder:
            DataServiceProvider.download(command["did"], service(command), command["tx"], consumer, folder, index=0)
            return b64((Path(folder) / "file0").read_bytes())
    compute = service(command)
    if op == "compute_start":
        dataset = ComputeInput(ddo(command["did"], [compute]), compute, transfer_tx_id=command["tx"])
        if "algorithmDid" in command:
            algorithm_service = Service("0", "access", URL, None, None, 3600)
            algorithm = ComputeInput(ddo(command["algorithmDid"], [algorithm_service]), algorithm_service, transfer_tx_id="0x0")
            return DataServiceProvider.start_compute_job(compute, consumer, dataset, command["environment"], algorithm=algorithm)
        meta = AlgorithmMetadata(command["meta"])
        return DataServiceProvider.start_compute_job(compute, consumer, dataset, command["environment"], algorithm_meta=meta)
    if op == "compute_status":
        return DataServiceProvider.compute_job_status(command["did"], command["jobId"], compute, consumer)
    if op == "compute_result":
        return b64(DataServiceProvider.compute_job_result(command["jobId"], command["index"], compute, consumer))
    if op == "compute_result_logs":
        logs = DataServiceProvider.compute_job_result_logs(
            ddo(command["did"], [compute]), command["jobId"], compute, consumer, log_type=command["logType"]
        )
        return [b64(log) for log in logs]
    if op == "compute_stop":
        return DataServiceProvider.stop_compute_job(command["did"], command["jobId"], compute, consumer)
    if op == "compute_delete":
        return DataServiceProvider.delete_compute_job(command["did"], command["jobId"], compute, consumer)
    raise ValueError(f"unknown op {op}")


if __name__ == "__main__":
    serve(run)
