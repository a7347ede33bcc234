"""``hpt dashboard PATH``: optuna-dashboard on a sweep's study storage (pip install
'hpt[dashboard]').

PATH is a sweep directory (its ``study.journal``, or the database its sweep.json names), a
journal file, or a database URL. sweep.json keeps a database URL with its password masked
(``user:***@host``): the real one comes from ``HPT_STORAGE`` when that names the same
database, else the password is asked for at a terminal. The server listens on
``--host``/``--port`` (127.0.0.1:8080 by default; ``--port 0`` picks a free one), prints its
address and serves until Ctrl-C. The dashboard can edit and delete studies and has no
authentication: any other ``--host`` than loopback gets a loud warning.
Studies carry their objective names, and each trial its final metrics as user attributes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from hpt.errors import EXIT_USAGE, UserError
from hpt.masking import is_masked, mask_url, unmask_url
from hpt.rundir import SWEEP, read_json
from hpt.storage import JOURNAL_NAME, is_url

STORAGE_ENV = "HPT_STORAGE"  # the README's name for a shared study's URL


def storage_spec(path: str) -> str:
    """The storage a PATH names: a database URL, a journal file, or a sweep dir's storage."""
    if is_url(path):
        return path
    p = Path(path)
    if p.is_dir():
        if (p / JOURNAL_NAME).is_file():
            return str(p / JOURNAL_NAME)
        named = str((read_json(p / SWEEP) or {}).get("storage", ""))
        if is_url(named):
            return real_url(named, path) if is_masked(named) else named
        if (p / named).is_file():
            return str(p / named)
        raise UserError(
            f"{path} holds no {JOURNAL_NAME}; for a sweep stored in a database, pass its URL"
        )
    if p.is_file():
        return str(p)
    raise UserError(f"{path} is neither a sweep directory, a journal file nor a database URL")


def real_url(masked: str, path: str) -> str:
    """The database URL a sweep.json names with its password masked: ``HPT_STORAGE`` when
    that is the same URL up to the password, else the URL with a password typed at a terminal;
    never the masked one (it would only log in as ``***``)."""
    env = os.environ.get(STORAGE_ENV, "")
    if env and mask_url(env) == masked:
        return env
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return unmask_url(masked, getpass.getpass(f"password for {masked}: "))
    other = f" ({STORAGE_ENV} names another database, {mask_url(env)})" if env else ""
    raise UserError(
        f"the study of {path} is in {masked}, whose password is not stored: set {STORAGE_ENV} "
        f"to its full URL, pass the URL as PATH, or run at a terminal to be asked{other}"
    )


def serve(spec: str, host: str, port: int) -> None:
    """Serve optuna-dashboard for the storage ``spec`` on ``host:port`` until interrupted."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    try:
        from optuna_dashboard import wsgi
    except ImportError:
        raise UserError(
            "hpt dashboard needs optuna-dashboard: pip install 'hpt[dashboard]' "
            "(from a checkout: '.[dashboard]')"
        ) from None
    from hpt.storage import open_storage

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per HTTP request would drown the address

    server = make_server(host, port, wsgi(open_storage(spec)), handler_class=QuietHandler)
    print(f"optuna-dashboard: http://{host}:{server.server_port}/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def warn_if_open(prog: str, host: str, what: str) -> None:
    """One loud line when a server without authentication listens beyond this machine."""
    if not is_loopback(host):
        print(
            f"{prog}: warning: listening on {host}, not loopback: {what} has no authentication, "
            "so anyone who can reach this address can use it (the default 127.0.0.1 keeps it "
            "on this machine; use an SSH tunnel to reach it from another)",
            file=sys.stderr,
            flush=True,
        )


def main(argv: list[str]) -> int:
    """``hpt dashboard``: parse the arguments and serve the sweep's study."""
    parser = argparse.ArgumentParser(prog="hpt dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("path", help="a sweep directory, a study.journal file or a database URL")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: loopback only)"
    )
    parser.add_argument("--port", type=int, default=8080, help="port (0: any free port)")
    args = parser.parse_args(argv)
    try:
        if not 0 <= args.port <= 65535:
            raise UserError(f"--port {args.port}: must be in 0..65535 (0: any free port)")
        spec = storage_spec(args.path)
        warn_if_open("hpt dashboard", args.host, "the dashboard (it can edit and delete studies)")
        serve(spec, args.host, args.port)
    except UserError as exc:
        print(f"hpt dashboard: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the port is taken, or the host is not ours (gaierror: no name)
        why = exc.strerror or str(exc)
        print(
            f"hpt dashboard: error: cannot listen on {args.host}:{args.port}: {why}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 0
    return 0
