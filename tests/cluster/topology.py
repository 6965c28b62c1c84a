"""The deployment the cluster tests run: database, broker, storage, two web and three worker hosts, each its role.

Roles and addresses (10.213.0.0/24, on the harness's bridge):

    db       .10  PostgreSQL 15 (its own cluster, initdb'd into the scratch folder; wal_level=logical)
    broker   .11  redis-server (broker and cache; no persistence, so a restart loses what it held)
    storage  .12  moto_server (S3)
    web1/2   .20  .21  uvicorn d2d.asgi:application on port 8000
    worker1-3 .30 .31 .32  manage.py qcluster

Each d2d process reads only the environment ``role_env`` gives it, as on real hosts.
"""

import json
import sys
import textwrap
from pathlib import Path

import psycopg

from tests.cluster.harness import (
    BRIDGE, GATEWAY, PG_BIN, PREFIX, S3_BUCKET, S3_KEY, S3_REGION, S3_SECRET, SECRET_KEY,
    Host, base_env, remove_leftovers, run, wait_for_port, wait_until,
)

DATABASE = "d2d"
WEB_PORT = 8000
HOSTS = {"db": 10, "broker": 11, "storage": 12, "web1": 20, "web2": 21, "worker1": 30, "worker2": 31, "worker3": 32}


class Cluster:
    """Made by ``create()``, removed by ``destroy()`` (which is safe after a partial create)."""

    def __init__(self, scratch: Path, *, lease_seconds: int = 8, requeue_seconds: int = 10):
        self.scratch = scratch
        self.hosts = {name: Host(name, number, scratch) for name, number in HOSTS.items()}
        self.lease_seconds, self.requeue_seconds = lease_seconds, requeue_seconds
        self.shared = scratch / "shared"  # a folder every host sees, as a network volume (chunked loads need one)
        self.pgdata = scratch / "pgdata"

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    @property
    def workers(self) -> list[Host]:
        return [self.hosts[name] for name in ("worker1", "worker2", "worker3")]

    @property
    def webs(self) -> list[Host]:
        return [self.hosts["web1"], self.hosts["web2"]]

    # --- the network ---------------------------------------------------------------------------
    def create(self) -> None:
        remove_leftovers()
        self.shared.mkdir(parents=True, exist_ok=True)
        run("ip", "link", "add", BRIDGE, "type", "bridge")
        run("ip", "addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
        run("ip", "link", "set", BRIDGE, "up")
        for host in self.hosts.values():
            host.create()
        self.start_database(initialise=True)
        self.start_broker()
        self.start_storage()
        self.manage(self.workers[0], "migrate", "--no-input", timeout=300)

    def destroy(self) -> None:
        for host in self.hosts.values():
            host.remove()
        run("ip", "link", "del", BRIDGE, check=False)
        remove_leftovers()

    # --- services ------------------------------------------------------------------------------
    def start_database(self, *, initialise: bool = False) -> None:
        db = self.hosts["db"]
        if initialise:
            self.pgdata.mkdir(parents=True)
            run("chown", "-R", "postgres:postgres", str(self.pgdata))
            db.exec(["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(self.pgdata), "-U", "postgres",
                     "-A", "trust", "--no-sync"], env=base_env())
            with open(self.pgdata / "pg_hba.conf", "a") as hba:
                hba.write(f"host all all {GATEWAY.rsplit('.', 1)[0]}.0/24 trust\n")
        settings = {
            "listen_addresses": db.address, "port": "5432", "unix_socket_directories": str(self.pgdata),
            "wal_level": "logical", "max_wal_senders": "10",
            "output_plugin_libraries": "pgoutput, test_decoding, wal2json",  # this machine's PostgreSQL asks for the list "max_replication_slots": "10", "max_connections": "300",
            "fsync": "off",
            # A client host that vanishes never closes its connections: keepalives (idle ones) and the user
            # timeout (ones with unacknowledged data) find them dead within ~15 s, and so release their row
            # locks (a chunk being read, a run's lease update). Without them: minutes to hours (docs/deployment.md).
            "tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2", "tcp_keepalives_count": "5",
            "tcp_user_timeout": "15000", "synchronous_commit": "off", "full_page_writes": "off", "shared_buffers": "128MB",
        }
        if _knows_setting("output_plugin_libraries"):  # a build that lists the decoding plugins it allows (this machine's)
            settings["output_plugin_libraries"] = "pgoutput, test_decoding, wal2json"
        argv = [str(PG_BIN / "postgres"), "-D", str(self.pgdata)] + [f"-c{key}={value}" for key, value in settings.items()]
        process = db.start(argv, env=base_env(), log="postgres", user="postgres")
        wait_for_port(db.address, 5432, process=process)
        wait_until(self._database_answers, timeout=60, message="PostgreSQL to accept queries")
        if initialise:
            with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {DATABASE}")
                conn.execute("CREATE DATABASE source")

    def _database_answers(self) -> bool:
        try:
            with psycopg.connect(self.dsn("postgres"), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def start_broker(self) -> None:
        broker = self.hosts["broker"]
        process = broker.start(["redis-server", "--bind", broker.address, "--port", "6379", "--save", "", "--appendonly", "no",
                                "--protected-mode", "no"], env=base_env(), log="redis")
        wait_for_port(broker.address, 6379, process=process)

    def start_storage(self) -> None:
        storage = self.hosts["storage"]
        process = storage.start([sys.executable, "-m", "moto.server", "-H", storage.address, "-p", "5000"], env=base_env(),
                                log="moto")
        wait_for_port(storage.address, 5000, process=process)
        import boto3

        client = boto3.client("s3", endpoint_url=self.s3_endpoint, region_name=S3_REGION, aws_access_key_id=S3_KEY,
                              aws_secret_access_key=S3_SECRET)
        existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
        if S3_BUCKET not in existing:
            client.create_bucket(Bucket=S3_BUCKET)

    def start_web(self, host: Host) -> None:
        argv = [sys.executable, "-m", "uvicorn", "d2d.asgi:application", "--host", host.address, "--port", str(WEB_PORT),
                "--no-access-log"]
        process = host.start(argv, env=self.role_env(host), log="web")
        wait_for_port(host.address, WEB_PORT, timeout=120, process=process)

    def start_worker(self, host: Host, **extra) -> None:
        process = host.start([sys.executable, "manage.py", "qcluster"], env=self.role_env(host, **extra), log="qcluster")
        wait_until(lambda: process.poll() is not None or "ready for work" in self.log(host, "qcluster"), timeout=120,
                   interval=0.3, message=f"qcluster on {host.name}")
        if process.poll() is not None:
            raise RuntimeError(f"qcluster on {host.name} exited: {self.log(host, 'qcluster')[-2000:]}")

    def stop_workers(self) -> None:
        for host in self.workers:
            host.kill()
            host.link_up()

    def log(self, host: Host, name: str) -> str:
        path = host.scratch / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- environments ----------------------------------------------------------------------------
    @property
    def s3_endpoint(self) -> str:
        return f"http://{self.hosts['storage'].address}:5000"

    def dsn(self, database: str = DATABASE) -> str:
        return f"postgres://postgres@{self.hosts['db'].address}:5432/{database}"

    def role_env(self, host: Host, **extra) -> dict:
        """The whole environment of a d2d process on ``host``: each service by its address, nothing else."""
        env = base_env() | {
            "DJANGO_SETTINGS_MODULE": "d2d.settings",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": ",".join(h.address for h in self.webs),
            "DATABASE_URL": self.dsn(),
            "REDIS_URL": f"redis://{self.hosts['broker'].address}:6379/0",
            "D2D_BROKER": "redis",
            "D2D_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": S3_BUCKET,
            "AWS_S3_ENDPOINT_URL": self.s3_endpoint,
            "AWS_S3_REGION_NAME": S3_REGION,
            "AWS_ACCESS_KEY_ID": S3_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "D2D_DATA_DIR": str(self.scratch / f"data-{host.name}"),
            "D2D_WORKERS": "2",
            "D2D_TASK_TIMEOUT": "600",
            "D2D_TASK_LEASE_SECONDS": str(self.lease_seconds),
            "D2D_TASK_REQUEUE_SECONDS": str(self.requeue_seconds),
            "D2D_TASK_RETRY_BACKOFF": "1",
            "LOG_LEVEL": "info",
        }
        return env | {key: str(value) for key, value in extra.items()}

    def manage(self, host: Host, *args: str, timeout: float = 120, **extra) -> str:
        return host.exec([sys.executable, "manage.py", *args], env=self.role_env(host, **extra), timeout=timeout)

    def django(self, host: Host, code: str, *, timeout: float = 120, **extra):
        """Run Python with d2d's settings on ``host`` (as an operator's manage.py shell would); what ``result`` holds."""
        script = "import json, django\ndjango.setup()\nresult = None\n" + textwrap.dedent(code) + (
            "\nprint('\\n@@result ' + json.dumps(result, default=str))\n")
        out = host.exec([sys.executable, "-c", script], env=self.role_env(host, **extra), timeout=timeout)
        return json.loads(out.rsplit("@@result ", 1)[1])

    def sql(self, query: str, params=(), *, database: str = DATABASE) -> list[tuple]:
        """A query on the database host, from the test process (through the bridge)."""
        with psycopg.connect(self.dsn(database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def host_of_pid(self, pid: int) -> Host | None:
        for host in self.hosts.values():
            if pid in host.pids():
                return host
        return None


def _knows_setting(name: str) -> bool:
    described = run("runuser", "-u", "postgres", "--", str(PG_BIN / "postgres"), "--describe-config", check=False).stdout
    return any(line.split("\t", 1)[0] == name for line in described.splitlines())
