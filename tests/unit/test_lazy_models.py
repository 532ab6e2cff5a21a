"""Models are built on first use: `import knock_async` builds none of them."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import pytest

from knock_async import models
from knock_async._types import Deferred, Operation


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_the_sdk_and_making_a_client_builds_no_model() -> None:
    out = _run(
        """
        import sys
        import knock_async
        from knock_async import AsyncKnock, models
        AsyncKnock("sk_test", rate_limiter=None)
        print("knock_async.models._models" in sys.modules)
        models.User
        print("knock_async.models._models" in sys.modules)
        """
    )
    assert out.splitlines() == ["False", "True"]


def test_a_model_builds_only_what_it_needs() -> None:
    out = _run(
        """
        import sys
        from knock_async import models
        from knock_async._reading import Drift, read
        read({"id": "u1", "updated_at": "2024-05-02T15:04:05Z"}, models.User, Drift(strict=True))
        print(sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("knock_async.models._models.")))
        print("cattrs" in sys.modules)  # a response is read without it
        models.ListFeedItemsResponse
        print(len([m for m in sys.modules if m.startswith("knock_async.models._models.")]))
        """
    )
    first, cattrs_imported, after_feed = out.splitlines()
    assert first == "['User']"
    assert cattrs_imported == "False"
    assert 5 < int(after_feed) < len(models.__all__) / 4


def test_every_model_is_a_name_of_the_package() -> None:
    assert set(models.__all__) <= set(dir(models))
    for name in models.__all__:
        module = importlib.import_module(f"knock_async.models._models.{name}")
        assert getattr(models, name) is getattr(module, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchModel"):
        models.NoSuchModel  # noqa: B018
    with pytest.raises(AttributeError):
        models.__wrapped__  # noqa: B018


def test_a_deferred_response_type_is_looked_up_once_on_first_use() -> None:
    lookups: list[int] = []

    def lookup() -> type:
        lookups.append(1)
        return models.User

    where = {"id": "users.get", "method": "GET", "path": "/v1/users/{user_id}", "tier": 4}
    op: Operation[models.User] = Operation(**where, response=Deferred(lookup))
    before = hash(op)
    assert lookups == []
    assert op.response is models.User
    assert op.response is models.User
    assert lookups == [1]
    # Resolving changes neither equality nor hash (an operation may be a dict key).
    assert hash(op) == before
    assert op == Operation(**where, response=models.User)
