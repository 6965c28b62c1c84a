"""Shapes of compute's requests and answers: DDOs and 002's status objects, plus schema-only serializers."""

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from compute.models import ComputeJob, Dataset


def ddo(dataset: Dataset) -> dict:
    """The DID document as consumers see it: services, prices, the datatoken; file URLs only encrypted."""
    return {
        "id": dataset.did,
        "name": dataset.name,
        "project": dataset.project_id,
        "metadata": dataset.metadata,
        "publisherAddress": dataset.publisher_address,
        "dataToken": dataset.datatoken_address,
        "services": dataset.services,
        "files": dataset.files,
        "encryptedFiles": dataset.encrypted_files,
        "created": dataset.created_at.isoformat(),
    }


def algorithm_document(algorithm) -> dict:
    return {
        "id": algorithm.did,
        "name": algorithm.name,
        "project": algorithm.project_id,
        "container": {"entrypoint": algorithm.entrypoint, "image": algorithm.image, "tag": algorithm.tag},
        "created": algorithm.created_at.isoformat(),
    }


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def status_object(job: ComputeJob, request) -> dict:
    """One of 002's status objects. Result and log URLs still need the owner's nonce and signature."""
    path = reverse("compute-result")
    base = f"{settings.D2D_PUBLIC_URL}{path}" if settings.D2D_PUBLIC_URL else request.build_absolute_uri(path)
    owner_query = f"consumerAddress={job.owner_address}&jobId={job.job_id}"
    return {
        "owner": job.owner_address,
        "documentId": job.dataset.did,
        "jobId": job.job_id,
        "dateCreated": _iso(job.created_at),
        "dateFinished": _iso(job.finished_at),
        "status": int(job.ocean_status),
        "statusText": job.ocean_status_text,
        "statusReason": job.ocean_status_reason,
        "algorithmLogUrl": f"{base}?{owner_query}&index=log" if job.log_path else "",
        "resultsUrls": [f"{base}?{owner_query}&index={item['index']}" for item in job.results],
        "resultsDid": "",
        # Ocean v4 clients fetch results[i] as computeResult index=i: the outputs, then the log.
        "results": [{"filename": item["filename"], "type": "output", "index": item["index"]} for item in job.results]
        + ([{"filename": "algorithm.log", "type": "algorithmLog", "index": len(job.results)}] if job.log_path else []),
    }


# --- schema-only serializers (what the OpenAPI document shows) -------------------------------

ADDRESS = r"^0x[0-9a-fA-F]{40}$"
SIGNATURE = r"^0x[0-9a-fA-F]{130}$"
NONCE = r"^[0-9]{1,30}$"


def address_field(**extra):
    return serializers.RegexField(ADDRESS, help_text="Ethereum address", **extra)


def signature_field():
    return serializers.RegexField(SIGNATURE, help_text="0x + 65 bytes (r, s, v) of the EIP-191 signature")


def nonce_field():
    return serializers.RegexField(NONCE, help_text="greater than the last nonce accepted for the address")


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    errors = serializers.DictField(required=False)


class NonceQuerySerializer(serializers.Serializer):
    userAddress = address_field()


class NonceSerializer(serializers.Serializer):
    nonce = serializers.IntegerField()


class EncryptRequestSerializer(serializers.Serializer):
    documentId = serializers.CharField()
    publisherAddress = address_field()
    document = serializers.CharField(
        help_text='JSON list of file objects, e.g. [{"url": "https://…", "contentType": "text/csv"}]'
    )
    nonce = nonce_field()
    signature = signature_field()


class EncryptBodySerializer(EncryptRequestSerializer):
    # In a body the files list may also come as JSON itself (an array), not only as its text: it is
    # encrypted as that JSON's text either way.
    document = serializers.JSONField(
        help_text='the files list: [{"url": "https://…", "contentType": "text/csv"}], as JSON or as its text'
    )


class EncryptResponseSerializer(serializers.Serializer):
    encryptedDocument = serializers.CharField()


class InitializeRequestSerializer(serializers.Serializer):
    documentId = serializers.CharField()
    serviceId = serializers.CharField()
    serviceType = serializers.ChoiceField(choices=["access", "compute"], required=False)
    dataToken = address_field(required=False)
    consumerAddress = address_field()


class QuoteSerializer(serializers.Serializer):
    # "from" is a Python keyword: the field is declared below under its JSON name.
    to = serializers.CharField()
    numTokens = serializers.FloatField(help_text="datatokens to transfer; an integer when whole")
    dataToken = serializers.CharField()
    nonce = serializers.IntegerField()
    orderId = serializers.IntegerField(help_text="the order this quote recorded: pay it, then pass the transaction as transferTxId")
    datatoken = serializers.CharField(help_text="Ocean v4's name for dataToken")
    providerFee = serializers.DictField(
        help_text="{providerFeeAddress, providerFeeToken, providerFeeAmount, providerData, v, r, s, validUntil}, signed by the provider"
    )


QuoteSerializer._declared_fields["from"] = serializers.CharField()


class DownloadRequestSerializer(serializers.Serializer):
    documentId = serializers.CharField()
    serviceId = serializers.CharField()
    serviceType = serializers.ChoiceField(choices=["access"], required=False)
    fileIndex = serializers.IntegerField(min_value=0)
    consumerAddress = address_field()
    transferTxId = serializers.CharField()
    nonce = nonce_field()
    signature = signature_field()


class ComputeStartRequestSerializer(serializers.Serializer):
    documentId = serializers.CharField()
    consumerAddress = address_field()
    serviceId = serializers.CharField()
    serviceType = serializers.ChoiceField(choices=["compute"], required=False)
    dataToken = address_field(required=False)
    transferTxId = serializers.CharField()
    algorithmDid = serializers.CharField(required=False)
    algorithmMeta = serializers.JSONField(
        required=False, help_text='{"rawcode": "…", "container": {"entrypoint": "python3 $ALGO"}}'
    )
    output = serializers.JSONField(required=False)
    nonce = nonce_field()
    signature = signature_field()


class ComputeQuerySerializer(serializers.Serializer):
    consumerAddress = address_field()
    # Empty is the same as absent (Ocean's clients send jobId= for "all my jobs").
    jobId = serializers.CharField(required=False, allow_blank=True)
    documentId = serializers.CharField(required=False, allow_blank=True)
    nonce = nonce_field()
    signature = signature_field()


class ComputeResultQuerySerializer(serializers.Serializer):
    consumerAddress = address_field()
    jobId = serializers.CharField()
    index = serializers.CharField(help_text="0, 1, … or log")
    nonce = nonce_field()
    signature = signature_field()


class ComputeStatusSerializer(serializers.Serializer):
    owner = serializers.CharField()
    documentId = serializers.CharField()
    jobId = serializers.CharField()
    dateCreated = serializers.CharField()
    dateFinished = serializers.CharField()
    status = serializers.IntegerField(help_text="1 started … 6 completed, 7 stopped, 8 deleted")
    statusText = serializers.CharField(help_text="002's description of the status code, exactly as its table gives it")
    statusReason = serializers.CharField(
        allow_blank=True, help_text="d2d addition: why a job stopped (status 7), e.g. a limit or the owner; blank otherwise"
    )
    algorithmLogUrl = serializers.CharField()
    resultsUrls = serializers.ListField(child=serializers.CharField())
    resultsDid = serializers.CharField()
    results = serializers.ListField(
        child=serializers.DictField(), help_text="[{filename, type (output or algorithmLog), index}]: computeResult index=i gives results[i]"
    )


class DdoSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    project = serializers.CharField()
    metadata = serializers.JSONField()
    publisherAddress = serializers.CharField()
    dataToken = serializers.CharField()
    services = serializers.ListField(child=serializers.DictField())
    files = serializers.ListField(child=serializers.DictField())
    encryptedFiles = serializers.CharField()
    created = serializers.CharField()


class AlgorithmDocumentSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    project = serializers.CharField()
    container = serializers.DictField()
    created = serializers.CharField()


class DatasetPublishSerializer(serializers.Serializer):
    project = serializers.CharField()
    did = serializers.CharField(required=False, allow_blank=True)
    name = serializers.CharField()
    metadata = serializers.DictField(required=False)
    publisherAddress = serializers.CharField(required=False, allow_blank=True)
    dataToken = serializers.CharField()
    services = serializers.ListField(child=serializers.DictField(), min_length=1, help_text="[{index, type, price, …}]")
    files = serializers.ListField(child=serializers.DictField(), required=False, help_text="[{url, contentType}]: stored encrypted")
    encryptedFiles = serializers.CharField(required=False, allow_blank=True)


class AlgorithmPublishSerializer(serializers.Serializer):
    project = serializers.CharField()
    did = serializers.CharField(required=False, allow_blank=True)
    name = serializers.CharField()
    code = serializers.CharField(trim_whitespace=False)
    entrypoint = serializers.CharField(required=False, default="python3 $ALGO")
    image = serializers.CharField(required=False, allow_blank=True, default="")
    tag = serializers.CharField(required=False, allow_blank=True, default="")


class MarkPaidSerializer(serializers.Serializer):
    txId = serializers.CharField()


class MarkPaidResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    paid = serializers.BooleanField()
    txId = serializers.CharField()
    provider = serializers.CharField()
