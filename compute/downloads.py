"""002's download: a signed request for one file of a dataset's access service, behind a paid order."""

from django.db import transaction

from compute.datasets import dataset_by_did, dataset_file_open, dataset_service
from compute.fetch import Fetched
from compute.models import ServiceType
from compute.orders import order_require_paid
from compute.signatures import signed_request_verify
from kernel.errors import DomainError


@transaction.atomic
def download_open(*, data: dict) -> tuple[Fetched, str]:
    """002's download: signature, dataset and access service, a paid order, then the file itself.

    Atomic: a refusal after the signature (no such service, an unpaid order) keeps the signer's nonce.
    """
    consumer = signed_request_verify("download", data)
    dataset = dataset_by_did(data.get("documentId"))
    service = dataset_service(dataset, data.get("serviceId"), data.get("serviceType") or ServiceType.ACCESS)
    if data.get("fileIndex") in (None, ""):
        raise DomainError("fileIndex is required", field="fileIndex")
    order_require_paid(
        dataset=dataset, service=service, consumer=consumer, tx_id=data.get("transferTxId") or data.get("transactionId")
    )
    return dataset_file_open(dataset=dataset, file_index=data["fileIndex"])
