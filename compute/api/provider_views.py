"""The endpoints Ocean's v4 clients need beside 002's: root document, fileinfo, compute environments, orders."""

from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from compute import datasets, orders, provider
from compute.api.views import ERRORS, SIGNING, OceanView, request_fields


class ProviderDocumentSerializer(serializers.Serializer):
    software = serializers.CharField()
    version = serializers.CharField()
    providerAddress = serializers.CharField()
    providerAddresses = serializers.DictField(child=serializers.CharField(), help_text="by chain id")
    chainIds = serializers.ListField(child=serializers.IntegerField())
    serviceEndpoints = serializers.DictField(help_text='{"download": ["GET", "/api/v1/services/download"], …}')


class FileinfoRequestSerializer(serializers.Serializer):
    did = serializers.CharField()
    serviceId = serializers.CharField()


class FileinfoSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    type = serializers.CharField()
    valid = serializers.BooleanField()
    contentType = serializers.CharField(allow_blank=True)
    contentLength = serializers.IntegerField(allow_null=True)


class OrdersQuerySerializer(serializers.Serializer):
    consumerAddress = serializers.CharField()
    documentId = serializers.CharField(required=False)
    nonce = serializers.CharField()
    signature = serializers.CharField()


class OrderSerializer(serializers.Serializer):
    orderId = serializers.IntegerField()
    documentId = serializers.CharField()
    serviceId = serializers.CharField()
    serviceType = serializers.CharField()
    to = serializers.CharField()
    dataToken = serializers.CharField()
    numTokens = serializers.FloatField()
    paid = serializers.BooleanField()
    transferTxId = serializers.CharField(allow_blank=True)
    created = serializers.CharField()


OrderSerializer._declared_fields["from"] = serializers.CharField()


class ProviderRootView(OceanView):
    @extend_schema(
        tags=["ocean"], responses={200: ProviderDocumentSerializer},
        description="The provider document Ocean's clients read first (a browser asking for text/html gets the site's page).",
    )
    def get(self, request):
        return self.ok(provider.provider_document())


def root_view(browser_view):
    """``/``: the provider document for API clients, ``browser_view`` for a browser.

    A browser names text/html in Accept. A request without any Accept header keeps what ``/`` always
    answered too (the page, or 404): every HTTP client library sends one (requests and curl send
    */*), so only hand-made requests, such as the suites' test clients, come without.
    """
    api_view = ProviderRootView.as_view()

    def view(request, *args, **kwargs):
        accept = request.headers.get("Accept")
        wants_page = accept is None or "text/html" in accept
        response = (browser_view if wants_page else api_view)(request, *args, **kwargs)
        patch_vary_headers(response, ["Accept"])
        return response

    return view


class FileinfoView(OceanView):
    @extend_schema(
        tags=["ocean"], request=FileinfoRequestSerializer, responses={200: FileinfoSerializer(many=True), **ERRORS},
        description="Check each file of a dataset at its server (the response headers only, through the address guard): "
        "valid, contentType, contentLength. The URL is never shown; a bare URL is not accepted. Not signed.",
    )
    def post(self, request):
        return self.ok(datasets.dataset_files_info(data=request_fields(request)))


class ComputeEnvironmentsView(OceanView):
    @extend_schema(
        tags=["ocean"], responses={200: serializers.DictField()},
        description="d2d's sandbox as an Ocean compute environment, under each chain id: "
        '{"8996": [{id, cpuNumber, ramGB, diskGB, maxJobDuration, priceMin, feeToken, consumerAddress, …}]}.',
    )
    def get(self, request):
        return self.ok(provider.compute_environments())


class OrdersView(OceanView):
    @extend_schema(
        tags=["ocean"], parameters=[OrdersQuerySerializer], responses={200: OrderSerializer(many=True), **ERRORS},
        description="The signer's orders (quotes from initialize and their payment), newest first, so that a client "
        "can learn which order to pay." + SIGNING.format(fields="consumerAddress"),
    )
    def get(self, request):
        return self.ok(orders.orders_of(data=request_fields(request)))
