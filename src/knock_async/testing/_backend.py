"""What handlers work with: the state, the clock, the workflow engine and the bulk runner."""

from __future__ import annotations

import attrs

from ._bulk import BulkRunner
from ._clock import ServerClock, isoformat
from ._engine import Engine
from ._state import State


@attrs.define
class Backend:
    state: State
    clock: ServerClock
    engine: Engine
    bulk: BulkRunner

    def now(self) -> str:
        return isoformat(self.clock.now())
