"""002's Ocean Provider endpoints (signed by Ethereum keys, not d2d accounts) and the staff publishing API."""

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.parsers import JSONParser

from accounts.models import Role
from accounts.scoping import project_for_user
from compute import datasets, downloads, jobs, orders
from compute.api import serializers as s
from compute.keys import provider_address
from compute.models import Algorithm, Dataset, Order
from compute.signatures import checksum, is_legacy, nonce_current, refuse_nul
from kernel.api.contracts import BARE
from kernel.api.views import ContractView

ERRORS = {400: s.ErrorSerializer, 401: s.ErrorSerializer, 404: s.ErrorSerializer}
STAFF_ERRORS = {code: s.ErrorSerializer for code in (400, 401, 403, 404, 409)}
FILE = {(200, "application/octet-stream"): bytes}
# download streams the file with the Content-Type its own server gave (application/octet-stream when none).
ANY_FILE = {(200, "*/*"): bytes}
# computeResult: a result file as bytes, the algorithm log (index=log) as UTF-8 text.
RESULT_FILE = {**FILE, (200, "text/plain"): str}
SIGNING = (
    " Signed: the message is {fields} followed by the nonce, as strings; the client personal-signs "
    "(EIP-191) keccak-256 of its UTF-8 bytes. The nonce must be greater than the last one accepted for the "
    "address (GET /api/v1/services/nonce). Errors: 400 names a missing or malformed field; 401 "
    '{{"error": "signature does not match …"}} for another signer, {{"error": "nonce … was already used …"}} for a replay.'
)


def request_fields(request) -> dict:
    """002's clients send fields in the query string (GET, DELETE) or the body (POST, PUT); take both."""
    fields = dict(request.query_params.items())
    body = request.data
    if hasattr(body, "dict"):
        body = body.dict()
    if isinstance(body, dict):
        fields.update(body)
    return fields


def live_did(did: str) -> str:
    """A DID from the path; one holding NUL cannot exist (PostgreSQL stores none): 404 without a query."""
    if "\x00" in did:
        raise Http404()
    return did


class OceanView(ContractView):
    """002 paths: anyone may call; signed endpoints authenticate the Ethereum signer themselves."""

    contract = BARE
    authentication_classes = []
    permission_classes = [permissions.AllowAny]


def _stream(opened, name: str, content_type: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(opened, content_type=content_type)
    # The name comes from a publisher or an algorithm: let Django quote it (no header injection).
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


class NonceView(OceanView):
    @extend_schema(
        tags=["ocean"],
        parameters=[s.NonceQuerySerializer],
        responses={200: s.NonceSerializer, 400: s.ErrorSerializer},
        description="The last nonce accepted from userAddress (0 if none). Sign the next request with a greater one.",
    )
    def get(self, request):
        address = request_fields(request).get("userAddress", "")
        return self.ok({"nonce": int(nonce_current(checksum(address, field="userAddress")))})

    @extend_schema(
        tags=["ocean"], parameters=[s.NonceQuerySerializer], request=None,
        responses={200: s.NonceSerializer, 400: s.ErrorSerializer}, description="As GET (002's example posts).",
    )
    def post(self, request):
        return self.get(request)


ENCRYPT_DESCRIPTION = (
    "Encrypt a files document with the provider's secp256k1 key (ECIES); only the provider can decrypt it. "
    "Publish the answer as a dataset's encryptedFiles." + SIGNING.format(fields="documentId") + " The signer is publisherAddress."
)


class EncryptView(OceanView):
    @extend_schema(
        tags=["ocean"], request=s.EncryptBodySerializer, responses={200: s.EncryptResponseSerializer, 201: str, **ERRORS},
        description=ENCRYPT_DESCRIPTION + " Ocean v4's form: the bytes themselves as application/octet-stream, "
        "not signed (anyone may encrypt for the provider); the answer is 201 with the hex as text/plain.",
    )
    def post(self, request):
        if request.content_type.split(";")[0].strip() == "application/octet-stream":
            return HttpResponse(datasets.bytes_encrypt(request.body), status=201, content_type="text/plain")
        fields = request_fields(request)
        status = 201 if is_legacy(fields) else 200  # ocean-lib 0.8.x expects the old provider's 201
        return self.ok({"encryptedDocument": datasets.document_encrypt(data=fields)}, status=status)

    @extend_schema(
        tags=["ocean"], parameters=[s.EncryptRequestSerializer], responses={200: s.EncryptResponseSerializer, **ERRORS},
        description=ENCRYPT_DESCRIPTION + " Fields in the query string.",
    )
    def get(self, request):
        return self.post(request)


INITIALIZE_DESCRIPTION = (
    "A quote: transfer numTokens of dataToken from consumerAddress to the provider ('to'), then pass the "
    "transaction id as transferTxId to download or compute. Not signed; records the order."
)


class InitializeView(OceanView):
    @extend_schema(
        tags=["ocean"], request=s.InitializeRequestSerializer, responses={200: s.QuoteSerializer, **ERRORS},
        description=INITIALIZE_DESCRIPTION,
    )
    def post(self, request):
        return self.ok(orders.order_initialize(data=request_fields(request)))

    @extend_schema(
        tags=["ocean"], parameters=[s.InitializeRequestSerializer], responses={200: s.QuoteSerializer, **ERRORS},
        description=INITIALIZE_DESCRIPTION + " Fields in the query string.",
    )
    def get(self, request):
        return self.post(request)


DOWNLOAD_DESCRIPTION = (
    "Stream file fileIndex of the dataset, with the Content-Type its server gave; its URL is never shown. "
    "Needs a paid order (transferTxId) for this consumer and access service: "
    '400 {"error": "no paid order …"} otherwise; a fileIndex outside the files list '
    'is 400 {"error": "fileIndex N does not exist …"}; 502 when the file\'s own server fails.'
    + SIGNING.format(fields="documentId")
)


class DownloadView(OceanView):
    @extend_schema(
        tags=["ocean"], parameters=[s.DownloadRequestSerializer], responses={**ANY_FILE, **ERRORS, 502: s.ErrorSerializer},
        description=DOWNLOAD_DESCRIPTION,
    )
    def get(self, request):
        opened, name = downloads.download_open(data=request_fields(request))
        response = _stream(opened.chunks(), name, opened.content_type)
        if opened.length is not None:
            response["Content-Length"] = str(opened.length)
        return response

    @extend_schema(
        tags=["ocean"], request=s.DownloadRequestSerializer, responses={**ANY_FILE, **ERRORS, 502: s.ErrorSerializer},
        description=DOWNLOAD_DESCRIPTION + " Fields in the body.",
    )
    def post(self, request):
        return self.get(request)


STATUS_LIST = {200: s.ComputeStatusSerializer(many=True), **ERRORS}


class ComputeView(OceanView):
    @extend_schema(
        tags=["ocean"], request=s.ComputeStartRequestSerializer, responses=STATUS_LIST,
        description="Start a job running algorithmDid (takes precedence) or algorithmMeta.rawcode over the dataset's "
        "files in a sandbox without network. Needs a paid order of the compute service (transferTxId)."
        + SIGNING.format(fields="consumerAddress + documentId"),
    )
    def post(self, request):
        job = jobs.compute_start(data=request_fields(request))
        return self.ok([s.status_object(job, request)])

    @extend_schema(
        tags=["ocean"], parameters=[s.ComputeQuerySerializer], responses=STATUS_LIST,
        description="The signer's jobs, narrowed by jobId and documentId. Status: 1 started, 2 configuring volumes, "
        "3 running, 4 filtering, 5 publishing, 6 completed, 7 stopped (by request, a limit or a failure; statusReason "
        "gives the reason, statusText is 002's description of the code), 8 deleted. Result URLs need the owner's "
        "signature (see computeResult)."
        + SIGNING.format(fields="consumerAddress + jobId + documentId (empty strings when absent)"),
    )
    def get(self, request):
        found = jobs.compute_jobs_of(data=request_fields(request))
        return self.ok([s.status_object(job, request) for job in found])

    @extend_schema(
        tags=["ocean"], parameters=[s.ComputeQuerySerializer], request=None, responses=STATUS_LIST,
        description="Stop the signer's matching jobs (status 7); a running sandbox is killed within a second."
        + SIGNING.format(fields="consumerAddress + jobId + documentId"),
    )
    def put(self, request):
        return self.ok([s.status_object(job, request) for job in jobs.compute_stop(data=request_fields(request))])

    @extend_schema(
        tags=["ocean"], parameters=[s.ComputeQuerySerializer], request=None, responses=STATUS_LIST,
        description="Stop the signer's matching jobs and delete their results and algorithm log (status 8)."
        + SIGNING.format(fields="consumerAddress + jobId + documentId"),
    )
    def delete(self, request):
        return self.ok([s.status_object(job, request) for job in jobs.compute_delete(data=request_fields(request))])


class ComputeResultView(OceanView):
    @extend_schema(
        tags=["ocean"], parameters=[s.ComputeResultQuerySerializer], responses={**RESULT_FILE, **ERRORS},
        description="One result file of a job (index 0, 1, …) or its algorithm log (index=log); only the job's "
        "owner can open it: a result as application/octet-stream, the log as text/plain. The URLs in resultsUrls "
        "and algorithmLogUrl carry consumerAddress, jobId and index: "
        "add nonce and signature." + SIGNING.format(fields="consumerAddress + jobId + index"),
    )
    def get(self, request):
        handle, name = jobs.job_result_open(data=request_fields(request))
        content_type = "text/plain; charset=utf-8" if name == "algorithm.log" else "application/octet-stream"
        return _stream(handle, name.rsplit("/", 1)[-1], content_type)


class DdoView(OceanView):
    @extend_schema(
        tags=["ocean"], responses={200: s.DdoSerializer, 404: s.ErrorSerializer},
        description="A published DID document, as a consumer needs it: services, prices, datatoken; file URLs only encrypted.",
    )
    def get(self, request, did: str):
        return self.ok(s.ddo(datasets.dataset_by_did(live_did(did))))


# --- staff publishing API ------------------------------------------------------------------------


class StaffView(ContractView):
    contract = BARE
    permission_classes = [permissions.IsAdminUser]
    parser_classes = [JSONParser]

    def initial(self, request, *args, **kwargs):
        # A method the view lacks is 405 for everyone, before the staff check would say 403.
        if not hasattr(self, request.method.lower()):
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)


class DatasetListView(StaffView):
    @extend_schema(tags=["ocean-staff"], responses={200: s.DdoSerializer(many=True), **STAFF_ERRORS})
    def get(self, request):
        published = Dataset.objects.for_user(request.user).select_related("project")
        return self.ok([s.ddo(dataset) for dataset in published])

    @extend_schema(
        tags=["ocean-staff"],
        request=s.DatasetPublishSerializer,
        responses={201: s.DdoSerializer, **STAFF_ERRORS},
        description="Publish a dataset (staff, editor of the project). files (with URLs) are encrypted before they "
        "are stored; or pass encryptedFiles from /api/v1/services/encrypt.",
    )
    def post(self, request):
        payload = s.DatasetPublishSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        project = project_for_user(request.user, data["project"], role=Role.EDITOR)
        refuse_nul(data)
        dataset = datasets.dataset_publish(
            project=project,
            did=data.get("did", ""),
            name=data["name"],
            metadata=data.get("metadata") or {},
            publisher_address=data.get("publisherAddress", ""),
            datatoken_address=data["dataToken"],
            services=data["services"],
            files=data.get("files"),
            encrypted_files=data.get("encryptedFiles", ""),
            by=request.user,
        )
        return self.ok(s.ddo(dataset), status=201)


class DatasetDetailView(StaffView):
    def _dataset(self, request, did: str, role=None) -> Dataset:
        # Visible to every member (others: 404); a role too low for the change is a 403, as everywhere.
        dataset = get_object_or_404(Dataset.objects.for_user(request.user), did=live_did(did))
        if role:
            project_for_user(request.user, dataset.project_id, role=role)
        return dataset

    @extend_schema(tags=["ocean-staff"], responses={200: s.DdoSerializer, **STAFF_ERRORS})
    def get(self, request, did: str):
        return self.ok(s.ddo(self._dataset(request, did)))

    @extend_schema(tags=["ocean-staff"], responses={204: None, **STAFF_ERRORS}, description="Soft delete.")
    def delete(self, request, did: str):
        self._dataset(request, did, role=Role.EDITOR).delete(by=request.user)
        return self.ok(None, status=204)


class AlgorithmListView(StaffView):
    @extend_schema(tags=["ocean-staff"], responses={200: s.AlgorithmDocumentSerializer(many=True), **STAFF_ERRORS})
    def get(self, request):
        found = Algorithm.objects.for_user(request.user).select_related("project")
        return self.ok([s.algorithm_document(algorithm) for algorithm in found])

    @extend_schema(
        tags=["ocean-staff"], request=s.AlgorithmPublishSerializer, responses={201: s.AlgorithmDocumentSerializer, **STAFF_ERRORS}
    )
    def post(self, request):
        payload = s.AlgorithmPublishSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        project = project_for_user(request.user, data["project"], role=Role.EDITOR)
        refuse_nul(data)
        algorithm = datasets.algorithm_publish(
            project=project,
            did=data.get("did", ""),
            name=data["name"],
            code=data["code"],
            entrypoint=data["entrypoint"],
            image=data["image"],
            tag=data["tag"],
            by=request.user,
        )
        return self.ok(s.algorithm_document(algorithm), status=201)


class AlgorithmDetailView(StaffView):
    def _algorithm(self, request, did: str, role=None) -> Algorithm:
        algorithm = get_object_or_404(Algorithm.objects.for_user(request.user), did=live_did(did))
        if role:
            project_for_user(request.user, algorithm.project_id, role=role)
        return algorithm

    @extend_schema(tags=["ocean-staff"], responses={200: s.AlgorithmDocumentSerializer, **STAFF_ERRORS})
    def get(self, request, did: str):
        return self.ok(s.algorithm_document(self._algorithm(request, did)))

    @extend_schema(tags=["ocean-staff"], responses={204: None, **STAFF_ERRORS}, description="Soft delete.")
    def delete(self, request, did: str):
        self._algorithm(request, did, role=Role.EDITOR).delete(by=request.user)
        return self.ok(None, status=204)


class OrderPaidView(StaffView):
    @extend_schema(
        tags=["ocean-staff"],
        request=s.MarkPaidSerializer,
        responses={200: s.MarkPaidResultSerializer, **STAFF_ERRORS},
        description="Local ledger: record that the order was paid by transaction txId.",
    )
    def post(self, request, order_id: int):
        if order_id > 2**63 - 1:
            raise Http404()
        scoped = Dataset.objects.for_user(request.user)
        order = get_object_or_404(Order.objects.filter(dataset__in=scoped).select_related("dataset"), pk=order_id)
        project_for_user(request.user, order.dataset.project_id, role=Role.EDITOR)
        payload = s.MarkPaidSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        order = orders.order_mark_paid(order=order, tx_id=payload.validated_data["txId"])
        return self.ok({"id": order.pk, "paid": order.paid, "txId": order.tx_id, "provider": provider_address()})
