"""mypy --strict, run on code a user would write, catches wrong argument names and types."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import type_check

GOOD = """
from knock_async import AsyncKnock, models

async def main() -> None:
    async with AsyncKnock("sk_test") as knock:
        user: models.User = await knock.users.update("u1", name="Ada", custom_properties={"plan": "pro"})
        run = await knock.workflows.trigger("welcome", recipients=["u1", {"id": "u2"}], data={"a": 1})
        print(user.name, run.workflow_run_id)
        async for item in knock.users.list(page_size=50):
            print(item.id)
        page = await knock.users.feeds.list_items("u1", "feed", status="unread", mode="compact")
        print(page.items, models.PageInfo(page_size=10).typename)
"""

BAD = """
from knock_async import AsyncKnock

async def main() -> None:
    async with AsyncKnock("sk_test") as knock:
        await knock.users.update("u1", nmae="Ada")
        await knock.workflows.trigger("welcome", recipients=[42])
        await knock.users.get(42)
        await knock.users.feeds.list_items("u1", "feed", status="unred")
"""


def test_correct_calls_type_check(tmp_path: Path) -> None:
    stdout, status = type_check(tmp_path, GOOD)
    assert status == 0, stdout


def test_wrong_names_and_types_are_errors(tmp_path: Path) -> None:
    stdout, status = type_check(tmp_path, BAD)
    assert status == 1
    assert 'Unexpected keyword argument "nmae"' in stdout
    assert 'List item 0 has incompatible type "int"' in stdout
    assert 'Argument 1 to "get" of "Users" has incompatible type "int"' in stdout
    assert 'Argument "status" to "list_items" of "UsersFeeds" has incompatible type' in stdout  # "unred"
