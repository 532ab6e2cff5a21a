"""Bulk operations: waiting for one to finish, and running inputs larger than one call allows.

Knock answers a bulk call (e.g. `users.bulk.identify`) with a BulkOperation that runs in the
background; `bulk_operations.get` reports its progress. The generated `bulk_operations`
namespace inherits `BulkOperationsBase` and supplies `get`; everything else is here. This
module knows the BulkOperation model only through the `BulkOperationLike` protocol.
"""

from __future__ import annotations

import abc
import asyncio
import itertools
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, Sequence, Sized
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar

import attrs

from ._clock import Elapsed, within
from ._errors import KnockError
from ._types import RequestOptions, Unset

if TYPE_CHECKING:
    from ._transport import Transport

MAX_BULK_ITEMS: Final = 1000  # entities Knock accepts in one bulk call
DEFAULT_MAX_CONCURRENCY: Final = 4
BACKOFF: Final = 1.5  # each poll waits this much longer than the previous one, up to the max


class BulkErrorItem(Protocol):
    """One entity a bulk operation could not process (the models may also carry `collection`)."""

    @property
    def id(self) -> str: ...


class BulkOperationLike(Protocol):
    """What this module reads from the generated BulkOperation model.

    The counts may be UNSET (read as 0) so the model can keep any of them optional; a model
    whose fields are plain `int` and `list` fits too.
    """

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...  # a str enum: queued, processing, completed, failed, or newer
    @property
    def processed_rows(self) -> int | Unset: ...
    @property
    def estimated_total_rows(self) -> int | Unset: ...
    @property
    def success_count(self) -> int | Unset: ...
    @property
    def error_count(self) -> int | Unset: ...
    @property
    def error_items(self) -> Sequence[BulkErrorItem] | Unset: ...


B = TypeVar("B", bound=BulkOperationLike)
E = TypeVar("E")


class BulkOperationFailedError(KnockError):
    """The bulk operation ended with status `failed`; `operation` is its final state."""

    def __init__(self, operation: BulkOperationLike) -> None:
        self.operation = operation
        self.error_items: list[Any] = _items(operation)
        super().__init__(
            f"bulk operation {operation.id} failed: {_n(operation.processed_rows)} of "
            f"{_n(operation.estimated_total_rows)} rows processed, {_n(operation.error_count)} errors"
        )


class BulkOperationTimeoutError(KnockError, TimeoutError):
    """The bulk operation did not finish in time; `operation` is the last state seen (if any).

    It may still finish later: wait again with `bulk_operations.wait(err.bulk_operation_id)`.
    (`operation_id`, as on every KnockError, names the API operation of a failed request.)
    """

    def __init__(self, bulk_operation_id: str, timeout: float, operation: BulkOperationLike | None) -> None:
        self.bulk_operation_id = bulk_operation_id
        self.timeout = timeout
        self.operation = operation
        status = f" (last status: {operation.status})" if operation is not None else ""
        super().__init__(f"bulk operation {bulk_operation_id} did not finish within {timeout:g} s{status}")


@attrs.frozen
class ChunkFailure(Generic[E, B]):
    """A chunk that did not complete: its items (to retry them), why, and its operation if
    one was created (failed, or still running when the wait timed out)."""

    index: int
    items: list[E]
    error: KnockError
    operation: B | None


@attrs.frozen
class BulkProgress:
    """Progress of `run_in_chunks`, summed over the chunks submitted so far."""

    processed_rows: int
    estimated_total_rows: int
    success_count: int
    error_count: int
    chunks_submitted: int
    chunks_finished: int
    done: bool = False  # True on the last report

    @classmethod
    def of(cls, op: BulkOperationLike) -> BulkProgress:
        """The progress of one operation, as `bulk_operations.wait` reports it."""
        done = _finished(op)
        return cls(
            processed_rows=_n(op.processed_rows),
            estimated_total_rows=_n(op.estimated_total_rows),
            success_count=_n(op.success_count),
            error_count=_n(op.error_count),
            chunks_submitted=1,
            chunks_finished=int(done),
            done=done,
        )

    def __str__(self) -> str:
        # One readable line, so that `on_progress=print` is useful as it is.
        total = self.estimated_total_rows
        share = f" ({100 * self.processed_rows // total}%)" if total else ""
        state = "done" if self.done else f"{self.chunks_finished}/{self.chunks_submitted} chunks finished"
        return f"{self.processed_rows:,}/{total:,} rows{share}, {self.error_count:,} errors, {state}"


@attrs.frozen
class BulkResult(Generic[E, B]):
    """Everything `run_in_chunks` did: one failed chunk never hides the others' results.

    `operations` holds the last state of every operation created, in input order; `failures`
    the chunks that did not complete. Call `raise_for_errors()` to turn any failure or row
    error into an exception.
    """

    operations: list[B]
    failures: list[ChunkFailure[E, B]]

    @property
    def estimated_total_rows(self) -> int:
        return sum(_n(op.estimated_total_rows) for op in self.operations)

    @property
    def processed_rows(self) -> int:
        return sum(_n(op.processed_rows) for op in self.operations)

    @property
    def success_count(self) -> int:
        return sum(_n(op.success_count) for op in self.operations)

    @property
    def error_count(self) -> int:
        return sum(_n(op.error_count) for op in self.operations)

    @property
    def error_items(self) -> list[Any]:
        """Every entity Knock reported as not processed, across all operations.

        Typed `Any` so the generated error-item model's own fields (`collection`) stay usable.
        """
        return [item for op in self.operations for item in _items(op)]

    @property
    def failed_operations(self) -> list[B]:
        return [op for op in self.operations if op.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failures and self.error_count == 0

    def raise_for_errors(self) -> None:
        """Raise `BulkRunError` if a chunk failed or Knock reported row errors."""
        if not self.ok:
            raise BulkRunError(self)


class BulkRunError(KnockError):
    """`BulkResult.raise_for_errors()`: some chunks failed or some rows were not processed."""

    def __init__(self, result: BulkResult[Any, Any]) -> None:
        self.result = result
        super().__init__(
            f"{len(result.failures)} chunks failed, Knock reported {result.error_count} rows with errors"
        )


def _n(count: int | Unset) -> int:
    return 0 if isinstance(count, Unset) else count


def _items(op: BulkOperationLike) -> list[Any]:
    return [] if isinstance(op.error_items, Unset) else list(op.error_items)


def _finished(op: BulkOperationLike) -> bool:
    return op.status in ("completed", "failed")


def _outcome(op: B) -> B:
    if op.status == "failed":
        raise BulkOperationFailedError(op)
    return op


class BulkOperationsBase(abc.ABC, Generic[B]):
    """The hand-written half of the `bulk_operations` namespace.

    The generated half sets `_transport`; its clock times the polls.
    """

    _transport: Transport

    @abc.abstractmethod
    async def get(self, id: str, *, options: RequestOptions | None = None) -> B:
        """Fetch a bulk operation (generated)."""

    async def wait(
        self,
        operation: B | str,
        *,
        timeout: float = 300.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 5.0,
        on_progress: Callable[[BulkProgress], object] | None = None,
        options: RequestOptions | None = None,
    ) -> B:
        """Poll until the operation is completed, and return it in that state.

        The wait between polls starts at `poll_interval` and grows 1.5x per poll up to
        `max_poll_interval`. `on_progress` gets a `BulkProgress` after every poll (its `str`
        is one readable line, so `on_progress=print` works).

        Raises:
            BulkOperationFailedError: the operation ended `failed`.
            BulkOperationTimeoutError: not finished after `timeout` seconds (a TimeoutError).
        """
        on_poll = None if on_progress is None else lambda op: on_progress(BulkProgress.of(op))
        return await self._wait(operation, timeout, poll_interval, max_poll_interval, on_poll, options)

    async def _wait(
        self,
        operation: B | str,
        timeout: float,
        poll_interval: float,
        max_poll_interval: float,
        on_poll: Callable[[B], object] | None,
        options: RequestOptions | None = None,
    ) -> B:
        """`wait`, reporting each polled operation itself (`run_in_chunks` sums them up)."""
        if poll_interval <= 0 or max_poll_interval < poll_interval:
            raise ValueError("need 0 < poll_interval <= max_poll_interval")
        if isinstance(operation, str):
            return await self._poll(
                operation, None, timeout, poll_interval, max_poll_interval, on_poll, options
            )
        if _finished(operation):
            return _outcome(operation)
        return await self._poll(
            operation.id, operation, timeout, poll_interval, max_poll_interval, on_poll, options
        )

    async def _poll(
        self,
        bulk_operation_id: str,
        latest: B | None,
        timeout: float,
        interval: float,
        max_interval: float,
        on_poll: Callable[[B], object] | None,
        options: RequestOptions | None,
    ) -> B:
        """Ask until the operation is finished, waiting longer each time, within `timeout`
        on the client's clock."""
        clock = self._transport.clock
        deadline = clock.monotonic() + timeout
        while latest is None or not _finished(latest):
            left = deadline - clock.monotonic()
            if latest is not None:  # an operation in hand: give Knock time before asking
                if left <= 0:
                    raise BulkOperationTimeoutError(bulk_operation_id, timeout, latest)
                await clock.sleep(min(interval, left))
                interval = min(interval * BACKOFF, max_interval)
                left = deadline - clock.monotonic()
            try:
                latest = await within(max(left, 0.0), self.get(bulk_operation_id, options=options))
            except Elapsed:
                raise BulkOperationTimeoutError(bulk_operation_id, timeout, latest) from None
            if on_poll is not None:
                on_poll(latest)
        return _outcome(latest)

    async def run_in_chunks(
        self,
        submit: Callable[[list[E]], Awaitable[B]],
        items: Iterable[E],
        *,
        chunk_size: int = MAX_BULK_ITEMS,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        timeout: float = 300.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 5.0,
        on_progress: Callable[[BulkProgress], object] | None = None,
    ) -> BulkResult[E, B]:
        """Submit `items` in chunks of at most `chunk_size`, wait for them all, sum them up.

        `submit` makes one bulk call for one chunk, e.g.
        `lambda chunk: knock.users.bulk.identify(users=chunk)`. At most `max_concurrency`
        chunks are between submission and completion at a time (the rate limiter spaces the
        submissions at the endpoint's tier); `items` is read lazily, a chunk at a time.
        `timeout` applies to each chunk's wait.

        A chunk whose call raises a KnockError, whose operation fails or times out, is recorded
        in `BulkResult.failures` and the others go on: check the result, or call
        `result.raise_for_errors()`. Any other exception (a bug in `submit`, say) stops the
        run and propagates.
        """
        _check_chunking(chunk_size, max_concurrency)
        progress = _ProgressTracker(len(items) if isinstance(items, Sized) else None, on_progress)
        chunks = enumerate(_chunked(items, chunk_size))
        operations: dict[int, B] = {}
        failures: list[ChunkFailure[E, B]] = []
        polling = (timeout, poll_interval, max_poll_interval)

        async def worker() -> None:
            # The workers share one iterator: each chunk is taken by exactly one of them.
            for index, chunk in chunks:
                progress.submitted(index, len(chunk))
                failure = await self._run_chunk(submit, index, chunk, polling, operations, progress)
                if failure is not None:
                    failures.append(failure)
                progress.finished()

        await _all_or_none(worker() for _ in range(max_concurrency))
        progress.report(done=True)
        return BulkResult(
            operations=[operations[i] for i in sorted(operations)],
            failures=sorted(failures, key=lambda failure: failure.index),
        )

    async def _run_chunk(
        self,
        submit: Callable[[list[E]], Awaitable[B]],
        index: int,
        chunk: list[E],
        polling: tuple[float, float, float],
        operations: dict[int, B],
        progress: _ProgressTracker,
    ) -> ChunkFailure[E, B] | None:
        """Submit one chunk and wait for its operation; a KnockError makes it a failure."""

        def seen(op: B) -> None:
            operations[index] = op  # the latest state, kept even if the chunk fails later
            progress.update(index, op)

        try:
            created = await submit(chunk)
            seen(created)
            await self._wait(created, *polling, seen)
        except KnockError as exc:
            return ChunkFailure(index=index, items=chunk, error=exc, operation=operations.get(index))
        return None


def _check_chunking(chunk_size: int, max_concurrency: int) -> None:
    if not 1 <= chunk_size <= MAX_BULK_ITEMS:
        raise ValueError(f"chunk_size must be 1 to {MAX_BULK_ITEMS} (Knock's limit), got {chunk_size}")
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")


async def _all_or_none(workers: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run the workers together; when one fails (or we are cancelled), stop the rest."""
    tasks = [asyncio.ensure_future(worker) for worker in workers]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _chunked(items: Iterable[E], size: int) -> Iterator[list[E]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class _ProgressTracker:
    """Sums the latest state of every chunk's operation into one `BulkProgress`."""

    def __init__(self, total_items: int | None, callback: Callable[[BulkProgress], object] | None) -> None:
        self._total_items = total_items or 0
        self._callback = callback
        self._rows: dict[int, int] = {}
        self._ops: dict[int, BulkOperationLike] = {}
        self._finished = 0

    def submitted(self, index: int, rows: int) -> None:
        self._rows[index] = rows

    def update(self, index: int, op: BulkOperationLike) -> None:
        self._ops[index] = op
        self.report()

    def finished(self) -> None:
        self._finished += 1

    def report(self, *, done: bool = False) -> None:
        if self._callback is None:
            return
        ops = self._ops.values()
        # Before Knock has counted a chunk's rows, the chunk's own length stands in.
        estimated = sum(
            max(rows, _n(self._ops[i].estimated_total_rows) if i in self._ops else 0)
            for i, rows in self._rows.items()
        )
        self._callback(
            BulkProgress(
                processed_rows=sum(_n(op.processed_rows) for op in ops),
                estimated_total_rows=max(estimated, self._total_items),
                success_count=sum(_n(op.success_count) for op in ops),
                error_count=sum(_n(op.error_count) for op in ops),
                chunks_submitted=len(self._rows),
                chunks_finished=self._finished,
                done=done,
            )
        )
