"""d2d's Iceberg catalog over the Iceberg REST protocol: a project's warehouse, pyiceberg's own models in and out.

The catalog served is the one the project's Iceberg destinations write (pyiceberg's SQL catalog on
d2d's database, its files in the project's storage folder): the warehouse ``iceberg`` by default,
any other warehouse folder of the project by name (the REST ``prefix``). Requests and answers are
pyiceberg's pydantic models (CreateTableRequest, CommitTableRequest, TableResponse, ...), so a
REST client (pyiceberg, Spark, Trino, DuckDB) reads and commits exactly as pyiceberg would locally,
with the SQL catalog's optimistic concurrency behind every commit.
"""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pydantic
from pyiceberg.catalog.rest import (
    CreateTableRequest,
    ListNamespaceResponse,
    ListTableResponseEntry,
    ListTablesResponse,
    NamespaceResponse,
    TableResponse,
)
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NamespaceNotEmptyError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC
from pyiceberg.table import CommitTableRequest
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER

from kernel.errors import Conflict, DomainError, NotFound
from pipelines.connectors import storage_root
from pipelines.connectors.iceberg import IcebergDestination, close_catalog

WAREHOUSE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_WAREHOUSE = "iceberg"
SEPARATOR = "\x1f"  # the REST protocol joins a multi-level namespace with the unit separator


def warehouse_name(value: str | None) -> str:
    value = value or DEFAULT_WAREHOUSE
    if not WAREHOUSE.match(value):
        raise DomainError(f"warehouse {value!r} must be a folder name of the project (letters, digits, _ and -)")
    return value


@contextmanager
def project_catalog(project_id: str, warehouse: str) -> Iterator:
    """The SQL catalog of a project's warehouse folder (the one its Iceberg destinations use), closed afterwards."""
    destination = IcebergDestination({"path": warehouse_name(warehouse)}, root=storage_root(project_id))
    catalog = destination.catalog()
    try:
        with translated():
            yield catalog
    finally:
        close_catalog(catalog)


@contextmanager
def translated():
    """pyiceberg's and pydantic's errors as the domain errors the REST contract answers."""
    try:
        yield
    except (NoSuchTableError, NoSuchNamespaceError) as exc:
        raise NotFound(str(exc) or "not found") from exc
    except (TableAlreadyExistsError, NamespaceAlreadyExistsError, NamespaceNotEmptyError, CommitFailedException) as exc:
        raise Conflict(str(exc)) from exc
    except pydantic.ValidationError as exc:
        raise DomainError(f"request body: {exc.errors(include_url=False)[:3]}") from exc


def namespace_of(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(SEPARATOR) if part)


def json_of(model) -> str:
    return model.model_dump_json(by_alias=True, exclude_none=True)


def catalog_config(warehouse: str | None) -> dict:
    """GET v1/config: the warehouse is the prefix of every other path."""
    return {"defaults": {}, "overrides": {"prefix": warehouse_name(warehouse)}}


def namespaces_list(catalog, parent: str | None) -> str:
    found = catalog.list_namespaces(namespace_of(parent) if parent else ())
    return json_of(ListNamespaceResponse(namespaces=[list(ns) for ns in found]))


def namespace_create(catalog, body: bytes) -> str:
    request = NamespaceResponse.model_validate_json(body)  # {namespace, properties}: the same shape
    catalog.create_namespace(tuple(request.namespace), request.properties)
    return json_of(NamespaceResponse(namespace=list(request.namespace), properties=request.properties))


def namespace_load(catalog, namespace: str) -> str:
    identifier = namespace_of(namespace)
    properties = catalog.load_namespace_properties(identifier)
    return json_of(NamespaceResponse(namespace=list(identifier), properties=properties))


def namespace_drop(catalog, namespace: str) -> None:
    catalog.drop_namespace(namespace_of(namespace))


def tables_list(catalog, namespace: str) -> str:
    identifier = namespace_of(namespace)
    catalog.load_namespace_properties(identifier)  # a 404 for a namespace that is not there, not an empty list
    entries = [ListTableResponseEntry(namespace=list(found[:-1]), name=found[-1]) for found in catalog.list_tables(identifier)]
    return json_of(ListTablesResponse(identifiers=entries))


def _table_response(table) -> str:
    return json_of(TableResponse(metadata_location=table.metadata_location, metadata=table.metadata, config={}))


def table_create(catalog, namespace: str, body: bytes) -> str:
    try:
        fields = json.loads(body or b"{}")
    except ValueError as exc:
        raise DomainError(f"request body is not JSON: {exc}") from exc
    if not isinstance(fields, dict):
        raise DomainError("request body must be a JSON object")
    for optional in ("location", "partition-spec", "write-order"):  # the protocol's optional fields, left out by clients
        fields.setdefault(optional, None)
    request = CreateTableRequest.model_validate(fields)
    if request.stage_create:
        raise DomainError("stage-create is not supported: create the table, then commit to it")
    table = catalog.create_table(
        (*namespace_of(namespace), request.name),
        schema=request.table_schema,
        location=request.location,
        partition_spec=request.partition_spec or UNPARTITIONED_PARTITION_SPEC,
        sort_order=request.write_order or UNSORTED_SORT_ORDER,
        properties=request.properties,
    )
    return _table_response(table)


def table_load(catalog, namespace: str, name: str) -> str:
    return _table_response(catalog.load_table((*namespace_of(namespace), name)))


def table_commit(catalog, namespace: str, name: str, body: bytes) -> str:
    """Requirements checked and updates applied by the SQL catalog in one optimistic commit (a 409 if another won)."""
    request = CommitTableRequest.model_validate_json(body)
    table = catalog.load_table((*namespace_of(namespace), name))
    return json_of(catalog.commit_table(table, request.requirements, request.updates))


def table_drop(catalog, namespace: str, name: str, *, purge: bool) -> None:
    identifier = (*namespace_of(namespace), name)
    if purge:
        catalog.purge_table(identifier)
    else:
        catalog.drop_table(identifier)


def table_rename(catalog, body: dict) -> None:
    try:
        source, destination = body["source"], body["destination"]
        old = (*source["namespace"], source["name"])
        new = (*destination["namespace"], destination["name"])
    except (KeyError, TypeError) as exc:
        raise DomainError("a rename needs source and destination, each {namespace, name}") from exc
    catalog.rename_table(old, new)
