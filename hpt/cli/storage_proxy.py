"""``hpt storage-proxy URL [--host 127.0.0.1] [--port 13000]``: Optuna's gRPC storage proxy in
front of a database, for clusters of hundreds of workers (``hydra.sweeper.storage=
grpc://HOST:PORT``): each worker then holds one gRPC channel instead of a pool of database
connections, and the proxy caches the study. It has no authentication: it binds to loopback
unless told otherwise, and says so.
"""

from __future__ import annotations

import argparse
import sys

from hpt.errors import UserError


def main(argv: list[str]) -> int:
    """``hpt storage-proxy``: serve a study storage over gRPC until interrupted."""
    from hpt.use.predict import guarded

    return guarded("hpt storage-proxy", lambda: _serve(argv))


def _serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hpt storage-proxy", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the study database (postgresql://..., mysql://...)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: loopback only)"
    )
    parser.add_argument("--port", type=int, default=13000)
    args = parser.parse_args(argv)
    from hpt.cli.dashboard import warn_if_open
    from hpt.masking import mask_url
    from hpt.storage import is_url, open_storage

    if not is_url(args.url) or args.url.startswith("grpc://"):
        raise UserError(f"hpt storage-proxy {args.url}: give the database URL the proxy serves")
    if not 0 < args.port < 65536:
        raise UserError(f"--port {args.port}: must be in 1..65535")
    import optuna

    storage = open_storage(args.url)
    warn_if_open("hpt storage-proxy", args.host, "the proxy (it reads and writes every study)")
    print(
        f"hpt storage-proxy: serving {mask_url(args.url)} on grpc://{args.host}:{args.port} "
        "(no authentication: keep it on a trusted network)",
        file=sys.stderr,
        flush=True,
    )
    try:
        optuna.storages.run_grpc_proxy_server(storage, host=args.host, port=args.port)
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:  # gRPC's only word for a port in use or a host not ours
        if "Failed to bind" not in str(exc):
            raise
        raise UserError(
            f"cannot listen on {args.host}:{args.port}: the port is in use, or the host is not "
            "an address of this machine"
        ) from None
    return 0
