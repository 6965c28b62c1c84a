"""ocean-lib 0.8.x's signatures (raw text plus the stored nonce, none sent): refused unless the setting is on."""

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from compute.models import Nonce, Order
from compute.orders import order_mark_paid, order_quote
from tests.compute.conftest import CSV

pytestmark = pytest.mark.django_db


def legacy_sign(text: str, account) -> str:
    """What ocean-lib 0.8.x does: personal_sign of the text itself (not of its keccak)."""
    return Account.sign_message(encode_defunct(text=text), account.key).signature.hex()


def legacy_download(api, dataset, account, *, nonce: int, signer=None):
    fields = {"documentId": dataset.did, "serviceId": 0, "serviceType": "access", "fileIndex": 0, "transferTxId": "0xl1",
              "consumerAddress": account.address, "signature": legacy_sign(f"{dataset.did}{nonce}", signer or account)}
    return api(None).get("/api/v1/services/download", fields)


@pytest.fixture
def paid_access(dataset, consumer):
    return order_mark_paid(order=order_quote(dataset=dataset, service=dataset.service(0), consumer=consumer.address), tx_id="0xl1")


def test_it_refuses_the_legacy_form_by_default(api, dataset, consumer, paid_access):
    response = legacy_download(api, dataset, consumer, nonce=0)
    assert response.status_code == 400 and response.json()["error"] == "nonce is required"
    assert not Nonce.objects.exists()


def test_with_the_setting_on_it_accepts_the_stored_nonce_and_advances_it(api, dataset, consumer, paid_access, settings):
    settings.D2D_COMPUTE_LEGACY_SIGNATURES = True
    first = legacy_download(api, dataset, consumer, nonce=0)
    assert first.status_code == 200, first.content
    assert b"".join(first.streaming_content) == CSV
    assert Nonce.objects.get(address=consumer.address).value == 1
    assert api(None).get("/api/v1/services/nonce", {"userAddress": consumer.address}).json() == {"nonce": 1}
    replay = legacy_download(api, dataset, consumer, nonce=0)  # the same request again
    assert replay.status_code == 401 and replay.json()["error"].startswith("signature does not match")
    assert legacy_download(api, dataset, consumer, nonce=1).status_code == 200
    assert Nonce.objects.get(address=consumer.address).value == 2


def test_with_the_setting_on_a_wrong_signer_or_an_unpaid_order_changes_nothing(api, dataset, consumer, stranger, settings):
    settings.D2D_COMPUTE_LEGACY_SIGNATURES = True
    Nonce.objects.create(address=consumer.address, value=3)
    wrong = legacy_download(api, dataset, consumer, nonce=3, signer=stranger)
    assert wrong.status_code == 401 and wrong.json()["error"].startswith("signature does not match")
    unpaid = legacy_download(api, dataset, consumer, nonce=3)
    assert unpaid.status_code == 400 and "no order for this dataset" in unpaid.json()["error"]
    assert Nonce.objects.get(address=consumer.address).value == 3 and not Order.objects.exists()


def test_the_legacy_encrypt_answers_201_and_the_signed_form_keeps_working(api, consumer, settings):
    settings.D2D_COMPUTE_LEGACY_SIGNATURES = True
    body = {"documentId": "did:op:1", "publisherAddress": consumer.address, "document": '[{"url": "https://x.example/a"}]',
            "signature": legacy_sign("did:op:10", consumer)}
    response = api(None).post("/api/v1/services/encrypt", body, format="json")
    assert response.status_code == 201 and response.json()["encryptedDocument"].startswith("0x")
    v4 = api(None).generic("POST", "/api/v1/services/encrypt", b'{"files": []}', content_type="application/octet-stream")
    assert v4.status_code == 201 and v4["Content-Type"].startswith("text/plain") and v4.content.startswith(b"0x")
