"""The jsonrpc order verifier against a real development chain: ganache, an OpenZeppelin ERC-20, real transfers.

The datatoken is compiled with solc-js and deployed in the test; the consumer signs its own
transfers. A download is the paid call: it must pass only for a mined transfer of the dataset's
token, of at least the price, from the consumer to the provider, and change nothing otherwise.
"""

import pytest
from eth_account import Account

from compute.datasets import dataset_publish
from compute.keys import provider_address
from compute.models import Nonce, Order
from tests.compute.chain import DECIMALS, Ganache, compile_datatoken, tools
from tests.compute.conftest import CSV, signed
from tests.support.processes import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db, pytest.mark.timeout(1500)]
PRICE = 2


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    modules = tools()
    compiled = compile_datatoken(modules)
    ganache = Ganache(modules, tmp_path_factory.mktemp("ganache") / "ganache.log")
    ganache.token = ganache.deploy(compiled, "Datatoken", 1_000_000)
    ganache.other_token = ganache.deploy(compiled, "Othertoken", 1_000_000)
    yield ganache
    ganache.stop()


@pytest.fixture
def verified_on_chain(settings, chain):
    settings.D2D_COMPUTE_ORDER_VERIFIER = "jsonrpc"
    settings.D2D_COMPUTE_ETH_RPC_URL = chain.url
    return chain


@pytest.fixture
def on_chain_dataset(verified_on_chain, project_a, allow_file_server):
    return dataset_publish(
        project=project_a, name="on chain", datatoken_address=verified_on_chain.token,
        services=[{"index": 0, "type": "access", "price": str(PRICE)}], files=[{"url": allow_file_server.url("/data.csv")}],
    )


@pytest.fixture
def buyer(chain):
    account = Account.create()
    chain.fund(account, chain.token, 10)
    chain.fund(account, chain.other_token, 10)
    return account


def download(api, dataset, account, tx):
    quote = api(None).post("/api/v1/services/initialize", {"documentId": dataset.did, "serviceId": 0, "consumerAddress": account.address}, format="json")
    assert quote.status_code == 200, quote.content
    fields = {"documentId": dataset.did, "serviceId": 0, "fileIndex": 0, "transferTxId": tx}
    return api(None).get("/api/v1/services/download", signed("download", account, fields))


def test_it_accepts_a_mined_transfer_of_the_price_to_the_provider(api, on_chain_dataset, buyer, chain):
    tx = chain.transfer(buyer, chain.token, provider_address(), PRICE * 10**DECIMALS)
    assert int(chain.receipt(tx)["status"], 16) == 1
    response = download(api, on_chain_dataset, buyer, tx)
    assert response.status_code == 200, response.content
    assert b"".join(response.streaming_content) == CSV
    order = Order.objects.get(tx_id=tx)
    assert order.paid and order.verified_by == "jsonrpc"
    again = download(api, on_chain_dataset, buyer, tx)  # the paid order is found without asking the node again
    assert again.status_code == 200


def refused_and_nothing_changed(api, dataset, account, tx, error: str):
    response = download(api, dataset, account, tx)
    assert response.status_code == 400 and set(response.json()) == {"error"}, response.content
    assert response.json()["error"] == error
    assert not Order.objects.filter(paid=True).exists() and not Order.objects.filter(tx_id=tx).exists()
    assert not Nonce.objects.filter(address=account.address).exists()  # the refused request kept its nonce free


def test_it_refuses_a_reverted_transfer(api, on_chain_dataset, buyer, chain):
    tx = chain.transfer(buyer, chain.token, provider_address(), 1_000 * 10**DECIMALS)  # more than the buyer holds
    assert int(chain.receipt(tx)["status"], 16) == 0
    refused_and_nothing_changed(api, on_chain_dataset, buyer, tx, f"transaction {tx} failed on chain")


@pytest.mark.parametrize(
    "case",
    ["another token", "too small an amount", "another recipient"],
)
def test_it_refuses_a_transfer_that_does_not_pay_the_order(api, on_chain_dataset, buyer, chain, case):
    token, to, amount = chain.token, provider_address(), PRICE * 10**DECIMALS
    if case == "another token":
        token = chain.other_token
    elif case == "too small an amount":
        amount -= 1
    else:
        to = Account.create().address
    tx = chain.transfer(buyer, token, to, amount)
    assert int(chain.receipt(tx)["status"], 16) == 1  # mined and successful, but not this payment
    refused_and_nothing_changed(
        api, on_chain_dataset, buyer, tx, f"transaction {tx} has no Transfer of {PRICE} datatokens from the consumer to the provider"
    )


def test_it_refuses_another_consumers_transfer(api, on_chain_dataset, buyer, chain):
    tx = chain.transfer(buyer, chain.token, provider_address(), PRICE * 10**DECIMALS)
    thief = Account.create()
    refused_and_nothing_changed(
        api, on_chain_dataset, thief, tx, f"transaction {tx} has no Transfer of {PRICE} datatokens from the consumer to the provider"
    )


def test_it_refuses_a_transaction_the_node_does_not_know(api, on_chain_dataset, buyer):
    tx = "0x" + "ab" * 32
    refused_and_nothing_changed(api, on_chain_dataset, buyer, tx, f"transaction {tx} is not mined (no receipt)")


def test_it_says_so_when_the_node_is_down(api, on_chain_dataset, buyer, chain, settings):
    tx = chain.transfer(buyer, chain.token, provider_address(), PRICE * 10**DECIMALS)
    settings.D2D_COMPUTE_ETH_RPC_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    refused_and_nothing_changed(api, on_chain_dataset, buyer, tx, "the Ethereum node cannot be asked: NewConnectionError")
    settings.D2D_COMPUTE_ETH_RPC_URL = chain.url  # back up: the same payment now passes
    assert download(api, on_chain_dataset, buyer, tx).status_code == 200
