"""A tqdm progress bar for bulk operations (needs the `knock-async[progress]` extra).

    with tqdm_progress(desc="identify") as bar:
        result = await knock.bulk_operations.run_in_chunks(submit, users, on_progress=bar)

The same callback works for `bulk_operations.wait(op, on_progress=...)`. tqdm is imported
only when a bar is made, so the SDK itself never depends on it.
"""

from __future__ import annotations

from typing import Any

from ._bulk import BulkProgress


class TqdmProgress:
    """An `on_progress` callback that drives one tqdm bar; closes itself when the work is done."""

    def __init__(self, **tqdm_options: Any) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:
            raise ImportError("progress bars need tqdm: pip install 'knock-async[progress]'") from exc
        tqdm_options.setdefault("unit", "rows")
        self._bar = tqdm(total=None, **tqdm_options)

    def __call__(self, progress: BulkProgress) -> None:
        bar = self._bar
        total = progress.estimated_total_rows or None
        if total != bar.total:
            bar.total = total
        bar.n = progress.processed_rows
        bar.refresh()
        if progress.done:
            self.close()

    def close(self) -> None:
        self._bar.close()  # tqdm ignores a second close

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def tqdm_progress(**tqdm_options: Any) -> TqdmProgress:
    """A callback for `on_progress` that shows a tqdm bar; options go to `tqdm(...)`."""
    return TqdmProgress(**tqdm_options)
