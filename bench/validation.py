"""What the declared-kind checks cost per call: `_encode.check_kinds`, the refusal of a value
whose JSON kind the document does not allow (top level, one level into lists).

Each case hands the check what the generated method hands the transport: every declared
parameter, UNSET where the caller gave nothing. Target: at most 2 µs a call for the calls
people make most (the trigger with three recipients, a user update, a list page). A
1000-recipient trigger is shown beside them: its items are checked one by one.

    python -m bench.validation
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from typing import Any, Final

import attrs

from knock_async._encode import check_kinds, plan_for
from knock_async._types import UNSET, Operation
from knock_async.resources.users import _USERS_LIST, _USERS_UPDATE
from knock_async.resources.workflows import _WORKFLOWS_TRIGGER

from . import verdict

TARGET_US: Final = 2.0
CALLS: Final = 20_000  # per repetition
REPETITIONS: Final = 7


@attrs.frozen
class Case:
    title: str
    op: Operation[Any]
    query: Mapping[str, Any] | None = None
    body: Mapping[str, Any] | None = None
    targeted: bool = True  # whether the 2 µs target applies


@attrs.frozen
class Result:
    case: Case
    microseconds: float  # median over the repetitions, per call


def _declared(names: tuple[tuple[str, str], ...], given: Mapping[str, Any]) -> dict[str, Any]:
    return {name: given.get(name, UNSET) for name, _ in names}


def cases() -> list[Case]:
    trigger = _WORKFLOWS_TRIGGER.body_kinds
    recipients = ["user-1", "user-2", {"id": "user-3", "name": "Ada"}]
    return [
        Case(
            "workflows.trigger, 3 recipients and data",
            _WORKFLOWS_TRIGGER,
            body=_declared(trigger, {"recipients": recipients, "actor": "user-0", "data": {"order": 42}}),
        ),
        Case(
            "users.update, name, email and locale",
            _USERS_UPDATE,
            body=_declared(
                _USERS_UPDATE.body_kinds, {"name": "Ada", "email": "ada@example.com", "locale": "en"}
            ),
        ),
        Case(
            "users.list, page_size",
            _USERS_LIST,
            query=_declared(_USERS_LIST.query_kinds, {"page_size": 50}),
        ),
        Case(
            "workflows.trigger, 1000 recipients (items checked one by one)",
            _WORKFLOWS_TRIGGER,
            body=_declared(trigger, {"recipients": [f"user-{i}" for i in range(1000)]}),
            targeted=False,
        ),
    ]


def measure(case: Case, calls: int = CALLS, repetitions: int = REPETITIONS) -> Result:
    plan = plan_for(case.op)
    query, body = case.query, case.body
    if not case.targeted:
        calls = max(1, calls // 100)
    times = []
    for _ in range(repetitions):
        started = time.perf_counter()
        for _ in range(calls):
            check_kinds(plan, query, body)
        times.append((time.perf_counter() - started) / calls * 1e6)
    return Result(case, statistics.median(times))


def run_validation(scale: float = 1.0) -> list[Result]:
    """The function `python -m bench` calls: every case, measured."""
    return [measure(case, calls=max(1, int(CALLS * scale))) for case in cases()]


def report(results: list[Result]) -> str:
    lines = ["Declared-kind checks per call (_encode.check_kinds, median of the repetitions)"]
    for result in results:
        lines.append(f"  {result.case.title:<64} {result.microseconds:7.2f} µs")
    worst = max(result.microseconds for result in results if result.case.targeted)
    outcome = verdict(worst <= TARGET_US)
    lines.append(f"  target: at most {TARGET_US:g} µs a call (worst targeted case {worst:.2f} µs): {outcome}")
    return "\n".join(lines)


def validation_report(scale: float = 1.0) -> str:
    """Measure every case and report it with its met/MISSED line: what `make bench` prints."""
    return report(run_validation(scale))


if __name__ == "__main__":
    print(validation_report())
