"""The aiohttp session behind a client (and behind the clients `with_options` makes from it),
and the proxy its requests go through.
"""

from __future__ import annotations

import asyncio
import urllib.request
import warnings
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
    second `asyncio.run`); a caller's own session is used as it is and never closed here."""

    def __init__(self, session: aiohttp.ClientSession | None) -> None:
        self._session = session
        self._owned = session is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    async def current(self) -> aiohttp.ClientSession:
        if self.closed:
            raise ClientClosedError("this Knock client is closed; create a new one to make requests")
        loop = asyncio.get_running_loop()
        session = self._session
        if self._owned:
            if session is None or self._loop is not loop:
                if session is not None:
                    await self._let_go(session)
                session = self._session = aiohttp.ClientSession()
                self._loop = loop
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
        """Close the session if this holder opened it (under the running loop, or detached)."""
        self.closed = True
        session, self._session = self._session, None
        if session is None or not self._owned:
            return
        if self._loop is asyncio.get_running_loop():
            await session.close()
        else:
            await self._let_go(session)

    async def _let_go(self, session: aiohttp.ClientSession) -> None:
        """Drop a session opened under another loop. When that loop is closed (an earlier
        `asyncio.run`), its connector is marked closed, which closes nothing more but keeps
        it from logging "Unclosed connector" when collected; a loop still running elsewhere
        keeps its connections, which only that loop may touch."""
        connector = session.connector
        session.detach()
        if connector is not None and self._loop is not None and self._loop.is_closed():
            await connector.close()


def _loop_of(session: aiohttp.ClientSession) -> asyncio.AbstractEventLoop:
    # `ClientSession.loop` is public but deprecated; it is the only public way to ask.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return session.loop
