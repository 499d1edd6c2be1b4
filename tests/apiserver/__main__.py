"""python -m tests.apiserver --kubeconfig PATH [--port N] [--istio VERSION|none] [--revision NAME=VERSION ...] [--outbound-policy ALLOW_ANY|REGISTRY_ONLY] [--ambient]

Serves a local cluster on 127.0.0.1, writes a kubeconfig for it (contexts
`local` and `local-readonly`), prints `ready <url>` once it serves, and stops
cleanly on SIGINT or SIGTERM.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from . import LocalAPIServer
from .istio import OUTBOUND_POLICIES, parse_revision


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.apiserver", description=__doc__.split("\n\n")[1])
    parser.add_argument("--kubeconfig", required=True, type=Path, help="where to write the kubeconfig")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--istio", default="1.20",
                        help="Istio version of the default revision (1.20, 1.22, 1.24, 1.28, ...), "
                             "or 'none' (default 1.20)")
    parser.add_argument("--revision", action="append", default=[], metavar="NAME=VERSION",
                        help="another control plane, istiod-NAME, picked by namespaces labelled "
                             "istio.io/rev=NAME (repeatable)")
    parser.add_argument("--outbound-policy", choices=OUTBOUND_POLICIES, type=str.upper,
                        help="meshConfig.outboundTrafficPolicy.mode of every revision (Istio's default: ALLOW_ANY)")
    parser.add_argument("--ambient", action="store_true",
                        help="install ztunnel and istio-cni, and enroll namespace default in ambient mode")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    istio = None if args.istio.lower() == "none" else args.istio
    try:
        revisions = [parse_revision(text) for text in args.revision]
        if len({r.name for r in revisions}) != len(revisions):
            raise ValueError("--revision: each NAME once")
        srv = LocalAPIServer(args.kubeconfig, istio=istio, port=args.port,
                             revisions={r.name: r.version for r in revisions},
                             outbound_policy=args.outbound_policy, ambient=args.ambient)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    srv.server.verbose = args.verbose
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    srv.start()
    print(f"ready {srv.url}", flush=True)
    stop.wait()
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
