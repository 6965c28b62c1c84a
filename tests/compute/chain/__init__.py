"""A real Ethereum development chain for the order tests: ganache on loopback and an OpenZeppelin ERC-20.

ganache, solc (solc-js, the compiler as JavaScript) and @openzeppelin/contracts come from the
npm registry into a folder outside the repository (D2D_CHAIN_TOOLS_DIR), installed once and kept
by a stamp of their versions. Datatoken.sol is compiled by compile.js on each run (a few seconds).
"""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import urllib3
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from tests.support.processes import free_port, wait_for_port

HERE = Path(__file__).resolve().parent
PACKAGES = ["ganache@7.9.2", "solc@0.8.37", "@openzeppelin/contracts@5.7.0"]
TOOLS = Path(os.environ.get("D2D_CHAIN_TOOLS_DIR", "/tmp/d2d-chain-tools"))
CHAIN_ID = 8996
DECIMALS = 18


class ChainUnavailable(Exception):
    """node, npm or a package is missing; the message says which."""


def tools() -> Path:
    """node_modules holding the three packages, installed from npm unless the stamp matches."""
    for program in ("node", "npm"):
        if shutil.which(program) is None:
            raise ChainUnavailable(f"{program} is not installed (Debian: nodejs, npm)")
    stamp = hashlib.sha256(" ".join(PACKAGES).encode()).hexdigest()
    stamp_file = TOOLS / ".d2d-stamp"
    modules = TOOLS / "node_modules"
    TOOLS.mkdir(parents=True, exist_ok=True)
    with open(TOOLS / ".d2d-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs on one machine install once, never over each other
        if stamp_file.exists() and stamp_file.read_text() == stamp and (modules / ".bin" / "ganache").exists():
            return modules
        install = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(TOOLS), *PACKAGES], capture_output=True, text=True, timeout=1200,
        )
        if install.returncode != 0:
            raise ChainUnavailable(f"npm install failed: {install.stderr[-3000:]}")
        stamp_file.write_text(stamp)
    return modules


def compile_datatoken(modules: Path) -> dict:
    done = subprocess.run(["node", str(HERE / "compile.js"), str(modules)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise ChainUnavailable(f"solc failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout)


class Ganache:
    """A ganache process on 127.0.0.1 (deterministic accounts, the first one unlocked) and JSON-RPC to it."""

    def __init__(self, modules: Path, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [str(modules / ".bin" / "ganache"), "--server.host", "127.0.0.1", "--server.port", str(self.port),
             "--chain.chainId", str(CHAIN_ID), "--wallet.deterministic", "--chain.hardfork", "shanghai"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for_port(self.port, timeout=60, process=self.process)
        self.funder = to_checksum_address(self.rpc("eth_accounts", [])[0])

    def rpc(self, method: str, params: list):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        answer = json.loads(urllib3.request("POST", self.url, body=body, headers={"Content-Type": "application/json"}, retries=False).data)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def receipt(self, tx_hash: str) -> dict:
        return self.rpc("eth_getTransactionReceipt", [tx_hash])

    def send_from_funder(self, **tx) -> str:
        """A transaction of the unlocked first account (ganache signs it); mined before the call returns."""
        return self.rpc("eth_sendTransaction", [{"from": self.funder, "gas": hex(3_000_000), **tx}])

    def deploy(self, compiled: dict, name: str, supply_tokens: int) -> str:
        arguments = encode(["string", "string", "uint256"], [name, name[:4].upper(), supply_tokens * 10**DECIMALS])
        tx = self.send_from_funder(data="0x" + compiled["bytecode"] + arguments.hex())
        receipt = self.receipt(tx)
        assert int(receipt["status"], 16) == 1, receipt
        return to_checksum_address(receipt["contractAddress"])

    def fund(self, account, token: str, tokens: int) -> None:
        """Ether for gas and ``tokens`` of ``token`` to ``account``, from the first account."""
        self.send_from_funder(to=account.address, value=hex(10**18))
        self.send_from_funder(to=token, data=transfer_data(account.address, tokens * 10**DECIMALS))

    def transfer(self, account, token: str, to: str, amount: int) -> str:
        """``account`` signs an ERC-20 transfer itself and sends it raw; returns the transaction hash."""
        tx = {
            "to": token, "data": transfer_data(to, amount), "value": 0, "gas": 200_000, "chainId": CHAIN_ID,
            "gasPrice": int(self.rpc("eth_gasPrice", []), 16),
            "nonce": int(self.rpc("eth_getTransactionCount", [account.address, "pending"]), 16),
        }
        raw = Account.sign_transaction(tx, account.key).raw_transaction
        return self.rpc("eth_sendRawTransaction", ["0x" + bytes(raw).hex()])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def transfer_data(to: str, amount: int) -> str:
    return "0x" + (keccak(text="transfer(address,uint256)")[:4] + encode(["address", "uint256"], [to, amount])).hex()
