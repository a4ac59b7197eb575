"""A throwaway PostgreSQL server from Debian's packages, on 127.0.0.1, password auth, for one test."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass


def postgres_bin() -> str | None:
    """The folder of initdb / pg_ctl (Debian keeps them under /usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    host: str
    port: int
    username: str
    password: str
    db_name: str


@contextmanager
def postgres_server(bin_dir: str):
    """initdb + pg_ctl start in a temp folder; stopped and removed afterwards. Postgres refuses to
    run as root, so as root the server runs as Debian's `postgres` user."""
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    base = tempfile.mkdtemp(prefix="hispatial-pg-")
    data, password = os.path.join(base, "data"), f"pg-{uuid.uuid4().hex}"
    pwfile = os.path.join(base, "pw")
    with open(pwfile, "w") as f:
        f.write(password)
    if as_root:
        shutil.chown(base, "postgres")
        shutil.chown(pwfile, "postgres")
    port = free_port()
    run = lambda *cmd: subprocess.run([*prefix, *cmd], check=True, capture_output=True, timeout=120)  # noqa: E731
    try:
        run(f"{bin_dir}/initdb", "-D", data, "-U", "postgres", f"--pwfile={pwfile}", "--auth=scram-sha-256",
            "--no-sync", "-E", "UTF8")
        run(f"{bin_dir}/pg_ctl", "-D", data, "-w", "-t", "60", "-l", os.path.join(base, "log"), "start", "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off")
        try:
            yield PostgresServer("127.0.0.1", port, "postgres", password, "postgres")
        finally:
            run(f"{bin_dir}/pg_ctl", "-D", data, "-w", "-m", "immediate", "stop")
    finally:
        for _ in range(3):
            shutil.rmtree(base, ignore_errors=True)
            if not os.path.exists(base):
                break
            time.sleep(0.2)
