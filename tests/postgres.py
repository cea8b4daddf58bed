"""Throwaway PostgreSQL clusters from Debian's server binaries, for the tests."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from collector.embedded import free_port

_dbs = itertools.count(1)


def _pg_bin() -> Path | None:
    """Directory of PostgreSQL's server binaries (Debian keeps them off PATH)."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


def new_cluster(prefix: str) -> "OwnPostgres":
    """initdb a throwaway cluster (as the postgres user when we are root: initdb refuses
    root), or skip / fail when PostgreSQL is not installed.

    CI installs Debian's postgresql package, so these tests always run there; set
    MDC_REQUIRE_POSTGRES=1 to turn a missing server into a failure.
    """
    bin_dir = _pg_bin()
    if bin_dir is None:
        if os.environ.get("MDC_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL server binaries not found (apt-get install postgresql)")
        pytest.skip("PostgreSQL server not installed")
    # Not under pytest's tmp dir: that one is private to root, and the cluster runs as postgres.
    base = Path(tempfile.mkdtemp(prefix=prefix))
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(run_as + [str(bin_dir / "initdb"), "-D", str(base / "data"), "-A", "trust", "-U", "mdc",
                             "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
    return OwnPostgres(base, bin_dir, run_as)


def fresh_database(server: "OwnPostgres") -> str:
    """A new empty database in the cluster; its SQLAlchemy URL."""
    import psycopg

    name = f"mdc_{os.getpid()}_{next(_dbs)}"
    with psycopg.connect(f"host=127.0.0.1 port={server.port} user=mdc dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://mdc@127.0.0.1:{server.port}/{name}"


class OwnPostgres:
    """A PostgreSQL cluster the tests start, may restart, and remove."""

    def __init__(self, base: Path, bin_dir: Path, run_as: list[str]):
        self.base, self.bin_dir, self.run_as = base, bin_dir, run_as
        self.data = base / "data"
        self.port = free_port()
        self.proc = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://mdc@127.0.0.1:{self.port}/postgres"

    def start(self) -> "OwnPostgres":
        import psycopg

        self.proc = subprocess.Popen(
            self.run_as + [str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                           "-k", str(self.base), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                           "-c", "full_page_writes=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={self.port} user=mdc dbname=postgres").close()
                return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("PostgreSQL did not start")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            # Fast shutdown: open sessions are cut off, as in a real restart.
            subprocess.run(self.run_as + [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                                          "-w", "stop"], check=True, capture_output=True)
            self.proc.wait(20)
        self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
