"""mypy --strict on user code calling `knock.request`: `model=` types the result, `tier` is required."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import type_check

SOURCE = """
from typing import Any

from knock_async import AsyncKnock, RequestOptions, models

async def main() -> None:
    async with AsyncKnock("sk_test") as knock:
        user: models.User = await knock.request("GET", "/v1/users/u1", tier=4, model=models.User)
        raw: Any = await knock.request("PUT", "/v1/users/u1", tier=3, body={"name": "Ada"})
        await knock.users.list(options=RequestOptions(extra_query={"a": 1}, extra_body=None))
        print(user.name, raw)
        wrong: models.Tenant = await knock.request("GET", "/v1/users/u1", tier=4, model=models.User)
        await knock.request("GET", "/v1/users/u1")
"""


def test_the_model_types_the_result_and_the_tier_is_required(tmp_path: Path) -> None:
    stdout, status = type_check(tmp_path, SOURCE)
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert status == 1
    assert len(errors) == 2, stdout
    # mypy infers T from the assignment's target, so it flags the model given for a Tenant
    assert (
        ':12: error: Argument "model" to "request" of "AsyncKnock" has incompatible type "type[User]"'
        in errors[0]
    )
    assert ':13: error: No overload variant of "request" of "AsyncKnock" matches' in errors[1]  # no tier
