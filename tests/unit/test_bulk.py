"""Waiting on bulk operations and running large inputs in chunks, against a fake Knock."""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

import knock_async._bulk as bulk
from knock_async._bulk import (
    MAX_BULK_ITEMS,
    BulkOperationFailedError,
    BulkOperationsBase,
    BulkOperationTimeoutError,
    BulkProgress,
    BulkRunError,
)
from knock_async._errors import KnockError, UnprocessableEntityError
from knock_async._types import UNSET, OpenEnum, RequestOptions, Unset

# --- a BulkOperation shaped like the generated one --------------------------------------


class Status(OpenEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


@attrs.define(kw_only=True)
class ErrorItem:
    id: str
    collection: str | None = None


@attrs.define(kw_only=True)
class Op:
    id: str
    status: Status
    processed_rows: int = 0
    estimated_total_rows: int = 0
    success_count: int = 0
    error_count: int = 0
    error_items: list[ErrorItem] = attrs.field(factory=list)


class FakeBulkOperations(BulkOperationsBase[Op]):
    """`get` answers each id with the next state of its script; the last state repeats."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Op]] = {}
        self.gets: list[str] = []
        self.options: list[RequestOptions | None] = []

    async def get(self, id: str, *, options: RequestOptions | None = None) -> Op:
        self.gets.append(id)
        self.options.append(options)
        await asyncio.sleep(0)
        script = self.scripts[id]
        return script.pop(0) if len(script) > 1 else script[0]


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Polls happen at once; the waits asked for are recorded."""
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    monkeypatch.setattr(bulk, "_sleep", record)
    return waits


def progression(op_id: str, rows: int, *, end: Status = Status.COMPLETED, errors: int = 0) -> list[Op]:
    items = [ErrorItem(id=f"{op_id}-bad-{i}", collection="users") for i in range(errors)]
    return [
        Op(id=op_id, status=Status.QUEUED, estimated_total_rows=rows),
        Op(id=op_id, status=Status.PROCESSING, processed_rows=rows // 2, estimated_total_rows=rows),
        Op(
            id=op_id,
            status=end,
            processed_rows=rows,
            estimated_total_rows=rows,
            success_count=rows - errors,
            error_count=errors,
            error_items=items,
        ),
    ]


# --- wait -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_wait_follows_queued_processing_completed(no_waiting: list[float]) -> None:
    ops = FakeBulkOperations()
    states = progression("op1", 10)
    ops.scripts["op1"] = states[1:]
    seen: list[BulkProgress] = []

    done = await ops.wait(states[0], on_progress=seen.append)

    assert done.status == Status.COMPLETED and done.processed_rows == 10
    # after every poll
    assert [(p.processed_rows, p.estimated_total_rows, p.done) for p in seen] == [
        (5, 10, False),
        (10, 10, True),
    ]
    assert str(seen[0]) == "5/10 rows (50%), 0 errors, 0/1 chunks finished"
    assert str(seen[1]) == "10/10 rows (100%), 0 errors, done"
    assert ops.gets == ["op1", "op1"]
    assert no_waiting == [0.5, 0.75]  # it waits before each poll, longer each time


@pytest.mark.asyncio
async def test_wait_by_id_polls_at_once_and_passes_options(no_waiting: list[float]) -> None:
    ops = FakeBulkOperations()
    ops.scripts["op1"] = progression("op1", 4)
    options = RequestOptions(timeout=5)
    done = await ops.wait("op1", options=options)
    assert done.status == "completed"
    assert ops.gets == ["op1"] * 3
    assert ops.options == [options] * 3
    assert no_waiting == [0.5, 0.75]  # none before the first poll


@pytest.mark.asyncio
async def test_wait_backs_off_up_to_the_max(no_waiting: list[float]) -> None:
    ops = FakeBulkOperations()
    ops.scripts["op1"] = [Op(id="op1", status=Status.PROCESSING)] * 8 + [
        Op(id="op1", status=Status.COMPLETED)
    ]
    await ops.wait(Op(id="op1", status=Status.QUEUED), poll_interval=1.0, max_poll_interval=4.0)
    assert no_waiting == pytest.approx([1.0, 1.5, 2.25, 3.375, 4.0, 4.0, 4.0, 4.0, 4.0])


@pytest.mark.asyncio
async def test_wait_returns_a_completed_operation_without_polling() -> None:
    ops = FakeBulkOperations()
    done = Op(id="op1", status=Status.COMPLETED)
    assert await ops.wait(done) is done
    assert ops.gets == []


@pytest.mark.asyncio
async def test_wait_raises_on_failed(no_waiting: list[float]) -> None:
    ops = FakeBulkOperations()
    states = progression("op1", 10, end=Status.FAILED, errors=3)
    ops.scripts["op1"] = states[1:]
    with pytest.raises(BulkOperationFailedError, match="op1 failed") as caught:
        await ops.wait(states[0])
    assert isinstance(caught.value, KnockError)
    assert caught.value.operation == states[2]
    assert [item.id for item in caught.value.error_items] == ["op1-bad-0", "op1-bad-1", "op1-bad-2"]

    with pytest.raises(BulkOperationFailedError):  # already failed: raised without polling
        await FakeBulkOperations().wait(states[2])


@pytest.mark.asyncio
async def test_wait_times_out() -> None:
    ops = FakeBulkOperations()
    ops.scripts["op1"] = [Op(id="op1", status=Status.PROCESSING, processed_rows=3)]
    with pytest.raises(BulkOperationTimeoutError, match=r"op1 did not finish within 0\.02 s") as caught:
        await ops.wait("op1", timeout=0.02, poll_interval=0.001, max_poll_interval=0.002)
    error = caught.value
    assert isinstance(error, KnockError) and isinstance(error, TimeoutError)
    assert error.operation_id == "op1" and error.timeout == 0.02
    assert error.operation is not None and error.operation.processed_rows == 3
    assert len(ops.gets) > 1


@pytest.mark.asyncio
async def test_wait_keeps_polling_through_unknown_statuses(no_waiting: list[float]) -> None:
    ops = FakeBulkOperations()
    ops.scripts["op1"] = [Op(id="op1", status=Status("paused")), Op(id="op1", status=Status.COMPLETED)]
    assert (await ops.wait("op1")).status == "completed"


@pytest.mark.asyncio
async def test_wait_refuses_bad_intervals() -> None:
    with pytest.raises(ValueError, match="poll_interval"):
        await FakeBulkOperations().wait("op1", poll_interval=0)
    with pytest.raises(ValueError, match="poll_interval"):
        await FakeBulkOperations().wait("op1", poll_interval=2, max_poll_interval=1)


@attrs.define(kw_only=True)
class SparseOp:
    """Like the generated model, where error_count and error_items are optional."""

    id: str
    status: Status
    processed_rows: int
    estimated_total_rows: int
    success_count: int
    error_count: int | Unset = UNSET
    error_items: list[ErrorItem] | Unset = UNSET


class SparseBulkOperations(BulkOperationsBase[SparseOp]):
    async def get(self, id: str, *, options: RequestOptions | None = None) -> SparseOp:
        return SparseOp(
            id=id, status=Status.FAILED, processed_rows=2, estimated_total_rows=2, success_count=2
        )


@pytest.mark.asyncio
async def test_unset_counts_and_error_items_read_as_none(no_waiting: list[float]) -> None:
    ops = SparseBulkOperations()
    with pytest.raises(BulkOperationFailedError, match="2 of 2 rows processed, 0 errors") as caught:
        await ops.wait("op1")
    assert caught.value.error_items == []

    async def submit(chunk: list[Any]) -> SparseOp:
        return SparseOp(
            id="op1", status=Status.QUEUED, processed_rows=0, estimated_total_rows=0, success_count=0
        )

    result = await ops.run_in_chunks(submit, users(2))
    assert result.error_count == 0 and result.error_items == [] and len(result.failures) == 1


# --- run_in_chunks ----------------------------------------------------------------------


class FakeBulkEndpoint:
    """A bulk endpoint: each call creates an operation whose script `ops` then plays."""

    def __init__(
        self,
        ops: FakeBulkOperations,
        *,
        fail: frozenset[int] = frozenset(),
        errors: dict[int, int] | None = None,
    ) -> None:
        self.ops = ops
        self.fail = fail  # calls (0-based) whose operation ends failed
        self.errors = errors or {}  # call -> rows that end in error
        self.chunks: list[list[Any]] = []

    async def submit(self, chunk: list[Any]) -> Op:
        call = len(self.chunks)
        self.chunks.append(chunk)
        op_id = f"op{call}"
        end = Status.FAILED if call in self.fail else Status.COMPLETED
        states = progression(op_id, len(chunk), end=end, errors=self.errors.get(call, 0))
        self.ops.scripts[op_id] = states[1:]
        await asyncio.sleep(0)
        return states[0]


def users(count: int) -> list[dict[str, str]]:
    return [{"id": f"user-{i}"} for i in range(count)]


@pytest.mark.asyncio
async def test_2500_users_go_in_three_calls_with_combined_errors(no_waiting: list[float]) -> None:
    ops = FakeBulkOperations()
    endpoint = FakeBulkEndpoint(ops, fail=frozenset({2}), errors={1: 2, 2: 1})
    reports: list[BulkProgress] = []
    people = users(2500)

    result = await ops.run_in_chunks(endpoint.submit, people, on_progress=reports.append)

    assert [len(chunk) for chunk in endpoint.chunks] == [1000, 1000, 500]
    assert [user for chunk in endpoint.chunks for user in chunk] == people  # in order, each once
    assert [op.id for op in result.operations] == ["op0", "op1", "op2"]
    assert result.estimated_total_rows == result.processed_rows == 2500
    assert result.success_count == 2497 and result.error_count == 3
    assert [item.id for item in result.error_items] == ["op1-bad-0", "op1-bad-1", "op2-bad-0"]
    assert [op.id for op in result.failed_operations] == ["op2"]

    # The failed chunk is reported with its items, so they can be sent again.
    [failure] = result.failures
    assert failure.index == 2 and failure.items == people[2000:]
    assert isinstance(failure.error, BulkOperationFailedError)
    assert failure.operation is not None and failure.operation.id == "op2"

    assert not result.ok
    with pytest.raises(BulkRunError, match="1 chunks failed, Knock reported 3 rows with errors") as caught:
        result.raise_for_errors()
    assert caught.value.result is result

    # Progress: summed over the chunks, ending with everything processed.
    assert reports[-1] == BulkProgress(
        processed_rows=2500,
        estimated_total_rows=2500,
        success_count=2497,
        error_count=3,
        chunks_submitted=3,
        chunks_finished=3,
        done=True,
    )
    assert all(report.estimated_total_rows == 2500 for report in reports)
    processed = [report.processed_rows for report in reports]
    assert processed == sorted(processed) and processed[0] == 0
    assert sum(report.done for report in reports) == 1


@pytest.mark.asyncio
async def test_a_clean_run_is_ok(no_waiting: list[float]) -> None:
    ops = FakeBulkOperations()
    endpoint = FakeBulkEndpoint(ops)
    result = await ops.run_in_chunks(endpoint.submit, iter(users(250)), chunk_size=100)  # not Sized
    assert [len(chunk) for chunk in endpoint.chunks] == [100, 100, 50]
    assert result.ok and result.failures == [] and result.error_items == []
    result.raise_for_errors()


@pytest.mark.asyncio
async def test_nothing_to_do_makes_no_call() -> None:
    ops = FakeBulkOperations()
    endpoint = FakeBulkEndpoint(ops)
    result = await ops.run_in_chunks(endpoint.submit, [])
    assert endpoint.chunks == [] and result.operations == [] and result.ok


@pytest.mark.asyncio
async def test_chunk_size_over_knocks_limit_is_refused() -> None:
    ops = FakeBulkOperations()
    endpoint = FakeBulkEndpoint(ops)
    with pytest.raises(ValueError, match="chunk_size must be 1 to 1000"):
        await ops.run_in_chunks(endpoint.submit, users(10), chunk_size=MAX_BULK_ITEMS + 1)
    with pytest.raises(ValueError, match="chunk_size"):
        await ops.run_in_chunks(endpoint.submit, users(10), chunk_size=0)
    with pytest.raises(ValueError, match="max_concurrency"):
        await ops.run_in_chunks(endpoint.submit, users(10), max_concurrency=0)
    assert endpoint.chunks == []


@pytest.mark.asyncio
async def test_concurrency_is_bounded_and_items_are_read_lazily(no_waiting: list[float]) -> None:
    ops = FakeBulkOperations()
    endpoint = FakeBulkEndpoint(ops)
    active: set[str] = set()  # operations submitted and not yet seen completed
    peak = 0
    pulled = 0
    pulled_at_submit: list[int] = []

    async def submit(chunk: list[Any]) -> Op:
        nonlocal peak
        pulled_at_submit.append(pulled)
        op = await endpoint.submit(chunk)
        active.add(op.id)
        peak = max(peak, len(active))
        return op

    get = ops.get

    async def spy(id: str, *, options: RequestOptions | None = None) -> Op:
        op = await get(id, options=options)
        if op.status == "completed":
            active.discard(op.id)
        return op

    ops.get = spy  # type: ignore[method-assign]

    def source() -> Iterator[dict[str, str]]:
        nonlocal pulled
        for user in users(1000):
            pulled += 1
            yield user

    result = await ops.run_in_chunks(submit, source(), chunk_size=100, max_concurrency=2)
    assert len(result.operations) == 10 and result.ok
    assert peak == 2
    assert pulled_at_submit == [100 * (i + 1) for i in range(10)]  # one chunk read at a time


@pytest.mark.asyncio
async def test_a_call_that_raises_a_knock_error_is_collected(no_waiting: list[float]) -> None:
    ops = FakeBulkOperations()
    endpoint = FakeBulkEndpoint(ops)
    rejected = UnprocessableEntityError("bad user", status=422)

    async def submit(chunk: list[Any]) -> Op:
        if chunk[0]["id"] == "user-10":
            raise rejected
        return await endpoint.submit(chunk)

    result = await ops.run_in_chunks(submit, users(30), chunk_size=10)
    assert [op.processed_rows for op in result.operations] == [10, 10]
    [failure] = result.failures
    assert failure.index == 1 and failure.error is rejected and failure.operation is None
    assert failure.items == users(30)[10:20]
    with pytest.raises(BulkRunError, match="1 chunks failed"):
        result.raise_for_errors()


@pytest.mark.asyncio
async def test_a_timed_out_chunk_is_collected_with_its_last_state() -> None:
    ops = FakeBulkOperations()

    async def submit(chunk: list[Any]) -> Op:
        ops.scripts["stuck"] = [Op(id="stuck", status=Status.PROCESSING, processed_rows=1)]
        return Op(id="stuck", status=Status.QUEUED)

    # The operation stays PROCESSING: the timeout only has to leave room for the first poll,
    # also on a loaded machine (0.01 s did not under make test's parallel runs).
    result = await ops.run_in_chunks(submit, users(5), timeout=0.5, poll_interval=0.001)
    [failure] = result.failures
    assert isinstance(failure.error, BulkOperationTimeoutError)
    assert failure.operation is not None and failure.operation.processed_rows == 1
    assert result.operations == [failure.operation]


@pytest.mark.asyncio
async def test_any_other_error_stops_the_run_and_propagates(no_waiting: list[float]) -> None:
    ops = FakeBulkOperations()
    endpoint = FakeBulkEndpoint(ops)

    async def submit(chunk: list[Any]) -> Op:
        if len(endpoint.chunks) == 2:
            raise TypeError("a bug in the caller's submit")
        return await endpoint.submit(chunk)

    with pytest.raises(TypeError, match="a bug"):
        await ops.run_in_chunks(submit, users(100), chunk_size=10, max_concurrency=3)
    await asyncio.sleep(0.01)
    assert len(endpoint.chunks) == 2  # the other workers were stopped


# --- the optional tqdm adapter ----------------------------------------------------------


class FakeTqdm:
    made: list[FakeTqdm] = []

    def __init__(self, total: int | None = None, **options: Any) -> None:
        self.total = total
        self.options = options
        self.n = 0
        self.refreshes = 0
        self.closed = False
        FakeTqdm.made.append(self)

    def refresh(self) -> None:
        self.refreshes += 1

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_tqdm(monkeypatch: pytest.MonkeyPatch) -> type[FakeTqdm]:
    FakeTqdm.made = []
    module = types.ModuleType("tqdm.auto")
    module.tqdm = FakeTqdm  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", module)
    return FakeTqdm


@pytest.mark.asyncio
async def test_tqdm_progress_follows_a_chunked_run(
    fake_tqdm: type[FakeTqdm], no_waiting: list[float]
) -> None:
    from knock_async.progress import tqdm_progress

    ops = FakeBulkOperations()
    endpoint = FakeBulkEndpoint(ops)
    bar = tqdm_progress(desc="identify")
    await ops.run_in_chunks(endpoint.submit, users(2500), on_progress=bar)
    [made] = fake_tqdm.made
    assert made.options == {"desc": "identify", "unit": "rows"}
    assert made.total == 2500 and made.n == 2500 and made.closed


@pytest.mark.asyncio
async def test_tqdm_progress_follows_one_operation(
    fake_tqdm: type[FakeTqdm], no_waiting: list[float]
) -> None:
    from knock_async.progress import tqdm_progress

    ops = FakeBulkOperations()
    states = progression("op1", 10)
    ops.scripts["op1"] = states[1:]
    with tqdm_progress() as bar:
        await ops.wait(states[0], on_progress=bar)
        [made] = fake_tqdm.made
        assert made.n == 10 and made.total == 10 and made.closed  # closed once completed


def test_tqdm_progress_without_tqdm_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from knock_async.progress import tqdm_progress

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match=r"knock-async\[progress\]"):
        tqdm_progress()
