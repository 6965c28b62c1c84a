"""Django settings for d2d, read from the environment (see README, "Environment").

With nothing set, d2d runs embedded: SQLite and media under var/, the django-q2
ORM broker, a secret key generated once under var/, DEBUG off.
"""

from datetime import timedelta
from pathlib import Path

from d2d.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_map,
    env_networks,
    env_origins,
    env_secret,
    env_str,
    persistent_secret_key,
    redis_url,
    sqlite_database,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("D2D_DATA_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret("SECRET_KEY") or persistent_secret_key(DATA_DIR / "secret_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_origins("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "channels",
    "mozilla_django_oidc",
    "django_jsonform",  # the admin's generated connector forms; its JS and CSS are served from the package
    "axes",
    "simple_history",
    "kernel",
    "accounts",
    "pipelines",
    "conversions",
    "compute",
    "labeling",
]

# WhiteNoise comes last on purpose. It is the one sync-only middleware; under ASGI Django runs
# every middleware above a sync-only one synchronously, in the request's thread, and every one
# below it asynchronously, where each of their process_request/process_view/process_response
# hooks is a separate hop to that thread. Innermost, it makes the whole chain one synchronous
# call: about 1.3 ms less CPU per request (docs/load.md). Static files still get the security,
# CORS and X-Frame-Options headers; they only pass the session, CSRF and auth middleware,
# which do no work for them (nothing reads the session or the user).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Axes turns a login form's lock-out into its answer (accounts/throttle.py); the history
    # middleware hands the request to the change history, whose user is the request's (the
    # session's, or the one DRF's authentication set). Above WhiteNoise, so they run
    # synchronously, for the reason given above.
    "axes.middleware.AxesMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
]

ROOT_URLCONF = "d2d.urls"
WSGI_APPLICATION = "d2d.wsgi.application"
ASGI_APPLICATION = "d2d.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
_database_url = env_str("DATABASE_URL")
DATABASES = {
    "default": database_from_url(_database_url) if _database_url else sqlite_database(DATA_DIR / "d2d.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMBEDDED = not _database_url

# --- Cache and brokers ----------------------------------------------------
REDIS_URL = redis_url("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# API tokens found live (accounts/services.py, token_authenticate): a cache every process must
# share, since a revocation in one (the web server, manage.py token_revoke) must reach all at
# once. Redis when configured; else files under the data dir, which all processes on this host
# share (about 12 us a read). Several hosts without Redis: set D2D_TOKEN_CACHE_SECONDS=0.
CACHES["tokens"] = (
    {**CACHES["default"], "KEY_PREFIX": "tokens"} if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(DATA_DIR / "cache" / "tokens"),
          "OPTIONS": {"MAX_ENTRIES": 10000}}
)
# How long a live token is trusted without a query; 0 turns the cache off. Revocation, expiry
# and changes of the token or its user drop the entry at once; only writes that bypass the ORM's
# signals (QuerySet.update, raw SQL) wait for it to lapse.
D2D_TOKEN_CACHE_SECONDS = env_int("D2D_TOKEN_CACHE_SECONDS", 10, minimum=0, maximum=300)
# With the host-local token cache, each process also keeps the tokens it read in memory until any
# process of the host changes this file's shared value (kernel/host_generation.py).
D2D_TOKEN_GENERATION_FILE = None if REDIS_URL else str(DATA_DIR / "cache" / "tokens.generation")

# HTTP: threads per web process that run requests (kernel/asgi_http.py), each whole request,
# middleware to response, on one of them, as gthread workers do under WSGI. Downloads stream on a
# separate pool eight times as large, so slow clients do not hold these; websockets use neither.
D2D_HTTP_THREADS = env_int("D2D_HTTP_THREADS", 32, minimum=1, maximum=512)

# Task runner: d2d keeps its own attempt count and lease on each run (see kernel/runner.py);
# django-q2 only delivers. retry must exceed timeout or the ORM broker redelivers a live task.
D2D_BROKER = env_choice("D2D_BROKER", "redis" if REDIS_URL else "orm", {"orm", "redis"})
D2D_TASK_TIMEOUT = env_int("D2D_TASK_TIMEOUT", 3600, minimum=1)
D2D_TASK_MAX_ATTEMPTS = env_int("D2D_TASK_MAX_ATTEMPTS", 3, minimum=1, maximum=100)
D2D_TASK_LEASE_SECONDS = env_int("D2D_TASK_LEASE_SECONDS", 60, minimum=2)
D2D_TASK_RETRY_BACKOFF = env_int("D2D_TASK_RETRY_BACKOFF", 10, minimum=0)
D2D_TASK_REQUEUE_SECONDS = env_int("D2D_TASK_REQUEUE_SECONDS", 900, minimum=10)
D2D_TASK_LOG_MAX_LINES = env_int("D2D_TASK_LOG_MAX_LINES", 20000, minimum=100)
D2D_WORKERS = env_int("D2D_WORKERS", 2, minimum=1, maximum=64)
Q_CLUSTER = {
    "name": env_str("D2D_QUEUE_NAME", "d2d"),
    "workers": D2D_WORKERS,
    "timeout": D2D_TASK_TIMEOUT,
    "retry": D2D_TASK_TIMEOUT + env_int("D2D_TASK_RETRY_MARGIN", 60, minimum=1),
    "max_attempts": 1,  # d2d counts attempts itself: django-q2 does not count killed ones (its issue 327)
    "ack_failures": True,
    "save_limit": 1000,
    "catch_up": False,
    "poll": 0.2,
    "label": "Task queue (django-q2)",
}
if D2D_BROKER == "redis":
    if not REDIS_URL:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("D2D_BROKER=redis needs REDIS_URL")
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth -----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# What a tracked task belongs to; a setting, like the user model, so the kernel names no app.
D2D_PROJECT_MODEL = "accounts.Project"
# Axes' backend first: a locked-out client is refused before any password is compared.
AUTHENTICATION_BACKENDS = ["accounts.throttle.LoginThrottleBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/admin/login/"
# Open signup on the embedded default so a laptop install works at once; closed when a
# real database is configured, where staff add users (admin, manage.py, /api/v1/auth/users).
D2D_OPEN_SIGNUP = env_bool("D2D_OPEN_SIGNUP", EMBEDDED)
# Projects a self-registered user joins, as "project:role" pairs.
D2D_SIGNUP_PROJECTS = env_list("D2D_SIGNUP_PROJECTS", ["olake:editor"])
D2D_LOGIN_MAX_FAILURES = env_int("D2D_LOGIN_MAX_FAILURES", 5, minimum=1)
D2D_LOGIN_LOCKOUT_SECONDS = env_int("D2D_LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
# Addresses or networks of the reverse proxies in front of d2d: only from these is X-Forwarded-For
# believed, so clients behind a proxy are counted apart and nobody else can fake an address.
D2D_TRUSTED_PROXIES = env_networks("D2D_TRUSTED_PROXIES", [])
# Login throttling (django-axes) on every login path: D2D_LOGIN_MAX_FAILURES failures of one
# username from one address lock that pair for D2D_LOGIN_LOCKOUT_SECONDS (each failure while
# locked starts the wait again); a success clears the count. Counted in the database, which every
# process and host shares with or without Redis, and where staff see and delete locks in the admin.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = D2D_LOGIN_MAX_FAILURES
AXES_COOLOFF_TIME = timedelta(seconds=D2D_LOGIN_LOCKOUT_SECONDS)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # a guesser cannot lock a user out from elsewhere
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.throttle.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "csrfmiddlewaretoken"]
# The change history is for reading: changes go through the services (kernel/history.py, HistoryAdmin).
SIMPLE_HISTORY_REVERT_DISABLED = True
D2D_TOKEN_TTL_DAYS = env_int("D2D_TOKEN_TTL_DAYS", 90, minimum=0)

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_SAMESITE = env_str("SESSION_COOKIE_SAMESITE", "Lax")

# --- OIDC (mozilla-django-oidc), active when OIDC_RP_CLIENT_ID is set (docs/oidc.md) --------
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_secret("OIDC_RP_CLIENT_SECRET")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
# Endpoints left empty are read from OIDC_OP_ISSUER's /.well-known/openid-configuration on first
# use (accounts/oidc.py), never at start-up.
OIDC_OP_ISSUER = env_str("OIDC_OP_ISSUER").rstrip("/")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT")
_SIGN_ALGOS = {"rs256", "rs384", "rs512", "es256", "es384", "es512", "hs256", "hs384", "hs512"}
OIDC_RP_SIGN_ALGO = env_choice("OIDC_RP_SIGN_ALGO", "rs256", _SIGN_ALGOS).upper()
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
OIDC_USE_PKCE = env_bool("OIDC_USE_PKCE", True)
OIDC_TOKEN_USE_BASIC_AUTH = env_bool("OIDC_TOKEN_USE_BASIC_AUTH", False)
OIDC_CREATE_USER = env_bool("OIDC_CREATE_USER", True)
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10, minimum=1)
# Claims to roles: groups in D2D_OIDC_STAFF_GROUPS make staff; "group=project:role" pairs make members.
D2D_OIDC_GROUPS_CLAIM = env_str("D2D_OIDC_GROUPS_CLAIM", "groups")
D2D_OIDC_STAFF_GROUPS = env_list("D2D_OIDC_STAFF_GROUPS", [])
D2D_OIDC_SUPERUSER_GROUPS = env_list("D2D_OIDC_SUPERUSER_GROUPS", [])
D2D_OIDC_PROJECT_ROLES = env_list("D2D_OIDC_PROJECT_ROLES", [])
# The name bound identities (accounts.OidcIdentity) carry for this provider; blank: OIDC_OP_ISSUER,
# else the token endpoint. Set it to keep the bindings when the issuer URL or endpoints change.
D2D_OIDC_PROVIDER_KEY = env_str("D2D_OIDC_PROVIDER_KEY", "")
# How long an access token the provider accepted is trusted without asking again (0: every request).
D2D_OIDC_TOKEN_CACHE_SECONDS = env_int("D2D_OIDC_TOKEN_CACHE_SECONDS", 60, minimum=0, maximum=3600)
if OIDC_ENABLED:
    from django.core.exceptions import ImproperlyConfigured

    _endpoints = [OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_USER_ENDPOINT, OIDC_OP_JWKS_ENDPOINT]
    if not OIDC_RP_CLIENT_SECRET:
        raise ImproperlyConfigured("OIDC_RP_CLIENT_ID needs OIDC_RP_CLIENT_SECRET (or OIDC_RP_CLIENT_SECRET_FILE)")
    if not OIDC_OP_ISSUER and not all(_endpoints):
        raise ImproperlyConfigured("OIDC_RP_CLIENT_ID needs OIDC_OP_ISSUER or all four OIDC_OP_*_ENDPOINT variables")
    for _entry in D2D_OIDC_PROJECT_ROLES:
        _group, _, _target = _entry.rpartition("=")
        _project, _, _role = _target.partition(":")
        if not _group or not _project or _role not in {"viewer", "editor", "owner"}:
            raise ImproperlyConfigured(f"D2D_OIDC_PROJECT_ROLES: {_entry!r} is not group=project:viewer|editor|owner")
    AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "accounts.oidc.backend.OIDCBackend"]
    OIDC_DRF_AUTH_BACKEND = "accounts.oidc.backend.OIDCBackend"
    LOGIN_REDIRECT_URL = "/admin/"
    LOGIN_REDIRECT_URL_FAILURE = "/admin/login/?sso=failed"

# --- CORS (004: credentials allowed, origins from the environment) ---------
CORS_ALLOWED_ORIGINS = env_origins("CORS_ALLOWED_ORIGINS", ["http://localhost:8000"])
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CORS_ALLOW_HEADERS = ["origin", "content-type", "accept", "authorization", "x-csrftoken", "range"]

# --- Files ----------------------------------------------------------------
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media"))).resolve()
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start when it is missing
D2D_STORAGE = env_choice("D2D_STORAGE", "local", {"local", "s3"})
if D2D_STORAGE == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_secret("AWS_SECRET_ACCESS_KEY") or None,
            "location": env_str("AWS_LOCATION"),
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": MEDIA_ROOT}}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise serves the admin's and the API docs' assets from the ASGI process itself; with
# finders on, no collectstatic step is needed (run it anyway in production for caching headers).
WHITENOISE_USE_FINDERS = True
D2D_MAX_UPLOAD_BYTES = env_int("D2D_MAX_UPLOAD_BYTES", 512 * 1024 * 1024, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("D2D_MAX_JSON_BYTES", 10 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
D2D_ENCRYPTION_KEY = env_secret("D2D_ENCRYPTION_KEY")
D2D_PUBLIC_URL = env_str("D2D_PUBLIC_URL", "").rstrip("/")

# --- Pipelines (OLake) -------------------------------------------------------
# Database hosts pipeline connectors may reach: names ("db.corp.example", "*.corp.example") or
# networks ("10.20.0.0/16"); empty allows any host. Link-local and metadata addresses never.
D2D_PIPELINES_DB_HOSTS = env_list("D2D_PIPELINES_DB_HOSTS", [])
# Project ids that stand for another project on the OLake paths: the OLake UI hard-codes 123.
# "alias=project" pairs; a real project of that id always wins over its alias.
D2D_OLAKE_PROJECT_ALIASES = env_map("D2D_OLAKE_PROJECT_ALIASES", ["123=olake"])
# How OLake paths answer when a request does not choose (X-OLake-Dialect): "004", the contract's
# JSON objects, or "server", the OLake server's JSON strings and shapes that its UI reads. Requests
# through an alias above speak "server", since only the UI uses them.
D2D_OLAKE_DIALECT = env_choice("D2D_OLAKE_DIALECT", "004", {"004", "server"})
# A build of the OLake web UI (olake-ui's ui/dist: index.html and assets/) for d2d to serve at
# the site root; empty serves none. d2d neither ships nor builds it (README, "OLake UI").
D2D_OLAKE_UI_DIR = env_str("D2D_OLAKE_UI_DIR", "").strip()
if D2D_OLAKE_UI_DIR:
    D2D_OLAKE_UI_DIR = str(Path(D2D_OLAKE_UI_DIR).expanduser().resolve())
    if not (Path(D2D_OLAKE_UI_DIR) / "index.html").is_file():
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"D2D_OLAKE_UI_DIR={D2D_OLAKE_UI_DIR!r} has no index.html; point it at olake-ui's ui/dist")
# host:port pairs a project's webhook alert URL may name despite a non-public address (tests,
# internal alert receivers); everything else must resolve to public addresses only.
D2D_PIPELINES_WEBHOOK_ALLOWLIST = env_list("D2D_PIPELINES_WEBHOOK_ALLOWLIST", [])
D2D_PIPELINES_WEBHOOK_TIMEOUT = env_int("D2D_PIPELINES_WEBHOOK_TIMEOUT", 10, minimum=1, maximum=120)
# The SQL catalog of Iceberg destinations (a SQLAlchemy URL); empty: d2d's own database.
D2D_PIPELINES_ICEBERG_CATALOG_URI = env_secret("D2D_PIPELINES_ICEBERG_CATALOG_URI", "")

# --- Conversions (Data 2 Data and Common application APIs) -----------------
D2D_CONVERSIONS_DEFAULT_SERVICE = env_str("D2D_CONVERSIONS_DEFAULT_SERVICE", "geojson")
D2D_CONVERSIONS_PROJECT = env_str("D2D_CONVERSIONS_PROJECT", "")  # blank: the caller's first project they can edit
D2D_CONVERSIONS_ASSETS_PER_BATCH = env_int("D2D_CONVERSIONS_ASSETS_PER_BATCH", 20, minimum=1, maximum=1000)
D2D_CONVERSIONS_IDLE_SECONDS = env_int("D2D_CONVERSIONS_IDLE_SECONDS", 60, minimum=1)
D2D_CONVERSIONS_MAX_INPUTS = env_int("D2D_CONVERSIONS_MAX_INPUTS", 1000, minimum=1)
D2D_CONVERSIONS_URL_ALLOWLIST = env_list("D2D_CONVERSIONS_URL_ALLOWLIST", [])  # host:port pairs exempt from the address check
D2D_CONVERSIONS_URL_MAX_BYTES = env_int("D2D_CONVERSIONS_URL_MAX_BYTES", 512 * 1024 * 1024, minimum=1)
D2D_CONVERSIONS_URL_TIMEOUT = env_int("D2D_CONVERSIONS_URL_TIMEOUT", 60, minimum=1)
D2D_CONVERSIONS_URL_MAX_REDIRECTS = env_int("D2D_CONVERSIONS_URL_MAX_REDIRECTS", 5, minimum=0, maximum=20)
D2D_CONVERSIONS_ZIP_MAX_MEMBERS = env_int("D2D_CONVERSIONS_ZIP_MAX_MEMBERS", 1000, minimum=1)
D2D_CONVERSIONS_ZIP_MAX_BYTES = env_int("D2D_CONVERSIONS_ZIP_MAX_BYTES", 1024 * 1024 * 1024, minimum=1)
D2D_CONVERSIONS_ZIP_MAX_RATIO = env_int("D2D_CONVERSIONS_ZIP_MAX_RATIO", 100, minimum=1)
D2D_CONVERSIONS_WS_POLL_MS = env_int("D2D_CONVERSIONS_WS_POLL_MS", 250, minimum=20, maximum=10000)

# --- Compute (Ocean Provider) -------------------------------------------------
# ocean-lib 0.8.x signs the raw text plus the provider's stored nonce and sends no nonce; the server
# advances it. Weaker than the default (docs/compute.md, "Legacy signatures"): off unless asked for.
D2D_COMPUTE_LEGACY_SIGNATURES = env_bool("D2D_COMPUTE_LEGACY_SIGNATURES", False)

# --- REST framework and schema ---------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "accounts.authentication.CsrfExemptSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "kernel.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if OIDC_ENABLED:  # after d2d tokens, which leave other bearer values to it
    REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"].insert(1, "accounts.oidc.authentication.OIDCBearerAuthentication")
SPECTACULAR_SETTINGS = {
    "TITLE": "d2d API",
    "DESCRIPTION": "One platform serving the OLake server, Data 2 Data, Common application, "
    "Ocean Provider and crowdsourced labeling contracts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc from drf-spectacular-sidecar: the docs work without any CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several contracts have a "status" of their own words: each choice set gets a name of its own.
    "ENUM_NAME_OVERRIDES": {
        "Data2DataStatusEnum": "conversions.models.Data2DataStatus",
        "RunStatusEnum": "kernel.models.TaskStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kernel.api.schema.add_error_responses",
    ],
}

# --- Internationalisation and logging --------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOG_LEVEL = env_choice("LOG_LEVEL", "info", {"debug", "info", "warning", "error"}).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django_q": {"level": "WARNING"}},
}
