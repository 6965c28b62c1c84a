"""Quotes and payment checks: an order must be verified before a download or a compute job.

The verifier is chosen by D2D_COMPUTE_ORDER_VERIFIER: "ledger" (default) trusts the
orders d2d records, which staff (or a test) mark paid with a transaction id; "jsonrpc"
reads the transaction's receipt from an Ethereum node and looks for the ERC-20
Transfer of the quoted amount from the consumer to the provider.
"""

import json
from decimal import Decimal

import urllib3
from django.db import transaction
from django.utils import timezone
from eth_utils import keccak, to_checksum_address

from compute import conf
from compute.datasets import dataset_by_did, dataset_service
from compute.keys import provider_address
from compute.models import Dataset, Order, ServiceType
from compute.provider import provider_fee
from compute.signatures import checksum, nonce_current, signed_request_verify
from kernel.errors import DomainError

TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


def token_amount_text(amount: Decimal) -> str:
    """2.000000000000000000 as "2", 1.50 as "1.5": how quotes and messages show datatokens."""
    return format(amount.normalize(), "f")


def token_amount_number(amount: Decimal) -> int | float:
    """numTokens as 002's example gives it: a JSON number (an integer when whole)."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


class OrderNotPaid(DomainError):
    """No verified payment covers this request: 400 with the reason."""


def order_quote(*, dataset: Dataset, service: dict, consumer: str) -> Order:
    """initialize: record what the consumer must pay for one service (a new quote each call)."""
    return Order.objects.create(
        dataset=dataset,
        service_index=str(service["index"]),
        service_type=service["type"],
        consumer_address=consumer,
        provider_address=provider_address(),
        datatoken_address=dataset.datatoken_address,
        num_tokens=Decimal(str(service.get("price", 0))),
    )


def order_initialize(*, data: dict) -> dict:
    """002's initialize: check the request, record the quote, answer {from, to, numTokens, dataToken, nonce}."""
    consumer = checksum(data.get("consumerAddress", ""), field="consumerAddress")
    dataset = dataset_by_did(data.get("documentId"))
    service = dataset_service(dataset, data.get("serviceId"), data.get("serviceType") or None)
    token = data.get("dataToken")
    if token and checksum(token, field="dataToken") != dataset.datatoken_address:
        raise DomainError("dataToken is not this dataset's datatoken", field="dataToken")
    valid_until = _valid_until(data.get("validUntil"))
    order = order_quote(dataset=dataset, service=service, consumer=consumer)
    return {
        "from": consumer,
        "to": order.provider_address,
        "numTokens": token_amount_number(order.num_tokens),
        "dataToken": order.datatoken_address,
        "nonce": int(nonce_current(consumer)),
        # Ocean v4's names: the order to pay (a consumer passes its transaction as transferTxId) and the fee.
        "orderId": order.pk,
        "datatoken": order.datatoken_address,
        "providerFee": provider_fee(
            datatoken=order.datatoken_address,
            service_id=service["index"],
            compute=service["type"] == ServiceType.COMPUTE,
            valid_until=valid_until,
        ),
    }


def _valid_until(raw) -> int | None:
    """initialize's optional validUntil (a Unix time): when a compute fee stops being valid."""
    if raw in (None, ""):
        return None
    text = str(raw).strip()
    if not text.isdigit() or len(text) > 12:
        raise DomainError("validUntil must be a Unix time in seconds", field="validUntil")
    return int(text)


def order_document(order: Order) -> dict:
    """One order as its consumer sees it through the API."""
    return {
        "orderId": order.pk,
        "documentId": order.dataset.did,
        "serviceId": order.service_index,
        "serviceType": order.service_type,
        "from": order.consumer_address,
        "to": order.provider_address,
        "dataToken": order.datatoken_address,
        "numTokens": token_amount_number(order.num_tokens),
        "paid": order.paid,
        "transferTxId": order.tx_id or "",
        "created": order.created_at.isoformat(),
    }


def orders_of(*, data: dict) -> list[dict]:
    """The signer's own orders, newest first, optionally for one documentId (signed: consumerAddress + nonce)."""
    consumer = signed_request_verify("orders", data)
    found = Order.objects.filter(consumer_address=consumer).select_related("dataset").order_by("-created_at")
    if data.get("documentId"):
        found = found.filter(dataset__did=str(data["documentId"]))
    return [order_document(order) for order in found[:500]]


def order_mark_paid(*, order: Order, tx_id: str, verified_by: str = "ledger") -> Order:
    """Record a payment; a transaction id pays for one order only."""
    tx_id = str(tx_id or "").strip()
    if not tx_id:
        raise DomainError("a transaction id is required", field="tx_id")
    if Order.objects.filter(tx_id=tx_id).exclude(pk=order.pk).exists():
        raise OrderNotPaid(f"transaction {tx_id} already paid for another order")
    order.tx_id, order.paid, order.paid_at, order.verified_by = tx_id, True, timezone.now(), verified_by
    order.save(update_fields=["tx_id", "paid", "paid_at", "verified_by"])
    return order


class LedgerVerifier:
    """Payments are whatever d2d's own order records say: nothing to look up elsewhere."""

    name = "ledger"

    def verify(self, order: Order, tx_id: str) -> None:
        raise OrderNotPaid(f"no paid order with transferTxId {tx_id}: ask the provider's staff to record the payment")


class JsonRpcVerifier:
    """Reads eth_getTransactionReceipt and checks the datatoken's Transfer(consumer → provider, amount)."""

    name = "jsonrpc"

    def __init__(self, url: str | None = None):
        self.url = url or conf.eth_rpc_url()

    def call(self, method: str, params: list):
        if not self.url:
            raise OrderNotPaid("no Ethereum node is configured (D2D_COMPUTE_ETH_RPC_URL)")
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        try:
            response = urllib3.request(
                "POST", self.url, body=body, headers={"Content-Type": "application/json"},
                timeout=urllib3.Timeout(total=conf.fetch_timeout()), retries=False,
            )
            answer = json.loads(response.data)
        except (urllib3.exceptions.HTTPError, ValueError) as exc:
            raise OrderNotPaid(f"the Ethereum node cannot be asked: {type(exc).__name__}") from None
        if answer.get("error"):
            raise OrderNotPaid(f"the Ethereum node refused {method}: {answer['error'].get('message', answer['error'])}")
        return answer.get("result")

    def verify(self, order: Order, tx_id: str) -> None:
        receipt = self.call("eth_getTransactionReceipt", [tx_id])
        if not receipt:
            raise OrderNotPaid(f"transaction {tx_id} is not mined (no receipt)")
        if int(str(receipt.get("status", "0x0")), 16) != 1:
            raise OrderNotPaid(f"transaction {tx_id} failed on chain")
        needed = int(order.num_tokens * (Decimal(10) ** conf.token_decimals()))
        for log in receipt.get("logs", []):
            topics = [str(topic).lower() for topic in log.get("topics", [])]
            if len(topics) != 3 or topics[0] != TRANSFER_TOPIC:
                continue
            if to_checksum_address(log["address"]) != to_checksum_address(order.datatoken_address):
                continue
            sender, receiver = (to_checksum_address("0x" + topic[-40:]) for topic in topics[1:])
            amount = int(str(log.get("data") or "0x0"), 16)
            if sender == order.consumer_address and receiver == order.provider_address and amount >= needed:
                return
        amount = token_amount_text(order.num_tokens)
        raise OrderNotPaid(f"transaction {tx_id} has no Transfer of {amount} datatokens from the consumer to the provider")


def verifier():
    return JsonRpcVerifier() if conf.order_verifier() == "jsonrpc" else LedgerVerifier()


def order_require_paid(*, dataset: Dataset, service: dict, consumer: str, tx_id: str) -> Order:
    """The paid order behind ``tx_id`` for this consumer and service, verifying the payment once if needed."""
    tx_id = str(tx_id or "").strip()
    if not tx_id:
        raise DomainError("transferTxId is required", field="transferTxId")
    if len(tx_id) > 100:
        raise DomainError("transferTxId is longer than a transaction id", field="transferTxId")
    service_index = str(service["index"])
    existing = Order.objects.filter(tx_id=tx_id).first()
    if existing is not None:
        if (existing.dataset_id, existing.service_index, existing.consumer_address) != (dataset.pk, service_index, consumer):
            raise OrderNotPaid(f"transferTxId {tx_id} paid for another dataset, service or consumer")
        if existing.paid:
            return existing
        quote = existing
    else:
        quote = (
            Order.objects.filter(dataset=dataset, service_index=service_index, consumer_address=consumer, paid=False)
            .filter(tx_id__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if quote is None:
            raise OrderNotPaid("no order for this dataset and service: call initialize first")
    checker = verifier()
    checker.verify(quote, tx_id)
    with transaction.atomic():
        return order_mark_paid(order=Order.objects.select_for_update().get(pk=quote.pk), tx_id=tx_id, verified_by=checker.name)
