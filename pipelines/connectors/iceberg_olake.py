"""OLake's Iceberg writer config on pyiceberg: its JDBC catalog as a SQL catalog, its REST catalog, its warehouse on S3.

OLake's UI sends ``catalog_type`` (glue, jdbc, hive, rest) with that catalog's fields and
``iceberg_s3_path``, the warehouse. d2d maps what pyiceberg can serve here: a JDBC catalog on
PostgreSQL is the same two tables pyiceberg's SQL catalog keeps (so either can read the other's
tables), a REST catalog is pyiceberg's REST client. Glue and Hive are refused by name rather than
accepted and ignored. A config without ``catalog_type`` and ``iceberg_s3_path`` is d2d's own
form: its catalog on d2d's database and the warehouse in d2d's storage.
"""

from urllib.parse import parse_qs, quote, urlsplit

from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.catalog.sql import SqlCatalog

from pipelines.connectors.base import CheckFailed
from pipelines.connectors.hosts import database_address
from pipelines.connectors.s3 import Bucket

SECRET = {"type": "string", "format": "password", "secret": True}
REFUSED = {"glue": "AWS Glue", "hive": "a Hive metastore"}
SERVED = ("jdbc", "rest")

# OLake's own field names (destination/iceberg/config.go); the writer-process fields are accepted and unused.
OLAKE_FIELDS = {
    "catalog_type": {"type": "string", "enum": ["", *SERVED, *REFUSED], "title": "Catalog: jdbc (PostgreSQL) or rest; glue (OLake's default) and hive are refused"},
    "catalog_name": {"type": "string", "title": "Catalog name (olake_iceberg when empty)"},
    "iceberg_s3_path": {"type": "string", "title": "Warehouse, s3://bucket/folder"},
    "iceberg_db": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", "title": "Namespace (database)"},
    "aws_region": {"type": "string", "title": "S3 region (us-east-1 when empty)"},
    "aws_access_key": {**SECRET, "title": "S3 access key"},
    "aws_secret_key": {**SECRET, "title": "S3 secret key"},
    "aws_session_token": {**SECRET, "title": "S3 session token"},
    "s3_endpoint": {"type": "string", "title": "S3-compatible endpoint (empty: AWS)"},
    "s3_use_ssl": {"type": "boolean", "title": "https to an endpoint given without a scheme"},
    "s3_path_style": {"type": "boolean", "title": "Path-style addressing (always, on a custom endpoint)"},
    "jdbc_url": {"type": "string", "title": "jdbc:postgresql://host:port/database"},
    "jdbc_username": {"type": "string"},
    "jdbc_password": {**SECRET},
    "rest_catalog_url": {"type": "string", "title": "REST catalog URL"},
    "token": {**SECRET, "title": "Bearer token of the REST catalog"},
    "credential": {**SECRET, "title": "OAuth2 client credential (id:secret) of the REST catalog"},
    "oauth2_uri": {"type": "string"},
    "scope": {"type": "string"},
    "rest_auth_type": {"type": "string"},
    "no_identifier_fields": {"type": "boolean"},
    "arrow_writes": {"type": "boolean"},
    "glue_endpoint": {"type": "string"}, "glue_access_key": {**SECRET}, "glue_secret_key": {**SECRET}, "glue_catalog_id": {"type": "string"},
    "hive_uri": {"type": "string"}, "hive_clients": {"type": "integer"}, "hive_sasl_enabled": {"type": "boolean"},
}


def is_olake_form(config: dict) -> bool:
    return bool(config.get("catalog_type") or config.get("iceberg_s3_path"))


def olake_problem(config: dict) -> str | None:
    """Why an OLake-form config cannot be served, or None."""
    if not is_olake_form(config):
        return None
    kind = config.get("catalog_type") or "glue"  # OLake's own default
    if kind in REFUSED:
        return (
            f"catalog_type {kind} ({REFUSED[kind]}) is not served by d2d: use jdbc (a PostgreSQL catalog), "
            "rest (any Iceberg REST catalog, d2d's own included), or neither for d2d's own catalog"
        )
    if not str(config.get("iceberg_s3_path") or "").startswith(("s3://", "s3a://")):
        return "iceberg_s3_path must be the warehouse's s3://bucket/folder"
    if kind == "jdbc" and not str(config.get("jdbc_url") or "").startswith("jdbc:postgresql://"):
        return "jdbc_url must be a jdbc:postgresql://host:port/database URL (d2d's JDBC catalog is PostgreSQL)"
    if kind == "rest" and not str(config.get("rest_catalog_url") or "").startswith(("http://", "https://")):
        return "rest_catalog_url must be an http(s) URL"
    return None


def warehouse(config: dict) -> tuple[Bucket, str]:
    """The warehouse's bucket and folder."""
    path = str(config["iceberg_s3_path"]).split("://", 1)[1]
    name, _, prefix = path.partition("/")
    endpoint = str(config.get("s3_endpoint") or "")
    if endpoint and "://" not in endpoint:
        endpoint = f"{'https' if config.get('s3_use_ssl') else 'http'}://{endpoint}"
    return Bucket(
        name=name, region=config.get("aws_region") or "us-east-1", endpoint=endpoint,
        access_key=config.get("aws_access_key") or "", secret_key=config.get("aws_secret_key") or "",
    ), prefix.strip("/")


def file_io_properties(config: dict) -> dict:
    """pyiceberg's FileIO properties reaching the warehouse (the endpoint at its checked address)."""
    bucket, _ = warehouse(config)
    properties = {"s3.region": bucket.region}
    endpoint = bucket.checked_endpoint()
    if endpoint:
        properties.update({"s3.endpoint": endpoint, "s3.force-virtual-addressing": "false"})
    if bucket.access_key:
        properties.update({"s3.access-key-id": bucket.access_key, "s3.secret-access-key": bucket.secret_key})
        if config.get("aws_session_token"):
            properties["s3.session-token"] = config["aws_session_token"]
    else:
        properties["s3.anonymous"] = "true"  # never the machine's role
    return properties


def jdbc_sqlalchemy_url(config: dict) -> str:
    """jdbc:postgresql://host:port/db as SQLAlchemy's URL, to the host's checked address."""
    parts = urlsplit(str(config["jdbc_url"]).removeprefix("jdbc:"))
    if not parts.hostname or not parts.path.strip("/"):
        raise CheckFailed("jdbc_url must name a host and a database: jdbc:postgresql://host:port/database")
    port = parts.port or 5432
    address = database_address(parts.hostname, port)
    query = parse_qs(parts.query)
    user = config.get("jdbc_username") or (query.get("user") or [""])[0]
    password = config.get("jdbc_password") or (query.get("password") or [""])[0]
    credentials = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    host = f"[{address}]" if ":" in address else address
    return f"postgresql+psycopg://{credentials}@{host}:{port}/{quote(parts.path.strip('/'), safe='')}"


def olake_catalog(config: dict):
    """The pyiceberg catalog an OLake-form config names."""
    problem = olake_problem(config)
    if problem:
        raise CheckFailed(problem)
    name = config.get("catalog_name") or "olake_iceberg"
    properties = file_io_properties(config)
    if config["catalog_type"] == "jdbc":
        return SqlCatalog(name, uri=jdbc_sqlalchemy_url(config), warehouse=config["iceberg_s3_path"], **properties)
    # A REST catalog places its tables itself (in its own warehouse); the bucket's keys let the writer reach them.
    url = urlsplit(config["rest_catalog_url"])
    if not url.hostname:
        raise CheckFailed("rest_catalog_url must name a host")
    database_address(url.hostname, url.port or (443 if url.scheme == "https" else 80))
    rest = {"uri": config["rest_catalog_url"].rstrip("/")}
    for field, prop in (("token", "token"), ("credential", "credential"), ("oauth2_uri", "oauth2-server-uri"), ("scope", "scope")):
        if config.get(field):
            rest[prop] = config[field]
    return RestCatalog(name, **rest, **properties)
