"""A throwaway PostgreSQL cluster on a free loopback port, for the store tests and ``bench/hosts.py``.

It runs Debian's (or any) ``pg_ctl``/``initdb`` from PATH or ``/usr/lib/postgresql/<version>/bin``.
``initdb`` refuses to run as root, so as root the cluster runs as the ``postgres`` user (``runuser``).
Everything lives in one temporary directory, removed by :meth:`Cluster.remove`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

SERVICE_USER = "postgres"
INSTALL_HINT = "install it with .ci/postgres.sh (Debian's postgresql package)"


def bindir() -> Path | None:
    """Where ``pg_ctl`` and ``initdb`` are: next to a ``pg_ctl`` on PATH, else Debian's newest version."""
    found = shutil.which("pg_ctl")
    if found:
        real = Path(found).resolve().parent
        if (real / "initdb").exists():
            return real
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return versions[-1].parent if versions else None


def unavailable_reason() -> str | None:
    """Why no cluster can be started here, or None when one can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    if bindir() is None:
        return f"no PostgreSQL server: pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin; {INSTALL_HINT}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return f"running as root and there is no {SERVICE_USER!r} user to run the server as; {INSTALL_HINT}"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL server: ``start()``, ``stop()``, ``restart()``, ``remove()``; ``url(db)`` to connect."""

    def __init__(self, *, durable: bool = False, max_connections: int = 200) -> None:
        found = bindir()
        if found is None:
            raise RuntimeError(unavailable_reason() or "no PostgreSQL server")
        self.bin = found
        self.root = Path(tempfile.mkdtemp(prefix="challenge-bot-pg-"))
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.port = free_port()
        self.durable, self.max_connections = durable, max_connections
        self.as_root = os.geteuid() == 0
        if self.as_root:
            entry = pwd.getpwnam(SERVICE_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        os.chmod(self.root, 0o700)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync")

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, cwd=self.root, timeout=120)

    def start(self) -> Cluster:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections={self.max_connections} "
                   f"-c log_min_messages=warning -c log_min_error_statement=panic")
        if not self.durable:
            # Faster, and still safe against the crashes the tests cause (a killed server, not a lost OS):
            # commits reach the OS before they are acknowledged. (The store turns synchronous_commit on anyway.)
            options += " -c fsync=off -c full_page_writes=off"
        try:
            self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}\n{self.server_log()}") from None
        return self

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session and shuts down cleanly; ``immediate`` is a crash (recovery on start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self, mode: str = "fast", down_for: float = 0.0) -> None:
        self.stop(mode)
        time.sleep(down_for)
        self.start()

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def server_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def terminate_sessions(self, dbname: str, application_name: str | None = None) -> int:
        """Cut the server side of every session on ``dbname`` (what a dropped connection looks like)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            query = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            params: list[str] = [dbname]
            if application_name is not None:
                query += " AND application_name = %s"
                params.append(application_name)
            row = conn.execute(query, params).fetchone()
            left = query.replace("count(pg_terminate_backend(pid))", "count(*)")
            deadline = time.monotonic() + 10
            while (still := conn.execute(left, params).fetchone()) and still[0] and time.monotonic() < deadline:
                time.sleep(0.01)  # until they are gone: pg_terminate_backend only signals them
            return int(row[0]) if row else 0

    def remove(self) -> None:
        if self.data.exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.remove()


def cluster_fixture(scope: str = "module"):  # noqa: ANN201 - a pytest fixture
    """A pytest fixture giving a running :class:`Cluster`; skipped, with the reason, where no server can be
    started, but failed under CI (``CI=true``), where the PostgreSQL tests must run."""
    import pytest

    @pytest.fixture(scope=scope)
    def cluster() -> Iterator[Cluster]:
        reason = unavailable_reason()
        if reason:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"PostgreSQL is required in CI and cannot be started: {reason}", pytrace=False)
            pytest.skip(f"PostgreSQL tests need a server: {reason}")
        server = Cluster()
        try:
            yield server.start()
        finally:
            server.remove()

    return cluster


class Databases:
    """Fresh databases on one cluster, one per test: ``new()`` gives a URL."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster, self.made = cluster, 0

    def new(self) -> str:
        self.made += 1
        return self.cluster.create_database(f"store_{os.getpid()}_{self.made}")
