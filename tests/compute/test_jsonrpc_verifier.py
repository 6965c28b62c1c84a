"""The Ethereum JSON-RPC order verifier against an in-process chain (eth-tester with py-evm).

No Solidity compiler is installed, so the datatoken is a hand-assembled contract whose
transfer(address,uint256) emits the ERC-20 Transfer event (from = caller) and returns
true: enough for the receipt the verifier reads, without balances.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionNotFound
from eth_utils import keccak

from compute.datasets import dataset_publish
from compute.keys import provider_address
from compute.models import Order
from tests.compute.conftest import CSV, signed

pytestmark = pytest.mark.django_db

TRANSFER = keccak(text="Transfer(address,address,uint256)")
RUNTIME = (
    bytes.fromhex("602435600052")  # mem[0:32] = amount (calldata word 2)
    + bytes.fromhex("600435")  # topic2 = to (calldata word 1)
    + bytes.fromhex("33")  # topic1 = msg.sender
    + bytes.fromhex("7f") + TRANSFER  # topic0
    + bytes.fromhex("60206000a3")  # LOG3(mem 0, 32 bytes)
    + bytes.fromhex("600160005260206000f3")  # return true
)
INIT = bytes([0x60, len(RUNTIME), 0x80, 0x60, 11, 0x60, 0, 0x39, 0x60, 0, 0xF3]) + RUNTIME


class Chain:
    def __init__(self):
        self.tester = EthereumTester(PyEVMBackend())
        self.funder = self.tester.get_accounts()[0]
        receipt = self.mine({"from": self.funder, "data": "0x" + INIT.hex(), "gas": 500_000})
        self.token = receipt["contract_address"]

    def mine(self, tx: dict) -> dict:
        return self.tester.get_transaction_receipt(self.tester.send_transaction({"value": 0, **tx}))

    def fund(self, account):
        self.tester.add_account("0x" + bytes(account.key).hex())
        self.mine({"from": self.funder, "to": account.address, "value": 10**18, "gas": 21_000})

    def transfer(self, sender, to: str, amount: int) -> str:
        data = keccak(text="transfer(address,uint256)")[:4] + bytes(12) + bytes.fromhex(to[2:]) + amount.to_bytes(32, "big")
        receipt = self.mine({"from": sender.address, "to": self.token, "data": "0x" + data.hex(), "gas": 100_000})
        return receipt["transaction_hash"]

    def receipt_json(self, tx_hash: str):
        try:
            receipt = self.tester.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None
        logs = [{"address": log["address"], "topics": list(log["topics"]), "data": log["data"]} for log in receipt["logs"]]
        return {"transactionHash": tx_hash, "status": hex(receipt["status"]), "logs": logs}


@pytest.fixture
def chain(settings):
    chain = Chain()

    class Rpc(BaseHTTPRequestHandler):
        def do_POST(self):
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if request["method"] == "eth_getTransactionReceipt":
                answer = {"jsonrpc": "2.0", "id": request["id"], "result": chain.receipt_json(request["params"][0])}
            else:
                answer = {"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32601, "message": "method not found"}}
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Rpc)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.D2D_COMPUTE_ORDER_VERIFIER = "jsonrpc"
    settings.D2D_COMPUTE_ETH_RPC_URL = f"http://127.0.0.1:{server.server_address[1]}"
    yield chain
    server.shutdown()
    server.server_close()


@pytest.fixture
def on_chain_dataset(chain, project_a, allow_file_server):
    return dataset_publish(
        project=project_a, name="chain", datatoken_address=chain.token,
        services=[{"index": 0, "type": "access", "price": "2"}],
        files=[{"url": allow_file_server.url("/data.csv")}],
    )


def download(api, dataset, account, tx):
    api(None).post("/api/v1/services/initialize", {"documentId": dataset.did, "serviceId": 0, "consumerAddress": account.address})
    fields = {"documentId": dataset.did, "serviceId": 0, "fileIndex": 0, "transferTxId": tx}
    return api(None).get("/api/v1/services/download", signed("download", account, fields))


def test_it_accepts_a_mined_transfer_of_the_price_to_the_provider(api, chain, on_chain_dataset, consumer):
    chain.fund(consumer)
    tx = chain.transfer(consumer, provider_address(), 2 * 10**18)
    response = download(api, on_chain_dataset, consumer, tx)
    assert response.status_code == 200, response.content
    assert b"".join(response.streaming_content) == CSV
    order = Order.objects.get(tx_id=tx)
    assert order.paid and order.verified_by == "jsonrpc"


@pytest.mark.parametrize("to_provider, amount", [(False, 2 * 10**18), (True, 10**18)])
def test_it_refuses_a_transfer_to_someone_else_or_too_small(api, chain, on_chain_dataset, consumer, to_provider, amount):
    chain.fund(consumer)
    tx = chain.transfer(consumer, provider_address() if to_provider else "0x" + "22" * 20, amount)
    response = download(api, on_chain_dataset, consumer, tx)
    assert response.status_code == 400
    assert response.json()["error"] == f"transaction {tx} has no Transfer of 2 datatokens from the consumer to the provider"
    assert not Order.objects.filter(paid=True).exists()


def test_it_refuses_a_transaction_that_is_not_mined(api, chain, on_chain_dataset, consumer):
    tx = "0x" + "ab" * 32
    response = download(api, on_chain_dataset, consumer, tx)
    assert response.status_code == 400 and response.json()["error"] == f"transaction {tx} is not mined (no receipt)"
