"""The "knock_async" logger, and `KNOCK_LOG` to turn it on without code."""

from __future__ import annotations

import logging
import os

logger = logging.getLogger("knock_async")


def configure_logging_from_env() -> None:
    """Apply `KNOCK_LOG=info|debug` to the "knock_async" logger; the client calls it once.

    A stderr handler is added only when nothing is configured yet, so an application's own
    logging setup is never doubled.
    """
    level = {"debug": logging.DEBUG, "info": logging.INFO}.get(
        os.environ.get("KNOCK_LOG", "").strip().lower()
    )
    if level is None:
        return
    logger.setLevel(level)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
