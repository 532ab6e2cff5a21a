"""Bulk operations: the job moves queued -> processing -> completed, applying its rows as it goes.

Each row is a small action that changes the state and returns an error item when the row is
invalid (a user without an id, say), so `processed_rows`, `success_count`, `error_count` and
`error_items` come out of actually doing the work. How the job advances is configurable:

- "time":    one step every `step` seconds of the server's clock (the default; with
             `ManualClock` a test moves it with `advance()`),
- "poll":    one step on each GET of the operation (deterministic, no timers),
- "instant": the job is completed before the response that creates it.

The first step starts processing and applies the first half of the rows; the second applies
the rest and completes the job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import attrs

from ._clock import ServerClock, TimerHandle, isoformat
from ._errors import KnockHTTPError
from ._records import JSONDict
from ._state import State

# A row of the job: apply it; return an error item ({"id", "collection"}) if it was invalid.
Row = Callable[[], "JSONDict | None"]
BulkMode = Literal["time", "poll", "instant"]


@attrs.frozen
class BulkPace:
    """How fast the server advances its bulk jobs: one row per `step` seconds ("time"), one
    row per poll of the job ("poll"), or all at once ("instant"). (Not the client's
    `knock_async.BulkProgress`, the progress report a bulk call hands its callback.)"""

    mode: BulkMode = "time"
    step: float = 0.05  # seconds per step in "time" mode


@attrs.define
class BulkOperation:
    seq: int
    id: str
    name: str
    rows: Sequence[Row]
    inserted_at: str
    updated_at: str
    base_url: str  # progress_path is an absolute URL on this server
    status: str = "queued"
    processed: int = 0
    success: int = 0
    error_items: list[JSONDict] = attrs.field(factory=list)
    started_at: str | None = None
    completed_at: str | None = None

    def view(self) -> JSONDict:
        return {
            "__typename": "BulkOperation",
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "estimated_total_rows": len(self.rows),
            "processed_rows": self.processed,
            "success_count": self.success,
            "error_count": len(self.error_items),
            "error_items": list(self.error_items),
            "progress_path": f"{self.base_url}/v1/bulk_operations/{self.id}",
            "inserted_at": self.inserted_at,
            "updated_at": self.updated_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "failed_at": None,
        }


class BulkRunner:
    def __init__(
        self, state: State, clock: ServerClock, progress: BulkPace, new_id: Callable[[], str]
    ) -> None:
        self.state = state
        self.clock = clock
        self.progress = progress
        self._new_id = new_id
        self.operations: dict[str, BulkOperation] = {}
        self.base_url = "http://127.0.0.1"  # the server sets its own once it listens
        self._timers: dict[str, TimerHandle] = {}

    def start(self, name: str, rows: Sequence[Row]) -> BulkOperation:
        now = isoformat(self.clock.now())
        operation = BulkOperation(
            self.state.next_seq(), self._new_id(), name, list(rows), now, now, self.base_url
        )
        self.operations[operation.id] = operation
        if self.progress.mode == "instant":
            self.step(operation)
            self.step(operation)
        elif self.progress.mode == "time":
            self._schedule(operation)
        return operation

    def polled(self, operation: BulkOperation) -> None:
        if self.progress.mode == "poll":
            self.step(operation)

    def step(self, operation: BulkOperation) -> None:
        """Advance the job one state: start processing (first half of rows), then complete."""
        now = isoformat(self.clock.now())
        if operation.status == "queued":
            operation.status, operation.started_at = "processing", now
            self._apply(operation, (len(operation.rows) + 1) // 2)
        elif operation.status == "processing":
            self._apply(operation, len(operation.rows))
            operation.status, operation.completed_at = "completed", now
        operation.updated_at = now

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _apply(self, operation: BulkOperation, upto: int) -> None:
        while operation.processed < upto:
            try:
                error = operation.rows[operation.processed]()
            except KnockHTTPError:  # a badly typed row fails alone and is reported, as a row without an id
                error = {"id": f"rows[{operation.processed}]", "collection": None}
            operation.processed += 1
            if error is None:
                operation.success += 1
            else:
                operation.error_items.append(error)

    def _schedule(self, operation: BulkOperation) -> None:
        def tick() -> None:
            self.step(operation)
            if operation.status != "completed":
                self._schedule(operation)
            else:
                self._timers.pop(operation.id, None)

        self._timers[operation.id] = self.clock.call_later(self.progress.step, tick)
