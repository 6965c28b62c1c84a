"""Fixtures for compute: Ethereum keys, a local file server, a published dataset, signed calls."""

import itertools
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from compute.datasets import algorithm_publish, dataset_publish
from compute.signatures import message_for, sign

CSV = b"id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n"
DATATOKEN = to_checksum_address("0x" + "d7" * 20)
_nonces = itertools.count(int(time.time() * 1000))


class FileServer:
    """127.0.0.1 HTTP server answering GET <path> with the bytes in ``files`` (plus redirects)."""

    def __init__(self):
        self.files: dict[str, bytes] = {"/data.csv": CSV}
        self.redirects: dict[str, str] = {}
        files, redirects = self.files, self.redirects

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path in redirects:
                    self.send_response(302)
                    self.send_header("Location", redirects[self.path])
                    self.end_headers()
                    return
                body = files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.hostport}{path}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def file_server():
    server = FileServer()
    yield server
    server.stop()


@pytest.fixture
def allow_file_server(settings, file_server):
    settings.D2D_COMPUTE_URL_ALLOWLIST = [file_server.hostport]
    return file_server


@pytest.fixture
def consumer():
    return Account.create()


@pytest.fixture
def stranger():
    return Account.create()


@pytest.fixture
def publisher():
    return Account.create()


def next_nonce() -> str:
    return str(next(_nonces))


def signed(endpoint: str, account, fields: dict, *, address_field: str = "consumerAddress", nonce: str | None = None) -> dict:
    """``fields`` plus the signer's address, a fresh nonce and the signature, as a client sends them."""
    nonce = nonce or next_nonce()
    body = {address_field: account.address, **fields, "nonce": nonce}
    body["signature"] = sign(message_for(endpoint, body, nonce), account.key)
    return body


@pytest.fixture
def dataset(project_a, alice, allow_file_server):
    return dataset_publish(
        project=project_a,
        name="five rows",
        datatoken_address=DATATOKEN,
        services=[
            {"index": 0, "type": "access", "price": "1"},
            {"index": 1, "type": "compute", "price": "2", "allowRawAlgorithm": True},
        ],
        files=[{"url": allow_file_server.url("/data.csv"), "contentType": "text/csv"}],
        by=alice,
    )


COUNT_ROWS = """
import csv, json, os
did = json.loads(os.environ["DIDS"])[0]
with open(f"/data/inputs/{did}/0", newline="") as handle:
    rows = sum(1 for _ in csv.DictReader(handle))
with open("/data/outputs/result.json", "w") as out:
    json.dump({"rows": rows}, out)
print("counted", rows)
"""


@pytest.fixture
def row_counter(project_a, alice):
    return algorithm_publish(project=project_a, name="count rows", code=COUNT_ROWS, by=alice)
