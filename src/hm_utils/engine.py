"""The local engine's lifecycle: start, stop, status and identity of one Spark Connect server per engine home.

One server per engine home (`paths.home`), started in the background on first use and shared by
every notebook, test and JupyterLab kernel. It owns the only JVM, so its Hive catalog (embedded
Derby under `<home>/metastore_db`) is persistent and never locked by a second process. Sessions on
it are made by :func:`hm_utils.spark.get_spark`.

The engine belongs to its home:
- its port is derived from the home unless params set one (:func:`home_port`), so checkouts do not meet;
- it is started with `spark.hm.engine.home` set to the home, which clients check before use;
- `<home>/engine/server.pid` records its pid and start time; a pid whose process is not this home's
  server (it ended, or the pid now belongs to another program) is stale, and is removed, never signalled;
- a port held by anything else is reported with its holder, instead of being connected to.

`hm spark prepare` (run by `make setup`) records the classes the engine loads into a class-data
sharing archive, one per installation; every later engine maps it instead of loading and verifying
~20,000 classes: start-up takes about half the time and first queries are faster. A start never
deletes it: engines of other checkouts may be mapping it.
"""

from __future__ import annotations

import fcntl
import json
import logging
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

import psutil

from hm_utils.config import Config
from hm_utils.errors import EngineError

log = logging.getLogger(__name__)

HOME_PORTS = range(20000, 30000)  # where home_port() places engines: below Linux's ephemeral ports
CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
HOME_CONF = "spark.hm.engine.home"  # the engine's identity: the home it serves
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
_LOG_TAIL_LINES = 3  # of the engine log in a start-up error (stack frames left out)


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


def java_executable() -> Path | None:
    """The java the engine will run, chosen as spark-submit chooses it: `$JAVA_HOME/bin/java` when
    JAVA_HOME is set (whether or not it exists), else the `java` on PATH; None when there is none."""
    if os.environ.get("JAVA_HOME"):
        return Path(os.environ["JAVA_HOME"]) / "bin" / "java"
    found = shutil.which("java")
    return Path(found) if found else None


def java_major_version(executable: Path) -> int | None:
    """Major version that `executable -version` reports; None when it does not run or says no version."""
    try:
        result = subprocess.run([str(executable), "-version"], capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def check_java() -> tuple[int, Path]:
    """The major version and path of the java the engine will run; an EngineError saying what to
    install or set when it is missing, does not run, or is older than MIN_JAVA."""
    install = (
        "install Java 17+, e.g. `sudo apt-get install openjdk-17-jre-headless` (Debian/Ubuntu), "
        "`brew install openjdk@17` (macOS) or `conda install -c conda-forge openjdk=17`"
    )
    executable = java_executable()
    if executable is None:
        raise EngineError(
            f"the local Spark engine needs Java {MIN_JAVA} or newer (no java on PATH, JAVA_HOME not set)",
            where="PATH / JAVA_HOME",
            fix=f"{install}, then set JAVA_HOME",
        )
    from_home = bool(os.environ.get("JAVA_HOME"))
    where = f"JAVA_HOME={os.environ['JAVA_HOME']}" if from_home else f"java on PATH ({executable})"
    if from_home and not executable.is_file():
        raise EngineError(
            f"JAVA_HOME has no bin/java: {executable} does not exist",
            where=where,
            fix="set JAVA_HOME to a Java 17+ installation (the folder that holds bin/java), or unset it "
            "to use the java on PATH",
        )
    major = java_major_version(executable)
    if major is None:
        raise EngineError(
            f"{executable} -version did not run or printed no version",
            where=where,
            fix=f"point JAVA_HOME at a working Java {MIN_JAVA}+ installation, or {install}",
        )
    if major < MIN_JAVA:
        raise EngineError(
            f"the local Spark engine needs Java {MIN_JAVA} or newer, and {executable} is Java {major}",
            where=where,
            fix=f"{install}, then set JAVA_HOME to it",
        )
    return major, executable


@dataclass
class EngineStatus:
    """What `hm spark status` reports: the engine of this home, and what else holds its port."""

    running: bool
    pid: int | None
    url: str
    home: Path
    log: Path
    stale_pid: int | None = None  # a pid file naming a process that is not this home's engine
    port_holder: str | None = None  # who listens on the port when this home's engine does not

    def describe(self) -> str:
        state = f"running · pid {self.pid}" if self.running else "stopped"
        lines = [f"{state} · {self.url} · home {self.home} · log {self.log}"]
        if self.stale_pid is not None:
            lines.append(f"stale pid file: pid {self.stale_pid} is not this home's engine (removed at the next start)")
        if self.port_holder:
            lines.append(f"port taken by {self.port_holder}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _PidRecord:
    pid: int
    started: float | None  # the process's start time (psutil create_time); None in older pid files


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
        self.conf = {str(key): _conf_value(value) for key, value in (settings.get("conf") or {}).items()}
        self.start_timeout = float(settings.get("start_timeout_seconds", 120))
        self.state_dir = self.home / "engine"
        self.pid_file = self.state_dir / "server.pid"
        self.log_file = self.state_dir / "server.log"
        self.record_archive: Path | None = None  # set by record_class_archive: dump the classes at exit
        self.map_archive = True  # False after a start that failed with the archive: start without it

    @property
    def url(self) -> str:
        return f"sc://{self.host}:{self.port}"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    def status(self) -> EngineStatus:
        """Whether this home's engine runs and answers on its port (no side effects)."""
        process = self._engine_process()
        running = process is not None and self._listens(process)
        record = self._read_pid()
        stale = record.pid if record is not None and process is None else None
        holder = None if running or not self._port_open() else describe_port_holder(self.port)
        return EngineStatus(
            running, process.pid if running else None, self.url, self.home, self.log_file, stale, holder
        )

    def ensure_running(self) -> EngineStatus:
        """Start the server unless it already answers; safe to call from many processes at once.

        An EngineError, without connecting, when the port is held by anything but this home's engine."""
        process = self._engine_process()
        if process is not None and self._listens(process):
            return self.status()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self._start_lock():
            process = self._engine_process()
            if process is None:
                self._remove_stale_pid_file()
                self._refuse_a_taken_port()
                self._start()
            elif not self._listens(process):
                self._refuse_a_deaf_engine(process)
        return self.status()

    def stop(self, timeout: float = 30) -> bool:
        """Stop this home's server (SIGTERM, SIGKILL after `timeout` seconds); True if one was running.

        Only a process verified to be this home's engine is signalled; a stale pid file is removed."""
        process = self._engine_process()
        if process is None:
            self._remove_stale_pid_file()
            return False
        _signal_engine(process, signal.SIGTERM)
        try:
            process.wait(timeout)
        except psutil.TimeoutExpired:
            _signal_engine(process, signal.SIGKILL)
            process.wait(30)
        except psutil.NoSuchProcess:
            pass
        _reap(process.pid)
        self.pid_file.unlink(missing_ok=True)
        return True

    def _refuse_a_taken_port(self) -> None:
        if not self._port_open():
            return
        holder = describe_port_holder(self.port) or "another program"
        raise EngineError(
            f"port {self.port} of this checkout's engine is taken by {holder}",
            where=f"spark.local.port ({self.url}); engine home {self.home}",
            fix="stop that program, or give this checkout another port: --set spark.local.port=N "
            "(or spark.local.port in params/<env>.yml; null derives one from the engine home)",
        )

    def _refuse_a_deaf_engine(self, process: psutil.Process) -> None:
        started_on = _conf_of(process, "spark.connect.grpc.binding.port")
        if started_on is not None and started_on != str(self.port):
            raise EngineError(
                f"this home's engine (pid {process.pid}) listens on port {started_on}, the settings say {self.port}",
                where=f"engine home {self.home}",
                fix="`hm spark down`, then retry: the engine restarts with the current settings",
            )
        raise EngineError(
            f"this home's engine (pid {process.pid}) runs but does not answer on port {self.port}",
            where=str(self.log_file),
            fix="read the end of the log; `hm spark down`, then retry",
        )

    def _start(self) -> None:
        check_java()
        self.warehouse_dir.mkdir(parents=True, exist_ok=True)
        command = self.command()
        env = {**os.environ, "SPARK_HOME": str(_spark_home()), "PYSPARK_PYTHON": sys.executable}
        env.pop("SPARK_REMOTE", None)
        log_start = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as log_handle:
            process = subprocess.Popen(
                command,
                stdout=log_handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.state_dir,
                env=env,
                start_new_session=True,
            )
        self._write_pid(process.pid)
        watched = psutil.Process(process.pid)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                if self._archive_option().startswith("-XX:SharedArchiveFile") and _archive_failed(
                    self.log_file, log_start
                ):
                    log.warning("the engine could not map the class archive; starting it without the archive")
                    self.map_archive = False  # the archive stays: other engines may map it
                    return self._start()
                raise EngineError(
                    f"the local Spark engine exited during start-up (code {process.returncode}): "
                    + _log_tail(self.log_file, log_start),
                    where=str(self.log_file),
                    fix="read the end of that log; check `hm doctor`; then retry",
                )
            if self._port_open() and self._listens(watched):
                return None
            time.sleep(0.25)
        self.stop()
        raise EngineError(
            f"the local Spark engine did not answer on port {self.port} within {self.start_timeout:.0f} s",
            where=str(self.log_file),
            fix="read the log; raise spark.local.start_timeout_seconds on a slow machine",
        )

    def command(self) -> list[str]:
        """The spark-submit command line of the server: the settings the engine's home and params
        decide, then `spark.local.conf` (params' Spark settings, which win over the first ones)."""
        spark_submit = _spark_home() / "bin" / "spark-submit"
        metastore = self.home / "metastore_db"
        confs = {
            HOME_CONF: str(self.home),
            "spark.connect.grpc.binding.port": str(self.port),
            "spark.sql.catalogImplementation": "hive",
            "spark.sql.warehouse.dir": str(self.warehouse_dir),
            "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={metastore};create=true",
            "spark.sql.shuffle.partitions": str(self.shuffle_partitions),
            "spark.log.level": self.log_level,
            **self.conf,
            # the catalog's Derby home and UTC always; flags from java_options or conf come after them
            "spark.driver.extraJavaOptions": " ".join(
                flags
                for flags in (
                    f"-Dderby.system.home={self.state_dir} -Duser.timezone=UTC",
                    self._archive_option(),
                    self.java_options,
                    self.conf.get("spark.driver.extraJavaOptions", ""),
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
        return f"-XX:SharedArchiveFile={archive}" if self.map_archive and archive.is_file() else ""

    def _engine_process(self) -> psutil.Process | None:
        """The process of the pid file when it is this home's engine: alive, started when the pid file
        says, and a Spark Connect server for this home (by its command line)."""
        record = self._read_pid()
        if record is None or _reap(record.pid):
            return None
        try:
            process = psutil.Process(record.pid)
            if record.started is not None and abs(process.create_time() - record.started) > 1:
                return None  # the pid now belongs to a later process
            if process.status() == psutil.STATUS_ZOMBIE or not self._serves_this_home(process.cmdline()):
                return None
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        return process

    def _serves_this_home(self, cmdline: list[str]) -> bool:
        # engines started before the identity conf existed are known by their warehouse folder
        marks = (f"{HOME_CONF}={self.home}", f"spark.sql.warehouse.dir={self.warehouse_dir}")
        return CONNECT_SERVER_CLASS in cmdline and any(mark in cmdline for mark in marks)

    def _listens(self, process: psutil.Process) -> bool:
        """Whether `process` accepts connections on this engine's port."""
        try:
            return any(
                connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == self.port
                for connection in process.net_connections(kind="tcp")
            )
        except psutil.AccessDenied:  # platforms that hide sockets: a verified engine with the port open
            return self._port_open()
        except psutil.NoSuchProcess:
            return False

    def _read_pid(self) -> _PidRecord | None:
        try:
            text = self.pid_file.read_text().strip()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return None
        if isinstance(data, int):  # a pid file written before start times were recorded
            return _PidRecord(data, None)
        if isinstance(data, dict) and isinstance(data.get("pid"), int):
            return _PidRecord(data["pid"], data.get("started"))
        return None

    def _write_pid(self, pid: int) -> None:
        record = {"pid": pid, "started": psutil.Process(pid).create_time(), "port": self.port, "home": str(self.home)}
        self.pid_file.write_text(json.dumps(record))

    def _remove_stale_pid_file(self) -> None:
        record = self._read_pid()
        if self.pid_file.exists():
            pid = record.pid if record else "unreadable"
            log.warning("removed a stale engine pid file (pid %s is not this home's engine): %s", pid, self.pid_file)
            self.pid_file.unlink(missing_ok=True)

    def _port_open(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            return sock.connect_ex((self.host if self.host != "localhost" else "127.0.0.1", self.port)) == 0

    @contextmanager
    def _start_lock(self):
        with (self.state_dir / "start.lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def describe_port_holder(port: int) -> str | None:
    """Who listens on `port` on this machine, in words (None when nobody does or it cannot be seen)."""
    try:
        listeners = [
            connection.pid
            for connection in psutil.net_connections(kind="tcp")
            if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port
        ]
    except psutil.AccessDenied:
        return None
    pid = next((pid for pid in listeners if pid is not None), None)
    if pid is None:
        return "a process of another user" if listeners else None
    try:
        process = psutil.Process(pid)
        cmdline = process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return f"pid {pid}"
    if CONNECT_SERVER_CLASS in cmdline:
        home = _conf_of(process, HOME_CONF) or (_conf_of(process, "spark.sql.warehouse.dir") or "?").removesuffix(
            "/warehouse"
        )
        return f"the Spark engine of another engine home ({home}, pid {pid})"
    return f"pid {pid} ({' '.join(cmdline)[:120] or process.name()})"


def _conf_of(process: psutil.Process, key: str) -> str | None:
    """The value of `--conf key=value` on a process's command line."""
    try:
        cmdline = process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    prefix = f"{key}="
    return next((item[len(prefix) :] for item in cmdline if item.startswith(prefix)), None)


def _signal_engine(process: psutil.Process, signum: int) -> None:
    """Signal a verified engine: its process group when it leads one (the JVM and any Python workers
    it started), else the process alone."""
    try:
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
    except (ProcessLookupError, psutil.NoSuchProcess):
        pass


def _reap(pid: int) -> bool:
    """True when `pid` was a child of this process that has exited (and is now reaped): an engine this
    process started stays a zombie, which signals and psutil still reach, until it is reaped."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return False


def _archive_failed(log_file: Path, since: int) -> bool:
    """Whether the engine's start-up output says the JVM could not map its class archive (an archive
    torn or made by another JVM build crashes it in FileMapInfo, or it reports the archive)."""
    text = _log_text(log_file, since).lower()
    return any(sign in text for sign in ("filemapinfo", "shared archive", "sharedarchivefile", "fatal error has been"))


def _log_text(log_file: Path, since: int) -> str:
    try:
        with log_file.open("rb") as handle:
            handle.seek(since)
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def _log_tail(log_file: Path, since: int) -> str:
    """The last lines the engine wrote to its log since byte `since`, on one line."""
    text = _log_text(log_file, since)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("at ")]
    return " | ".join(lines[-_LOG_TAIL_LINES:]) or "the log is empty"


def _conf_value(value: object) -> str:
    """A params value as Spark expects it (YAML booleans as `true`/`false`)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent
