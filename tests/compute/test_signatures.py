"""Signed requests: the nonce endpoint, a wrong signer, a replayed or lower nonce, missing fields."""

import pytest

from compute.signatures import message_for, sign
from tests.compute.conftest import signed

pytestmark = pytest.mark.django_db


def nonce_of(api, address):
    response = api(None).get("/api/v1/services/nonce", {"userAddress": address})
    assert response.status_code == 200, response.content
    return response.json()["nonce"]


def test_it_returns_zero_then_the_last_accepted_nonce(api, consumer, dataset):
    assert nonce_of(api, consumer.address) == 0
    body = signed("encrypt", consumer, {"documentId": "did:op:x", "document": "[]"}, address_field="publisherAddress", nonce="41")
    assert api(None).post("/api/v1/services/encrypt", body, format="json").status_code == 200
    assert nonce_of(api, consumer.address) == 41


def test_it_refuses_a_bad_user_address(api):
    response = api(None).get("/api/v1/services/nonce", {"userAddress": "0x123"})
    assert response.status_code == 400 and response.json()["error"] == "userAddress is not an Ethereum address"


def test_it_refuses_a_signature_by_another_key_with_401(api, consumer, stranger):
    body = signed("encrypt", stranger, {"documentId": "did:op:x", "document": "[]"}, address_field="publisherAddress")
    body["publisherAddress"] = consumer.address
    response = api(None).post("/api/v1/services/encrypt", body, format="json")
    assert response.status_code == 401
    assert response.json()["error"].startswith("signature does not match publisherAddress")
    assert nonce_of(api, consumer.address) == 0, "a refused signature does not use up the nonce"


def test_it_refuses_a_replayed_nonce_and_a_lower_one_with_401(api, consumer):
    fields = {"documentId": "did:op:x", "document": "[]"}
    first = signed("encrypt", consumer, fields, address_field="publisherAddress", nonce="100")
    assert api(None).post("/api/v1/services/encrypt", first, format="json").status_code == 200
    replay = api(None).post("/api/v1/services/encrypt", first, format="json")
    assert replay.status_code == 401
    assert replay.json()["error"] == "nonce 100 was already used: it must be greater than 100"
    lower = signed("encrypt", consumer, fields, address_field="publisherAddress", nonce="99")
    assert api(None).post("/api/v1/services/encrypt", lower, format="json").status_code == 401


@pytest.mark.parametrize("missing", ["signature", "nonce", "publisherAddress"])
def test_it_says_which_field_is_missing_with_400(api, consumer, missing):
    body = signed("encrypt", consumer, {"documentId": "did:op:x", "document": "[]"}, address_field="publisherAddress")
    del body[missing]
    response = api(None).post("/api/v1/services/encrypt", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == f"{missing} is required"
    assert response.json()["errors"] == {missing: [f"{missing} is required"]}


def test_it_signs_exactly_the_documented_message(consumer):
    assert message_for("download", {"documentId": "did:op:1"}, "7") == "did:op:17"
    fields = {"consumerAddress": "0xabc", "jobId": "j", "documentId": "d"}
    assert message_for("compute_status", fields, 9) == "0xabcjd9"
    assert message_for("compute_start", fields, 9) == "0xabcd9"
    assert sign("x", consumer.key).startswith("0x") and len(sign("x", consumer.key)) == 132


def test_it_accepts_v_as_0_or_1(api, consumer):
    body = signed("encrypt", consumer, {"documentId": "did:op:x", "document": "[]"}, address_field="publisherAddress")
    raw = bytearray.fromhex(body["signature"][2:])
    raw[64] -= 27
    body["signature"] = "0x" + raw.hex()
    assert api(None).post("/api/v1/services/encrypt", body, format="json").status_code == 200


def test_it_answers_401_never_500_for_signatures_no_key_made(api, consumer):
    body = signed("encrypt", consumer, {"documentId": "did:op:x", "document": "[]"}, address_field="publisherAddress")
    for raw in ("ff" * 64 + "1b", "00" * 64 + "1c", "ff" * 32 + "00" * 32 + "99"):
        response = api(None).post("/api/v1/services/encrypt", {**body, "signature": "0x" + raw}, format="json")
        assert response.status_code == 401, (raw, response.content)


def test_it_refuses_a_signature_that_is_not_a_string_with_400(api, consumer):
    body = signed("encrypt", consumer, {"documentId": "did:op:x", "document": "[]"}, address_field="publisherAddress")
    response = api(None).post("/api/v1/services/encrypt", {**body, "signature": [None, None]}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "signature must be a hex string"


def test_it_accepts_a_lowercase_address(api, consumer):
    body = signed("encrypt", consumer, {"documentId": "did:op:x", "document": "[]"}, address_field="publisherAddress")
    body["publisherAddress"] = consumer.address.lower()
    assert api(None).post("/api/v1/services/encrypt", body, format="json").status_code == 200


def test_it_answers_404_for_a_nul_in_a_document_id_and_405_for_a_method_staff_views_lack(api, consumer, alice):
    body = {"documentId": "did:op:\x00", "serviceId": 0, "consumerAddress": consumer.address}
    assert api(None).post("/api/v1/services/initialize", body, format="json").status_code == 404
    assert api(None).generic("TRACE", "/api/v1/services/datasets").status_code == 405
    assert api(alice).patch("/api/v1/services/datasets", {}, format="json").status_code == 405
