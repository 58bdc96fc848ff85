"""One engine, two places: a SparkSession for the configured target.

- `local` (the embedded default): one Spark Connect server per engine home, started in the
  background on first use and shared by every notebook, test and JupyterLab kernel. It owns the
  only JVM, so its Hive catalog (embedded Derby under `<home>/metastore_db`) is persistent and
  never locked by a second process; a client session starts in about a second instead of a new
  JVM per notebook, and it speaks the same protocol as Databricks Connect.
  Its log is kept at `spark.local.log_level` (WARN: Spark's INFO lines, about a million and 35 MB
  per pipeline run, would grow `<home>/engine/server.log` without end).
  `hm spark prepare` (run by `make setup`) records the classes the engine loads into a class-data
  sharing archive, one per installation; every later engine maps it instead of loading and
  verifying ~20,000 classes: start-up takes about half the time and first queries are faster.
- `databricks`: Databricks Connect (profile, serverless or cluster id from params or the standard
  `DATABRICKS_*` variables); inside a Databricks job the runtime's own session is returned.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hm_utils.config import Config
from hm_utils.errors import EngineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

HOME_PORTS = range(20000, 30000)  # where home_port() places engines: below Linux's ephemeral ports
CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
MIN_JAVA = 17
# What the engine does while its class archive is recorded: a table written and read, a join, an
# aggregate, a window, a SQL table function and an Arrow fetch (the classes of every pipeline step).
_ARCHIVE_WORKLOAD = (
    "create schema prepare",
    "create table prepare.t using parquet as select id, id % 7 as k, cast(id as string) as s,"
    " timestamp_seconds(id) as t, cast(id / 3 as decimal(38,6)) as d from range(20000)",
    "create function prepare.f(n int default 3 comment 'keys below n') returns table (k bigint, c bigint)"
    " return select k, count(*) from prepare.t where k < n group by k",
)
_ARCHIVE_QUERIES = (
    "select a.k, count(*) as c, sum(b.d) as d, max(a.t) as t, row_number() over (order by a.k) as r"
    " from prepare.t as a join prepare.t as b on a.k = b.k group by a.k",
    "select * from prepare.f(n => 5)",
)


def class_archive() -> Path:
    """The engine's class-data sharing archive: one per installation (Python prefix and pyspark)."""
    import pyspark

    return Path(sys.prefix) / "share" / "hm" / f"engine-classes-pyspark-{pyspark.__version__}.jsa"


def record_class_archive(config: Config, progress=print) -> Path | None:
    """Record `class_archive()` once: a throwaway engine runs a short workload and writes the classes it
    loaded when it exits. The archive appears only complete (a torn archive would crash the JVM).
    Returns the archive, or None when recording failed (engines then simply start without it)."""
    import tempfile

    archive = class_archive()
    if archive.is_file():
        return archive
    archive.parent.mkdir(parents=True, exist_ok=True)
    recording = archive.with_suffix(f".{os.getpid()}.recording")
    started = time.perf_counter()
    failure = ""
    with tempfile.TemporaryDirectory(prefix="hm-prepare-") as scratch:
        engine = LocalEngine(config.with_overrides({"paths.home": scratch, "spark.local.port": free_port()}))
        engine.record_archive = recording
        try:
            engine.ensure_running()
            from pyspark.sql import SparkSession

            spark = SparkSession.builder.remote(engine.url).create()
            for statement in _ARCHIVE_WORKLOAD:
                spark.sql(statement)
            for query in _ARCHIVE_QUERIES:
                spark.sql(query).toPandas()
            spark.stop()
        except Exception as error:  # noqa: BLE001 — without the archive engines only start slower
            failure = f"the recording workload failed ({error})"
        finally:
            engine.stop(timeout=300)  # the JVM writes the archive as it exits
    if not failure and (not recording.is_file() or recording.stat().st_size == 0):
        failure = f"the engine wrote no archive (see {engine.log_file})"
    if failure:
        recording.unlink(missing_ok=True)
        progress(f"engine class archive not recorded: {failure}; engines start without it")
        return None
    recording.replace(archive)
    progress(f"engine class archive recorded in {time.perf_counter() - started:.0f} s: {archive}")
    return archive


def home_port(home: Path) -> int:
    """The engine port of an engine home when params set none: stable for the folder, and different for
    another checkout's home, so two checkouts on one machine never talk to each other's engine."""
    return HOME_PORTS.start + zlib.crc32(str(home.resolve()).encode()) % len(HOME_PORTS)


def free_port() -> int:
    """A TCP port on localhost that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def get_spark(config: Config) -> SparkSession:
    """The SparkSession for `config.target`, starting the local engine when needed."""
    if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        from pyspark.sql import SparkSession

        return SparkSession.builder.getOrCreate()
    if config.target == "databricks":
        return _databricks_session(config)
    server = LocalEngine(config)
    server.ensure_running()
    from pyspark.sql import SparkSession

    return SparkSession.builder.remote(server.url).getOrCreate()


def _databricks_session(config: Config) -> SparkSession:
    try:
        from databricks.connect import DatabricksSession
    except ImportError as exc:
        raise EngineError(
            "target is databricks but databricks-connect is not installed",
            where="the Python environment",
            fix="create a separate environment with `pip install -e '.[databricks]'` "
            "(databricks-connect replaces pyspark; use the Python version of your cluster's runtime)",
        ) from exc
    builder = DatabricksSession.builder
    settings = config.get("spark.databricks", {}) or {}
    if settings.get("profile"):
        builder = builder.profile(settings["profile"])
    if settings.get("cluster_id"):
        builder = builder.clusterId(settings["cluster_id"])
    elif settings.get("serverless") and not os.environ.get("DATABRICKS_CLUSTER_ID"):
        builder = builder.serverless(True)
    return builder.getOrCreate()


def java_major_version() -> int | None:
    """Major version of the `java` on PATH (or under JAVA_HOME), None when there is none."""
    java = Path(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else None
    executable = str(java) if java and java.exists() else shutil.which("java")
    if not executable:
        return None
    result = subprocess.run([executable, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def check_java() -> int:
    """Java major version; an EngineError with the install hint when it is missing or too old."""
    major = java_major_version()
    if major is None or major < MIN_JAVA:
        found = "no java on PATH" if major is None else f"java {major}"
        raise EngineError(
            f"the local Spark engine needs Java {MIN_JAVA} or newer ({found})",
            where="PATH / JAVA_HOME",
            fix="install it, e.g. `sudo apt-get install openjdk-17-jre-headless` (Debian/Ubuntu), "
            "`brew install openjdk@17` (macOS) or `conda install -c conda-forge openjdk=17`, "
            "then set JAVA_HOME",
        )
    return major


@dataclass
class EngineStatus:
    """What `hm spark status` reports."""

    running: bool
    pid: int | None
    url: str
    home: Path
    log: Path


class LocalEngine:
    """The background Spark Connect server that serves one engine home."""

    def __init__(self, config: Config) -> None:
        settings = config.get("spark.local", {}) or {}
        self.config = config
        self.host = str(settings.get("host", "localhost"))
        self.home = config.home
        self.port = int(settings.get("port") or home_port(self.home))
        self.driver_memory = str(settings.get("driver_memory", "4g"))
        self.shuffle_partitions = int(settings.get("shuffle_partitions", 4))
        self.java_options = str(settings.get("java_options") or "")
        self.log_level = str(settings.get("log_level") or "WARN").upper()
        self.extra_conf = {str(key): _conf_value(value) for key, value in (settings.get("conf") or {}).items()}
        self.start_timeout = float(settings.get("start_timeout_seconds", 120))
        self.state_dir = self.home / "engine"
        self.pid_file = self.state_dir / "server.pid"
        self.log_file = self.state_dir / "server.log"
        self.record_archive: Path | None = None  # set by record_class_archive: dump the classes at exit

    @property
    def url(self) -> str:
        return f"sc://{self.host}:{self.port}"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    def status(self) -> EngineStatus:
        pid = self._read_pid()
        running = pid is not None and _pid_alive(pid) and self._port_open()
        return EngineStatus(running, pid if running else None, self.url, self.home, self.log_file)

    def ensure_running(self) -> EngineStatus:
        """Start the server unless it already answers; safe to call from many processes at once."""
        if self._port_open() and self._read_pid() is not None:
            return self.status()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if not (self._port_open() and self._read_pid() is not None):
                self._start()
        return self.status()

    def stop(self, timeout: float = 30) -> bool:
        """Stop the server (SIGTERM, SIGKILL after `timeout` seconds); True if one was running."""
        pid = self._read_pid()
        if pid is None or not _pid_alive(pid):
            self.pid_file.unlink(missing_ok=True)
            return False
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def _start(self) -> None:
        check_java()
        if self._port_open():
            raise EngineError(
                f"port {self.port} is taken by another program",
                where=f"spark.local.port in params/{self.config.env}.yml",
                fix="stop that program or choose another port with --set spark.local.port=N",
            )
        self.warehouse_dir.mkdir(parents=True, exist_ok=True)
        command = self.command()
        env = {**os.environ, "SPARK_HOME": str(_spark_home()), "PYSPARK_PYTHON": sys.executable}
        env.pop("SPARK_REMOTE", None)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.state_dir,
                env=env,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                archive = class_archive()
                if self.record_archive is None and f"-XX:SharedArchiveFile={archive}" in " ".join(command):
                    archive.unlink(missing_ok=True)  # an unreadable archive stops the JVM: start without it
                    return self._start()
                raise EngineError(
                    f"the local Spark engine exited during start-up (code {process.returncode})",
                    where=str(self.log_file),
                    fix="read the end of that log; `hm spark down` then retry",
                )
            if self._port_open():
                return
            time.sleep(0.25)
        self.stop()
        raise EngineError(
            f"the local Spark engine did not answer on port {self.port} within {self.start_timeout:.0f} s",
            where=str(self.log_file),
            fix="read the log; raise spark.local.start_timeout_seconds on a slow machine",
        )

    def command(self) -> list[str]:
        """The spark-submit command line of the server (params' java_options and conf included)."""
        spark_submit = _spark_home() / "bin" / "spark-submit"
        metastore = self.home / "metastore_db"
        confs = {
            "spark.connect.grpc.binding.port": str(self.port),
            "spark.connect.grpc.maxInboundMessageSize": str(512 * 1024 * 1024),
            "spark.sql.catalogImplementation": "hive",
            "spark.sql.warehouse.dir": str(self.warehouse_dir),
            "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={metastore};create=true",
            "spark.sql.shuffle.partitions": str(self.shuffle_partitions),
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.legacy.createHiveTableByDefault": "false",
            # Every client is its own Spark session with its own table cache; when one client switches a
            # table to a new version, another's cached file listing would point at deleted files.
            "spark.sql.filesourceTableRelationCacheSize": "0",
            # Compiled query code is cached per engine, 100 classes by default: fewer than the semantic
            # layer's functions need, so a long-lived engine recompiled (Janino, ~40 ms a class) what
            # it had compiled a few calls earlier.
            "spark.sql.codegen.cache.maxEntries": "5000",
            # The embedded metastore serves this JVM only, so it can skip its proxy and object copies
            # (every Spark Connect operation runs on a new thread, which opens a new metastore store).
            "spark.hadoop.hive.metastore.fastpath": "true",
            # Tungsten's memory page defaults to the heap per core / 16, at most 64 MB: with a 4-6 GB heap every
            # sort, aggregation and broadcast hash table, however few its rows, allocated and zeroed a 64 MB
            # array, and those arrays filled the old generation (a full collection every few seconds while
            # the semantic functions answered). Pages of 1 MB, Spark's smallest default, grow as rows need.
            "spark.buffer.pageSize": "1m",
            "spark.ui.enabled": "false",
            "spark.log.level": self.log_level,
            **self.extra_conf,
            # the catalog's Derby home and UTC always; flags from java_options or conf come after them
            "spark.driver.extraJavaOptions": " ".join(
                flags
                for flags in (
                    f"-Dderby.system.home={self.state_dir} -Duser.timezone=UTC",
                    self._archive_option(),
                    self.java_options,
                    self.extra_conf.get("spark.driver.extraJavaOptions", ""),
                )
                if flags
            ),
        }
        command = [str(spark_submit), "--class", CONNECT_SERVER_CLASS, "--name", "hm-local-engine"]
        command += ["--master", "local[*]", "--driver-memory", self.driver_memory]
        for key, value in confs.items():
            command += ["--conf", f"{key}={value}"]
        command.append("spark-internal")
        return command

    def _archive_option(self) -> str:
        if self.record_archive is not None:
            return f"-XX:ArchiveClassesAtExit={self.record_archive}"
        archive = class_archive()
        return f"-XX:SharedArchiveFile={archive}" if archive.is_file() else ""

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _port_open(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            return sock.connect_ex((self.host if self.host != "localhost" else "127.0.0.1", self.port)) == 0

    @contextmanager
    def _lock(self):
        with (self.state_dir / "start.lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _conf_value(value: object) -> str:
    """A params value as Spark expects it (YAML booleans as `true`/`false`)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def _pid_alive(pid: int) -> bool:
    try:  # an engine started by this process stays a zombie, which signals reach, until it is reaped
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
