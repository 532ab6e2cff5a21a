"""The aiohttp session behind a client (and behind the clients `with_options` makes from it),
and the proxy its requests go through.
"""

from __future__ import annotations

import asyncio
import urllib.request
import warnings
from collections.abc import AsyncGenerator
from urllib.parse import urlsplit

import aiohttp

from ._errors import ClientClosedError, WrongEventLoopError


def env_proxy_for(url: str) -> str | None:
    """The proxy HTTP_PROXY / HTTPS_PROXY name for `url`, unless NO_PROXY exempts its host.

    Read once per client rather than by aiohttp per request (its `trust_env` costs a thread
    hop per request and would also send ~/.netrc credentials).
    """
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if not proxies or not parts.hostname:
        return None
    if urllib.request.proxy_bypass(parts.hostname):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


class SessionHolder:
    """Opens the session on first use in the running loop, and again under a new loop (a
    second `asyncio.run`); a caller's own session is used as it is and never closed here.

    A session it opens is closed when its loop shuts down, at the latest: an async generator
    started with it is closed by `loop.shutdown_asyncgens()` (which `asyncio.run` calls before
    closing the loop), and its `finally` closes the session while the loop still runs. So no
    connection outlives an `asyncio.run`, and nothing warns about one.
    """

    def __init__(self, session: aiohttp.ClientSession | None) -> None:
        self._session = session
        self._owned = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._guard: AsyncGenerator[None, None] | None = None
        self.closed = False

    async def current(self) -> aiohttp.ClientSession:
        if self.closed:
            raise ClientClosedError("this Knock client is closed; create a new one to make requests")
        loop = asyncio.get_running_loop()
        session = self._session
        if self._owned:
            if session is None or self._loop is not loop:
                session = await self._open(loop)
            return session
        assert session is not None  # not owned: the caller handed it in
        if session.closed:  # else aiohttp's bare RuntimeError('Session is closed')
            raise ClientClosedError("the aiohttp session passed to this client was closed")
        if self._loop is not loop:  # checked once per loop: the hot path skips it
            if _loop_of(session) is not loop:
                raise WrongEventLoopError(
                    "the aiohttp session passed to this client belongs to another event loop; "
                    "create the session (and the client) inside the running loop"
                )
            self._loop = loop
        return session

    async def close(self) -> None:
        """Close the session if this holder opened it."""
        self.closed = True
        if self._owned:
            await self._release()

    async def _open(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        await self._release()
        session = self._session = aiohttp.ClientSession()
        self._loop = loop
        self._guard = _closed_at_shutdown(self, session)
        await self._guard.asend(None)  # started: the running loop now knows it
        return session

    async def _release(self) -> None:
        """Close the session opened last: here, when its loop is this one or is closed
        (nothing is left to close then, but its connector no longer counts as open); when
        that loop runs in another thread, it closes it itself once the guard is dropped."""
        guard, self._guard = self._guard, None
        if guard is None:
            return
        loop = self._loop
        if loop is None or loop is asyncio.get_running_loop() or loop.is_closed():
            await guard.aclose()


async def _closed_at_shutdown(
    holder: SessionHolder, session: aiohttp.ClientSession
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        if holder._session is session:
            holder._session = None
        await session.close()


def _loop_of(session: aiohttp.ClientSession) -> asyncio.AbstractEventLoop:
    # `ClientSession.loop` is public but deprecated; it is the only public way to ask.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return session.loop
