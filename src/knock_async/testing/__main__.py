"""Run the embedded Knock server as a process: `python -m knock_async.testing --port 4010`.

Prints the URL, the keys, the workflows it knows and the variables that point an app at it,
then serves until interrupted (Ctrl-C or SIGTERM). Without `--workflow` it declares the
workflows the README's examples trigger, so they work as written. With
`--enhanced-security`, publishable keys need user tokens signed with the server's signing key,
which it reads from (or, the first time, writes to) `--signing-key-file`, or else writes to a
new private file whose path it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ._bulk import BulkPace
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
    parser.add_argument(
        "--enhanced-security",
        action="store_true",
        help="publishable keys need a signed X-Knock-User-Token (needs knock-async[tokens])",
    )
    parser.add_argument(
        "--signing-key-file",
        type=Path,
        metavar="PATH",
        help="the signing key (PEM or base64 PEM) to use; written there first if the file does not exist",
    )
    args = parser.parse_args(argv)
    if args.signing_key_file is not None and not args.enhanced_security:
        parser.error("--signing-key-file needs --enhanced-security")
    return args


def signing_key_in(path: Path | None) -> str | None:
    """The signing key stored at `path`, if there is one (else the server generates one)."""
    return path.read_text() if path is not None and path.exists() else None


def save_signing_key(server: KnockTestServer, path: Path | None) -> Path:
    """Where the app under test finds the signing key: written there, readable by this user only."""
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="knock-test-server-")) / "signing-key.pem"
    elif path.exists():
        return path
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(server.signing_key)
    return path


async def serve(args: argparse.Namespace) -> None:
    server = KnockTestServer(
        host=args.host,
        port=args.port,
        secret_key=args.secret_key,
        publishable_key=args.publishable_key,
        rate_limits=RateLimits.off() if args.no_rate_limits else RateLimits(),
        bulk=BulkPace(mode="time", step=args.bulk_step),
        enhanced_security=args.enhanced_security,
        signing_key=signing_key_in(args.signing_key_file),
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
        key_file = save_signing_key(server, args.signing_key_file) if server.enhanced_security else None
        print(banner(server, key_file), flush=True)
        await stop.wait()


def banner(server: KnockTestServer, key_file: Path | None) -> str:
    lines = [
        f"Knock test server listening on {server.url}",
        f"  secret key:      {server.secret_key}",
        f"  publishable key: {server.publishable_key}",
    ]
    if key_file is not None:  # the path only: the key itself is never printed
        lines += [
            f"  signing key:     {key_file} (publishable keys need user tokens)",
            f'  for your app:    export KNOCK_SIGNING_KEY="$(cat {key_file})"',
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
