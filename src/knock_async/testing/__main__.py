"""Run the embedded Knock server as a process: `python -m knock_async.testing --port 4010`.

Prints the URL, the keys, the workflows it knows and the variables that point an app at it,
then serves until interrupted (Ctrl-C or SIGTERM). Without `--workflow` it declares the
workflows the README's examples trigger, so they work as written.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from ._bulk import BulkProgress
from ._ratelimit import RateLimits
from ._server import DEFAULT_PUBLISHABLE_KEY, DEFAULT_SECRET_KEY, KnockTestServer

# What the README's snippets trigger; `--workflow` replaces them.
DEFAULT_WORKFLOWS = ("new-comment=in_app_feed,email", "order-placed=email")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m knock_async.testing", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010, help="0 picks a free port")
    parser.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    parser.add_argument("--publishable-key", default=DEFAULT_PUBLISHABLE_KEY)
    parser.add_argument("--no-rate-limits", action="store_true", help="do not enforce Knock's rate tiers")
    parser.add_argument(
        "--workflow",
        action="append",
        default=[],
        metavar="KEY=TYPE[,TYPE...]",
        help="declare a workflow, e.g. new-comment=in_app_feed,email (repeatable); "
        f"default: {' '.join(DEFAULT_WORKFLOWS)}",
    )
    parser.add_argument("--bulk-step", type=float, default=0.5, help="seconds per bulk-operation step")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    server = KnockTestServer(
        host=args.host,
        port=args.port,
        secret_key=args.secret_key,
        publishable_key=args.publishable_key,
        rate_limits=RateLimits.off() if args.no_rate_limits else RateLimits(),
        bulk=BulkProgress(mode="time", step=args.bulk_step),
    )
    for spec in args.workflow or DEFAULT_WORKFLOWS:
        key, _, types = spec.partition("=")
        server.add_workflow(key, [t for t in types.split(",") if t] or ["in_app_feed"])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    async with server:
        print(banner(server), flush=True)
        await stop.wait()


def banner(server: KnockTestServer) -> str:
    lines = [
        f"Knock test server listening on {server.url}",
        f"  secret key:      {server.secret_key}",
        f"  publishable key: {server.publishable_key}",
    ]
    lines += [
        f"  workflow:        {workflow.key} ({', '.join(step.type for step in workflow.steps)})"
        for workflow in server.state.workflows.values()
    ]
    lines += [
        "Other workflow keys answer 404 workflow_missing: declare them with --workflow KEY=TYPE[,TYPE...].",
        "Point an app (AsyncKnock() reads these) at this server:",
        f"  export KNOCK_BASE_URL={server.url}",
        f"  export KNOCK_API_KEY={server.secret_key}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
