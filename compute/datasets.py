"""Datasets and algorithms: publish them, look up a service, encrypt documents, decrypt and open files."""

import json
import secrets
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from eth_utils import is_hex_address, to_checksum_address

from compute.fetch import Fetched, FetchRefused, fetch
from compute.keys import provider_decrypt, provider_encrypt
from compute.models import Algorithm, Dataset, ServiceType
from compute.signatures import signed_request_verify
from kernel.errors import Conflict, DomainError, NotFound


class FileUnavailable(DomainError):
    """The provider could not get the file from where it is kept: 502, the consumer did nothing wrong."""

    status = 502
    code = "file_unavailable"


MAX_PRICE = Decimal(10) ** 21  # fits Order.num_tokens (40 digits, 18 decimals)


def new_did() -> str:
    return "did:op:" + secrets.token_hex(32)


def _address(value: str, field: str, *, required: bool = True) -> str:
    if not value and not required:
        return ""
    if not isinstance(value, str) or not is_hex_address(value):
        raise DomainError(f"{field} must be an Ethereum address", field=field)
    return to_checksum_address(value)


def services_clean(services) -> list[dict]:
    if not isinstance(services, list) or not services:
        raise DomainError("services must be a non-empty list", field="services")
    cleaned, seen = [], set()
    for position, service in enumerate(services):
        if not isinstance(service, dict):
            raise DomainError("each service is an object", field="services")
        index = str(service.get("index", position))
        if index in seen:
            raise DomainError(f"service index {index} appears twice", field="services")
        seen.add(index)
        kind = service.get("type")
        if kind not in ServiceType.values:
            raise DomainError(f"service type must be one of {', '.join(ServiceType.values)}", field="services")
        try:
            price = Decimal(str(service.get("price", "0")))
        except InvalidOperation:
            raise DomainError(f"service {index}: price must be a number of datatokens", field="services") from None
        if not price.is_finite() or price < 0 or price >= MAX_PRICE or price.as_tuple().exponent < -18:
            raise DomainError(f"service {index}: price must be 0 to {MAX_PRICE} datatokens, 18 decimals at most", field="services")
        entry = {**service, "index": int(index) if index.isdigit() else index, "type": kind, "price": str(price)}
        if kind == ServiceType.COMPUTE:
            entry["allowRawAlgorithm"] = bool(service.get("allowRawAlgorithm", False))
            entry["trustedAlgorithms"] = [str(did) for did in service.get("trustedAlgorithms", [])]
        cleaned.append(entry)
    return cleaned


def _clean_files(files) -> list[dict]:
    if not isinstance(files, list) or not files:
        raise DomainError("files must be a non-empty list of {url, contentType}", field="files")
    for position, item in enumerate(files):
        if not isinstance(item, dict) or not str(item.get("url") or "").strip():
            raise DomainError(f"file {position} has no url", field="files")
    return files


def files_decrypt(encrypted: str) -> list[dict]:
    """The files list behind an encrypted document (only the provider can do this).

    002's form is the list itself; Ocean v4's is {"datatokenAddress", "nftAddress", "files": [...]}.
    """
    try:
        files = json.loads(provider_decrypt(encrypted))
    except ValueError:
        raise DomainError("the encrypted files are not a JSON list", field="encryptedFiles") from None
    if isinstance(files, dict) and isinstance(files.get("files"), list):
        files = files["files"]
    return _clean_files(files)


def _public_files(files: list[dict]) -> list[dict]:
    return [
        {"index": position, "contentType": str(item.get("contentType", "")), "contentLength": item.get("contentLength")}
        for position, item in enumerate(files)
    ]


@transaction.atomic
def dataset_publish(
    *,
    project,
    name: str,
    datatoken_address: str,
    services: list,
    files: list | None = None,
    encrypted_files: str = "",
    did: str = "",
    metadata: dict | None = None,
    publisher_address: str = "",
    by=None,
) -> Dataset:
    """Publish a DID document; files given in the clear are encrypted before they are stored."""
    if not name:
        raise DomainError("name is required", field="name")
    if files and encrypted_files:
        raise DomainError("give files or encryptedFiles, not both", field="files")
    plain = files_decrypt(encrypted_files) if encrypted_files else _clean_files(files)
    dataset = Dataset(
        project=project,
        did=did or new_did(),
        name=name,
        metadata=metadata or {},
        publisher_address=_address(publisher_address, "publisherAddress", required=False),
        datatoken_address=_address(datatoken_address, "dataToken"),
        services=services_clean(services),
        files=_public_files(plain),
        encrypted_files=encrypted_files or provider_encrypt(json.dumps(plain).encode()),
        created_by=by,
        updated_by=by,
    )
    try:
        with transaction.atomic():
            dataset.save()
    except IntegrityError:
        raise Conflict(f"a dataset with DID {dataset.did} is already published") from None
    return dataset


def dataset_set_files(*, dataset: Dataset, files: list) -> Dataset:
    """Replace the files list (admin): encrypt it, keep only public facts in the clear."""
    plain = _clean_files(files)
    dataset.files = _public_files(plain)
    dataset.encrypted_files = provider_encrypt(json.dumps(plain).encode())
    return dataset


@transaction.atomic
def algorithm_publish(
    *, project, name: str, code: str, entrypoint: str = "python3 $ALGO", image: str = "", tag: str = "", did: str = "", by=None
) -> Algorithm:
    if not name:
        raise DomainError("name is required", field="name")
    if not code:
        raise DomainError("code is required", field="code")
    if "$ALGO" not in entrypoint:
        raise DomainError("entrypoint must contain $ALGO (the code's path)", field="entrypoint")
    algorithm = Algorithm(
        project=project, did=did or new_did(), name=name, code=code, entrypoint=entrypoint, image=image, tag=tag,
        created_by=by, updated_by=by,
    )
    try:
        with transaction.atomic():
            algorithm.save()
    except IntegrityError:
        raise Conflict(f"an algorithm with DID {algorithm.did} is already published") from None
    return algorithm


def dataset_by_did(did) -> Dataset:
    if not did:
        raise DomainError("documentId is required", field="documentId")
    did = str(did)
    dataset = None if "\x00" in did else Dataset.objects.filter(did=did).select_related("project").first()
    if dataset is None:
        raise NotFound(f"no dataset with documentId {did}")
    return dataset


def dataset_service(dataset: Dataset, service_id, service_type: str | None) -> dict:
    if service_id is None or str(service_id) == "":
        raise DomainError("serviceId is required", field="serviceId")
    service = dataset.service(service_id)
    if service is None:
        raise NotFound(f"dataset {dataset.did} has no service {service_id}")
    if service_type and service["type"] != service_type:
        raise DomainError(f"service {service_id} is a {service['type']} service, not {service_type}", field="serviceType")
    return service


def dataset_file_open(*, dataset: Dataset, file_index) -> tuple[Fetched, str]:
    """Open file ``file_index`` from its decrypted URL; returns the stream and a download name."""
    try:
        index = int(str(file_index))
    except ValueError:
        raise DomainError("fileIndex must be an integer", field="fileIndex") from None
    files = files_decrypt(dataset.encrypted_files)
    if not 0 <= index < len(files):
        raise DomainError(f"fileIndex {index} does not exist: the dataset has {len(files)} file(s)", field="fileIndex")
    item = files[index]
    try:
        opened = fetch(item["url"])
    except FetchRefused as exc:
        raise FileUnavailable(f"file {index} cannot be served: {exc.message}") from None
    name = str(item.get("name") or f"{dataset.did.rsplit(':', 1)[-1][:16]}-{index}")
    return opened, name


def _file_info(index: int, item: dict) -> dict:
    """What a consumer may learn about one file: reachable or not, its type and size; never its URL."""
    info = {"index": index, "type": "url", "valid": False, "contentType": str(item.get("contentType") or ""), "contentLength": None}
    try:
        opened = fetch(item["url"])
    except FetchRefused:
        return info
    opened.close()  # the headers answer the question; the body is never read
    return {**info, "valid": True, "contentType": opened.content_type or info["contentType"], "contentLength": opened.length}


def dataset_files_info(*, data: dict) -> list[dict]:
    """fileinfo: each file of a dataset's service checked at its server (through the SSRF guard).

    Only a published dataset's files are checked: Ocean's form that takes a bare URL would let anyone
    probe addresses through the provider, so it is refused.
    """
    if data.get("url") or data.get("type"):
        raise DomainError("fileinfo checks a dataset's files: send did and serviceId", field="did")
    did = data.get("did") or data.get("documentId")
    if not did:
        raise DomainError("did is required", field="did")
    dataset = dataset_by_did(did)
    if data.get("serviceId") not in (None, ""):  # ocean-lib 0.8.x sends none: the files are the dataset's
        dataset_service(dataset, data["serviceId"], None)
    return [_file_info(index, item) for index, item in enumerate(files_decrypt(dataset.encrypted_files))]


def bytes_encrypt(plain: bytes) -> str:
    """Ocean v4's encrypt: any bytes, for the provider's key; not signed, as encrypting needs no secret."""
    if not plain:
        raise DomainError("the body is empty: send the bytes to encrypt", field="document")
    return provider_encrypt(plain)


def document_encrypt(*, data: dict) -> str:
    """002's encrypt: a signed request from the publisher; only the provider can decrypt the answer."""
    if not data.get("documentId"):
        raise DomainError("documentId is required", field="documentId")
    signed_request_verify("encrypt", data, address_field="publisherAddress")
    document = data.get("document")
    if not document:
        raise DomainError("document is required", field="document")
    if not isinstance(document, str):
        document = json.dumps(document)
    return provider_encrypt(document.encode())
