"""initialize quotes; download needs a paid order and a real fileIndex, and never shows the URL."""

import pytest

from compute.keys import provider_address
from compute.models import Order
from compute.orders import order_mark_paid
from tests.compute.conftest import CSV, DATATOKEN, signed

pytestmark = pytest.mark.django_db


def quote(api, dataset, account, service_id=0):
    body = {"documentId": dataset.did, "serviceId": service_id, "serviceType": "access", "consumerAddress": account.address}
    return api(None).post("/api/v1/services/initialize", body, format="json")


def download(api, dataset, account, *, tx, file_index=0):
    fields = {"documentId": dataset.did, "serviceId": 0, "serviceType": "access", "fileIndex": file_index, "transferTxId": tx}
    return api(None).get("/api/v1/services/download", signed("download", account, fields))


def paid_order(api, dataset, account, tx="0xabc1"):
    assert quote(api, dataset, account).status_code == 200
    return order_mark_paid(order=Order.objects.get(consumer_address=account.address, paid=False), tx_id=tx)


def test_it_quotes_the_price_to_the_provider(api, dataset, consumer):
    response = quote(api, dataset, consumer)
    assert response.status_code == 200, response.content
    answer = response.json()
    quote_002 = {key: answer[key] for key in ("from", "to", "numTokens", "dataToken", "nonce")}
    assert quote_002 == {"from": consumer.address, "to": provider_address(), "numTokens": 1, "dataToken": DATATOKEN, "nonce": 0}
    order = Order.objects.get()
    assert order.paid is False
    assert answer["orderId"] == order.pk  # the order a client pays, learnt from the API


def test_it_streams_the_file_of_a_paid_order_without_showing_its_url(api, dataset, consumer, allow_file_server):
    paid_order(api, dataset, consumer)
    response = download(api, dataset, consumer, tx="0xabc1")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CSV
    assert allow_file_server.hostport not in str(response.headers)


def test_it_refuses_an_unpaid_order_with_400(api, dataset, consumer):
    assert quote(api, dataset, consumer).status_code == 200
    response = download(api, dataset, consumer, tx="0xnotpaid")
    assert response.status_code == 400
    assert response.json()["error"].startswith("no paid order with transferTxId 0xnotpaid")


def test_it_refuses_a_download_before_initialize(api, dataset, consumer):
    response = download(api, dataset, consumer, tx="0x1")
    assert response.status_code == 400
    assert response.json()["error"] == "no order for this dataset and service: call initialize first"


def test_it_refuses_a_transaction_paid_by_another_consumer(api, dataset, consumer, stranger):
    paid_order(api, dataset, consumer, tx="0xmine")
    response = download(api, dataset, stranger, tx="0xmine")
    assert response.status_code == 400 and "paid for another" in response.json()["error"]


def test_it_refuses_a_wrong_file_index_with_400(api, dataset, consumer):
    paid_order(api, dataset, consumer)
    response = download(api, dataset, consumer, tx="0xabc1", file_index=3)
    assert response.status_code == 400
    assert response.json() == {
        "error": "fileIndex 3 does not exist: the dataset has 1 file(s)",
        "errors": {"fileIndex": ["fileIndex 3 does not exist: the dataset has 1 file(s)"]},
    }


def test_it_refuses_a_download_signed_by_another_key_with_401(api, dataset, consumer, stranger):
    paid_order(api, dataset, consumer)
    body = signed("download", stranger, {"documentId": dataset.did, "serviceId": 0, "fileIndex": 0, "transferTxId": "0xabc1"})
    body["consumerAddress"] = consumer.address
    response = api(None).get("/api/v1/services/download", body)
    assert response.status_code == 401 and response.json()["error"].startswith("signature does not match consumerAddress")


def test_it_answers_404_for_an_unknown_document(api, consumer):
    response = api(None).get("/api/v1/services/download", signed("download", consumer, {"documentId": "did:op:nope"}))
    assert response.status_code == 404 and response.json() == {"error": "no dataset with documentId did:op:nope"}


def test_it_lets_staff_mark_an_order_paid(api, alice, dataset, consumer):
    alice.is_staff = True
    alice.save()
    quote(api, dataset, consumer)
    order = Order.objects.get()
    response = api(alice).post(f"/api/v1/services/orders/{order.pk}/paid", {"txId": "0xstaff"}, format="json")
    assert response.status_code == 200 and response.json()["paid"] is True
    assert download(api, dataset, consumer, tx="0xstaff").status_code == 200


def test_it_answers_502_when_the_files_server_is_gone(api, dataset, consumer, allow_file_server):
    paid_order(api, dataset, consumer)
    allow_file_server.files.clear()
    response = download(api, dataset, consumer, tx="0xabc1")
    assert response.status_code == 502 and response.json() == {"error": "file 0 cannot be served: the file's server answered 404"}
