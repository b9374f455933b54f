"""A throwaway PostgreSQL cluster for tests: `initdb` + `pg_ctl` in a temp dir.

The cluster listens on a free loopback port (and a unix socket in its own dir), with
password (SCRAM) authentication over TCP, so a bad password really fails. PostgreSQL
refuses to run as root, and CI runs as root: then every server command runs as an
unprivileged system user (`nobody`, through `runuser` or `setpriv`) in a temp dir that
user owns. As a normal user the commands run directly.

    cluster = PgCluster.start()          # one per test session (per xdist worker)
    url = cluster.create_database()      # a fresh, empty database per test
    cluster.stop()

Two roles exist: the superuser `postgres` (for set-up: databases, roles, grants) and
`aisre`, an ordinary login role that owns each test database (what the tool uses).
Passwords are random per cluster; `url()` leaves them out (the tool reads the password
from the keyring or `AISRE_MEMORY_TOKEN`), `dsn()` includes them (for test code).

Binaries: `$AISRE_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`, else `PATH`.
`find_bin_dir()` returns None when they are missing; the conftest fixture skips then,
or fails under CI=true (.ci/run installs Debian's `postgresql`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

BINARIES = ("initdb", "pg_ctl", "postgres")
APP_ROLE = "aisre"
ADMIN_ROLE = "postgres"
UNPRIVILEGED_USER = "nobody"


def find_bin_dir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres (all from one install)."""
    candidates: list[Path] = []
    env = os.environ.get("AISRE_PG_BIN")
    if env:
        candidates.append(Path(env))

    def _ver(p: Path) -> tuple[int, ...]:
        try:
            return tuple(int(x) for x in p.parent.name.split("."))
        except ValueError:
            return (0,)

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_ver, reverse=True)
    which = shutil.which("pg_ctl")
    if which:
        candidates.append(Path(which).resolve().parent)
        candidates.append(Path(which).parent)
    for d in candidates:
        if all((d / b).exists() for b in BINARIES):
            return d
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user_prefix() -> tuple[list[str], int | None, int | None]:
    """The command prefix to drop root (and that user's uid/gid), or nothing."""
    if os.geteuid() != 0:
        return [], None, None
    pw = pwd.getpwnam(UNPRIVILEGED_USER)
    if shutil.which("runuser"):
        return ["runuser", "-u", UNPRIVILEGED_USER, "--"], pw.pw_uid, pw.pw_gid
    if shutil.which("setpriv"):
        return (
            [
                "setpriv",
                f"--reuid={pw.pw_uid}",
                f"--regid={pw.pw_gid}",
                "--clear-groups",
                "--",
            ],
            pw.pw_uid,
            pw.pw_gid,
        )
    raise RuntimeError("running as root and neither runuser nor setpriv is available")


@dataclass
class PgCluster:
    bin_dir: Path
    root: Path
    port: int
    admin_password: str
    app_password: str
    prefix: list[str] = field(default_factory=list)
    _counter: int = 0

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def start(cls, bin_dir: Path | None = None) -> PgCluster:
        bd = bin_dir or find_bin_dir()
        if bd is None:
            raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl, postgres) not found")
        prefix, uid, gid = _as_user_prefix()
        root = Path(tempfile.mkdtemp(prefix="aisre-pg-"))
        if uid is not None and gid is not None:
            os.chown(root, uid, gid)
        os.chmod(root, 0o700)
        cluster = cls(
            bin_dir=bd,
            root=root,
            port=0,
            admin_password=secrets.token_hex(12),
            app_password=secrets.token_hex(12),
            prefix=prefix,
        )
        try:
            cluster._initdb(uid, gid)
            cluster._start_server()
            cluster._bootstrap()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _run(self, args: list[str], *, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        env["HOME"] = str(self.root)  # nobody's home may not exist
        proc = subprocess.run(
            [*self.prefix, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr[-2000:]}"
                f"{self._log_tail()}"
            )
        return proc

    def _log_tail(self) -> str:
        log = self.root / "server.log"
        with contextlib.suppress(OSError):
            return "\nserver.log: " + log.read_text(errors="replace")[-2000:]
        return ""

    def _initdb(self, uid: int | None, gid: int | None) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.admin_password + "\n")
        if uid is not None and gid is not None:
            os.chown(pwfile, uid, gid)
        pwfile.chmod(0o600)
        (self.root / "sock").mkdir(mode=0o700)
        if uid is not None and gid is not None:
            os.chown(self.root / "sock", uid, gid)
        self._run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                ADMIN_ROLE,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        pwfile.unlink()

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _pg_ctl_start(self) -> None:
        """`pg_ctl start` on `self.port`, loopback and a private socket directory only."""
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1"
            f" -c unix_socket_directories={self.root / 'sock'}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200 -c shared_buffers=32MB"
        )
        self._run(
            [
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.root / "server.log"),
                "-o",
                opts,
                "-w",
                "-t",
                "120",
                "start",
            ]
        )

    def _start_server(self) -> None:
        last = ""
        for _ in range(5):  # the free port may be taken between probe and bind
            self.port = _free_port()
            try:
                self._pg_ctl_start()
                return
            except RuntimeError as exc:
                last = str(exc)
                if "already in use" not in last and "could not bind" not in last:
                    raise
        raise RuntimeError(f"could not start PostgreSQL: {last}")

    def is_running(self) -> bool:
        try:
            self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status"])
        except RuntimeError:
            return False
        return True

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server but keep the cluster (for fault tests: restart with start_again)."""
        self._run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"]
        )

    def start_again(self) -> None:
        """Restart a stopped server on the same port (same URLs stay valid)."""
        self._pg_ctl_start()

    def stop(self) -> None:
        """Stop the server (immediately) and delete the cluster."""
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self.stop_server("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------ connections

    def dsn(self, dbname: str = "postgres", *, user: str = ADMIN_ROLE) -> str:
        """A URL with the password in it (test code only)."""
        pw = self.admin_password if user == ADMIN_ROLE else self.app_password
        return f"postgresql://{quote(user)}:{quote(pw)}@127.0.0.1:{self.port}/{quote(dbname)}"

    def url(self, dbname: str, *, user: str = APP_ROLE) -> str:
        """A URL without a password: what a profile's `memory_url` holds."""
        return f"postgresql://{quote(user)}@127.0.0.1:{self.port}/{quote(dbname)}"

    def admin(self, sql: str, dbname: str = "postgres") -> None:
        """Run SQL as the superuser, autocommit (CREATE DATABASE cannot run in a block)."""
        import psycopg

        with psycopg.connect(self.dsn(dbname), autocommit=True, connect_timeout=30) as c:
            c.execute(sql)  # type: ignore[arg-type]

    def _bootstrap(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                self.admin(
                    f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{self.app_password}' CREATEROLE"
                )
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def create_database(self, name: str | None = None, *, template: str = "template0") -> str:
        """A fresh database owned by the app role; returns its password-less URL."""
        if name is None:
            self._counter += 1
            name = f"t{os.getpid()}_{self._counter}_{secrets.token_hex(3)}"
        self.admin(f'CREATE DATABASE "{name}" OWNER {APP_ROLE} TEMPLATE {template}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
