"""The Iceberg REST catalog protocol on a project's warehouse: thin views over pipelines.iceberg_rest.

Clients authenticate with d2d's own tokens (``Authorization: Bearer``, which pyiceberg's ``token``
property sends); viewers read, editors create, commit and drop; another project is a 404.
Errors are the protocol's ``{"error": {message, type, code}}``. The protocol has its own OpenAPI
document, so these paths stay out of d2d's.
"""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema

from accounts.models import Role
from accounts.scoping import project_for_user
from kernel.api.contracts import Contract
from kernel.api.views import ContractView
from pipelines import iceberg_rest as rest

ERROR_TYPES = {
    400: "BadRequestException", 401: "NotAuthorizedException", 403: "ForbiddenException", 404: "NoSuchTableException",
    405: "MethodNotAllowedException", 409: "CommitFailedException", 500: "InternalServerError",
}


class IcebergRestContract(Contract):
    name = "iceberg-rest"

    def error_body(self, status: int, message: str, *, errors=None, request=None) -> dict:
        return {"error": {"message": message, "type": ERROR_TYPES.get(status, "RESTException"), "code": status}}


ICEBERG_REST = IcebergRestContract()


def json(text: str, status: int = 200) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="application/json")


@extend_schema(exclude=True)
class IcebergView(ContractView):
    contract = ICEBERG_REST

    def catalog(self, request, projectid: str, prefix: str | None = None):
        write = request.method not in ("GET", "HEAD", "OPTIONS")
        project = project_for_user(request.user, projectid, role=Role.EDITOR if write else Role.VIEWER)
        return rest.project_catalog(project.pk, prefix)


class ConfigView(IcebergView):
    def get(self, request, projectid: str):
        project_for_user(request.user, projectid, role=Role.VIEWER)
        return self.ok(rest.catalog_config(request.query_params.get("warehouse")))


class NamespacesView(IcebergView):
    def get(self, request, projectid: str, prefix: str):
        with self.catalog(request, projectid, prefix) as catalog:
            return json(rest.namespaces_list(catalog, request.query_params.get("parent")))

    def post(self, request, projectid: str, prefix: str):
        with self.catalog(request, projectid, prefix) as catalog:
            return json(rest.namespace_create(catalog, request.body))


class NamespaceView(IcebergView):
    def get(self, request, projectid: str, prefix: str, namespace: str):
        with self.catalog(request, projectid, prefix) as catalog:
            return json(rest.namespace_load(catalog, namespace))

    def delete(self, request, projectid: str, prefix: str, namespace: str):
        with self.catalog(request, projectid, prefix) as catalog:
            rest.namespace_drop(catalog, namespace)
        return HttpResponse(status=204)


class TablesView(IcebergView):
    def get(self, request, projectid: str, prefix: str, namespace: str):
        with self.catalog(request, projectid, prefix) as catalog:
            return json(rest.tables_list(catalog, namespace))

    def post(self, request, projectid: str, prefix: str, namespace: str):
        with self.catalog(request, projectid, prefix) as catalog:
            return json(rest.table_create(catalog, namespace, request.body))


class TableView(IcebergView):
    def get(self, request, projectid: str, prefix: str, namespace: str, table: str):
        with self.catalog(request, projectid, prefix) as catalog:
            return json(rest.table_load(catalog, namespace, table))

    def post(self, request, projectid: str, prefix: str, namespace: str, table: str):
        with self.catalog(request, projectid, prefix) as catalog:
            return json(rest.table_commit(catalog, namespace, table, request.body))

    def delete(self, request, projectid: str, prefix: str, namespace: str, table: str):
        purge = request.query_params.get("purgeRequested", "").lower() == "true"
        with self.catalog(request, projectid, prefix) as catalog:
            rest.table_drop(catalog, namespace, table, purge=purge)
        return HttpResponse(status=204)


class RenameView(IcebergView):
    def post(self, request, projectid: str, prefix: str):
        with self.catalog(request, projectid, prefix) as catalog:
            rest.table_rename(catalog, request.data)
        return HttpResponse(status=204)
