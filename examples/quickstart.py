"""knock-async doing real work against the embedded Knock server (`make demo`).

It starts `knock_async.testing.KnockTestServer` in this process, points an `AsyncKnock` at it,
and walks through what an app does with Knock. Every step checks its result; the script exits
non-zero if any step does not do what it says. Point it at another server with
KNOCK_BASE_URL / KNOCK_API_KEY to run the same steps there.
"""

from __future__ import annotations

import asyncio
import sys
import time

from knock_async import AsyncKnock, BulkProgress, models
from knock_async.testing import ChannelStep, KnockTestServer

FEED = "in-app"
PUSH = "push-fcm"
USERS = 5_000


def step(title: str) -> None:
    print(f"\n== {title}")


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    print(f"   ok: {what}")


class ProgressBar:
    """A text progress bar, redrawn in place on a terminal; piped, a line per change."""

    def __init__(self) -> None:
        self._last = ""

    def __call__(self, progress: BulkProgress) -> None:
        total = max(progress.estimated_total_rows, 1)
        filled = int(30 * progress.processed_rows / total)
        line = f"   [{'#' * filled}{'.' * (30 - filled)}] {progress.processed_rows:>5}/{total} rows"
        if sys.stdout.isatty():
            print(f"\r{line}", end="\n" if progress.done else "", flush=True)
        elif line != self._last:  # reports that change nothing visible are not repeated
            print(line, flush=True)
        self._last = line


async def demo(knock: AsyncKnock, feed_channel: str, push_channel: str) -> None:
    step("Identify users (custom properties are kept)")
    ada = await knock.users.update(
        "ada", name="Ada Lovelace", email="ada@example.com", custom_properties={"plan": "pro"}
    )
    await knock.users.update("grace", name="Grace Hopper", email="grace@example.com")
    await knock.users.update("alan", name="Alan Turing", email="alan@example.com")
    check(
        ada.name == "Ada Lovelace" and ada.additional_properties.get("plan") == "pro",
        "ada is identified with her plan",
    )

    step("Trigger a workflow for several recipients")
    run = await knock.workflows.trigger(
        "new-comment",
        recipients=["ada", "grace", {"id": "linus", "name": "Linus", "email": "linus@example.com"}],
        actor="alan",
        data={"comment": "Looks good to me", "project": "Analytical Engine"},
    )
    check(bool(run.workflow_run_id), f"workflow run {run.workflow_run_id} started")
    linus = await knock.users.get("linus")
    check(linus.name == "Linus", "an inline identification created linus")

    step("Read Ada's feed and mark its items seen")
    page = await knock.users.feeds.list_items("ada", feed_channel)
    meta = page.data.meta
    print(f"   {len(page.items)} item(s); unseen {meta.unseen_count}, unread {meta.unread_count}")
    check(len(page.items) == 1 and meta.unseen_count == 1, "the new comment is in Ada's feed, unseen")
    message_ids = [item.id for item in page.items]
    seen = await knock.messages.batch.mark_as_seen(message_ids=message_ids)
    check(all(message.seen_at for message in seen), "the messages are marked seen")
    after = await knock.users.feeds.list_items("ada", feed_channel)
    check(after.data.meta.unseen_count == 0, "the feed's unseen count is now 0")

    step("Set preferences and channel data")
    preferences = await knock.users.set_preferences(
        "ada", "default", channel_types={"email": False, "in_app_feed": True}
    )
    check(
        preferences.channel_types is not None and preferences.channel_types.email is False,
        "email is off for Ada",
    )
    await knock.users.set_channel_data("ada", push_channel, data={"tokens": ["fcm-device-token-1"]})
    channel_data = await knock.users.get_channel_data("ada", push_channel)
    stored = channel_data.data
    check(
        isinstance(stored, models.PushChannelData) and "fcm-device-token-1" in stored.tokens,
        "Ada's push token is stored",
    )

    step(f"Bulk-identify {USERS:,} users, polling the bulk operations")
    people = [
        {"id": f"user-{n:05d}", "name": f"User {n}", "email": f"user{n}@example.com"} for n in range(USERS)
    ]
    started = time.perf_counter()
    result = await knock.bulk_operations.run_in_chunks(
        lambda chunk: knock.users.bulk.identify(users=chunk),
        people,
        on_progress=ProgressBar(),
        poll_interval=0.2,
    )
    result.raise_for_errors()
    elapsed = time.perf_counter() - started
    print(f"   {len(result.operations)} bulk operations, {elapsed:.1f} s (Tier 1 paces them at 1 per second)")
    check(
        result.success_count == USERS,
        f"{result.success_count:,} users identified, {result.error_count} errors",
    )

    step("Iterate every user with the async pager")
    count = 0
    async for _user in knock.users.list(page_size=50):
        count += 1
    check(count == USERS + 4, f"the pager saw {count:,} users, page by page")

    step("Summary")
    print(f"   runs triggered: 1; feed items seen: {len(message_ids)}; users in Knock: {count:,}")


async def main() -> int:
    async with KnockTestServer() as server:
        server.add_workflow("new-comment", [ChannelStep(FEED, "in_app_feed"), ChannelStep("email")])
        push_channel = server.add_channel(PUSH, "push")
        print(f"Embedded Knock server at {server.url}")
        async with AsyncKnock(server.api_key, base_url=server.url) as knock:
            await demo(knock, server.channel_id(FEED), push_channel)
    print("\nAll steps passed.")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
