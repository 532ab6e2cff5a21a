"""Run the embedded Knock server as a dev server: `knock-async-server --port 4010`.

(`python -m knock_async.testing` is the same.) Prints the URL, the keys, the workflows and
guides it knows, the id of each channel, and the variables that point an app at it; then
logs one line per request (`--quiet` silences them) until interrupted (Ctrl-C or SIGTERM).
Without `--workflow` it declares the workflows the README's examples trigger, so they work
as written; `--guide` declares in-app guides. With `--enhanced-security`, publishable keys
need user tokens signed with the server's signing key, which it reads from (or, the first
time, writes to) `--signing-key-file`, or else writes to a new private file whose path it
prints and which it removes when it stops. `--webhook URL` sends message events to URL, signed with
a generated secret written to a private file whose path it prints (removed when it stops too).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from ._bulk import BulkPace
from ._ratelimit import RateLimits
from ._server import DEFAULT_PUBLISHABLE_KEY, DEFAULT_SECRET_KEY, KnockTestServer
from ._webhooks import new_secret

# What the README's snippets trigger; `--workflow` replaces them.
DEFAULT_WORKFLOWS = ("new-comment=in_app_feed,email", "order-placed=email")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.signing_key_file is not None and not args.enhanced_security:
        parser.error("--signing-key-file needs --enhanced-security")
    for option, specs in (("--workflow", args.workflow), ("--guide", args.guide)):
        for spec in specs:
            if not spec.partition("=")[0]:
                parser.error(f"{option} {spec!r}: give a key, e.g. {option} KEY=...")
    return args


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="knock-async-server", description=__doc__.splitlines()[0])
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
    parser.add_argument(
        "--guide",
        action="append",
        default=[],
        metavar="KEY=STEP[,STEP...]",
        help="declare an in-app guide on the `guides` channel, e.g. onboarding=welcome,tour (repeatable)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    parser.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="allow browsers on this origin only, e.g. http://localhost:3000 (repeatable); default: any",
    )
    parser.add_argument("--bulk-step", type=float, default=0.5, help="seconds per bulk-operation step")
    _add_security_and_webhooks(parser)
    return parser


def _add_security_and_webhooks(parser: argparse.ArgumentParser) -> None:
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
    parser.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="POST message events to URL as Knock's outbound webhooks do (repeatable; one secret for all)",
    )


def signing_key_in(path: Path | None) -> str | None:
    """The signing key stored at `path`, if there is one (else the server generates one)."""
    return path.read_text() if path is not None and path.exists() else None


@contextlib.contextmanager
def saved_signing_key(server: KnockTestServer, path: Path | None) -> Iterator[Path]:
    """Where the app under test finds the signing key: written there, readable by this user only.

    A file the server made up (no `--signing-key-file`) is removed when it stops; a file you
    named stays, so the next run signs with the same key.
    """
    if path is not None:
        if not path.exists():
            _write_private(path, server.signing_key)
        yield path
        return
    with private_temp_file("signing-key.pem", server.signing_key) as made_up:
        yield made_up


@contextlib.contextmanager
def private_temp_file(name: str, text: str) -> Iterator[Path]:
    """A new file readable by this user only, holding `text`, removed when the block ends."""
    directory = Path(tempfile.mkdtemp(prefix="knock-test-server-"))
    try:
        yield _write_private(directory / name, text)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _write_private(path: Path, text: str) -> Path:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    return path


def build_server(args: argparse.Namespace) -> KnockTestServer:
    server = KnockTestServer(
        host=args.host,
        port=args.port,
        secret_key=args.secret_key,
        publishable_key=args.publishable_key,
        rate_limits=RateLimits.off() if args.no_rate_limits else RateLimits(),
        bulk=BulkPace(mode="time", step=args.bulk_step),
        enhanced_security=args.enhanced_security,
        signing_key=signing_key_in(args.signing_key_file),
        cors_origins=args.cors_origin,
    )
    for spec in args.workflow or DEFAULT_WORKFLOWS:
        key, _, types = spec.partition("=")
        server.add_workflow(key, [t for t in types.split(",") if t] or ["in_app_feed"])
    for spec in args.guide:
        key, _, steps = spec.partition("=")
        server.add_guide(key, [s for s in steps.split(",") if s] or ["step_1"])
    return server


async def serve(args: argparse.Namespace) -> None:
    server = build_server(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    webhook_secret = new_secret()
    for url in args.webhook:
        server.add_webhook(url, secret=webhook_secret)
    async with server:
        with contextlib.ExitStack() as cleanup:
            key_file = secret_file = None
            if server.enhanced_security:
                key_file = cleanup.enter_context(saved_signing_key(server, args.signing_key_file))
            if args.webhook:
                secret_file = cleanup.enter_context(private_temp_file("webhook-secret", webhook_secret))
            print(banner(server, key_file, secret_file), flush=True)
            _log_requests(quiet=args.quiet)
            await stop.wait()


def _log_requests(*, quiet: bool) -> None:
    """One line per request on stdout (the server's request log), unless `quiet`."""
    log = logging.getLogger("knock_async.testing.requests")
    if quiet:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def banner(server: KnockTestServer, key_file: Path | None, webhook_secret_file: Path | None = None) -> str:
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
    for guide in server.state.guides.values():
        steps = ", ".join(step.ref for step in guide.steps)
        lines.append(f"  guide:           {guide.key} ({steps}) on channel {guide.channel}")
    lines += [f"  channel:         {key} id {channel_id}" for key, channel_id in channel_ids(server)]
    if webhook_secret_file is not None:  # the path only, as for the signing key
        lines += [f"  webhook:         {webhook.url}" for webhook in server.webhooks]
        lines += [
            f"  webhook secret:  {webhook_secret_file}",
            f'  for the receiver: export KNOCK_WEBHOOK_SECRET="$(cat {webhook_secret_file})"',
        ]
    lines += [
        "Other workflow keys answer 404 workflow_missing: declare them with --workflow KEY=TYPE[,TYPE...].",
        "Point an app (AsyncKnock() reads these) at this server:",
        f"  export KNOCK_BASE_URL={server.url}",
        f"  export KNOCK_API_KEY={server.secret_key}",
    ]
    return "\n".join(lines)


def channel_ids(server: KnockTestServer) -> list[tuple[str, str]]:
    """Each channel's key and id: what a client passes as the feed (or guide) channel id."""
    found = {channel.key: channel.id for channel in server.state.channels.values()}
    for guide in server.state.guides.values():
        found.setdefault(guide.channel, guide.channel_id)
    return sorted(found.items())


def main(argv: Sequence[str] | None = None) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
