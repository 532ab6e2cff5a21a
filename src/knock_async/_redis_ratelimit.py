"""One Knock budget for a fleet: `RateLimiter`'s promise kept in Redis, for many processes.

Knock counts requests per environment (API key) and signed user, not per process. Every
process handed a `RedisRateLimiter` on the same Redis and namespace shares one budget per
(environment, tier, scope): at most `rate` requests start in any `window` (1.05 s), exactly as
the local `RateLimiter` promises for one process.

How: each (tier, scope) has a sorted set of request start times in Redis, past and reserved.
One Lua script, in one round trip, reads Redis's clock (`TIME`, so machines' clocks never
matter), checks the fleet-wide 429 pause and reserves the earliest start that keeps every
`burst` consecutive starts at least `burst / rate * window` apart. A caller that must wait
sleeps until its reserved start and confirms it (a second round trip, which moves it past a
pause that arrived meanwhile). Reservations are handed out in arrival order, so no process
starves, and a call whose reservation would fall after its deadline gets none and raises
`TimeoutError` at once.

Why a script and not the `limits` library: its Redis moving window takes the timestamp from
the calling machine's clock (`time.time()` passed into its script), knows no pause (checking
one would cost a second round trip per call) and only answers "not now", so waiting callers
poll and race each other instead of queueing.

Redis failing never fails a Knock call: every command has its own timeout (a pooled
connection that Redis dropped gets one immediate second try), and a process that cannot reach
Redis paces itself with a local `RateLimiter` at its share of the budget: the rate divided by
the processes that used Redis in the last 30 s, which the script counts. It warns once per
outage and tries Redis again every `retry_interval` seconds, calls waiting locally included,
sharing again as soon as Redis answers. The switch-overs can draw a few 429s (the restarted
Redis does not know what was sent meanwhile); the transport retries them.

`max_in_flight` is per process: a fleet-wide count would leak the slots of a worker that
dies. A call holds its in-flight slot while it waits for its shared start, so that the start
Redis records is when the request really leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from ._clock import REAL_CLOCK, Clock, Elapsed, within
from ._ratelimit import DEFAULT_MAX_IN_FLIGHT, DEFAULT_WINDOW, InFlight, RateLimiter

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

logger = logging.getLogger("knock_async")

DEFAULT_NAMESPACE: Final = "knock-async"
DEFAULT_COMMAND_TIMEOUT: Final = 1.0  # seconds for one Redis command (which normally takes < 1 ms)
POOL_SIZE: Final = 4  # Redis connections per process made by `from_url`
PRESENCE_US: Final = 30_000_000  # a process that used a bucket this recently counts as present
DEFAULT_RETRY_INTERVAL: Final = 1.0  # seconds between tries to reach Redis again during an outage

# KEYS: the start times (sorted set), the pause (string), the processes (sorted set). ARGV: this
# call's member, burst, period in µs, the longest wait this call accepts in µs (-1: any), this
# process's id, how long a process counts as present in µs.
# Returns {wait µs, reserved (1 or 0), processes present}.
# Numbers are formatted with %.0f: Redis turns Lua numbers into strings with 14 digits only.
_ACQUIRE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local burst, period, max_wait = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local presence = tonumber(ARGV[6])
redis.call('ZADD', KEYS[3], string.format('%.0f', now), ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%.0f', now - presence))
redis.call('PEXPIRE', KEYS[3], string.format('%.0f', presence / 1000))
local peers = redis.call('ZCARD', KEYS[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - period))
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
local mine = redis.call('ZSCORE', KEYS[1], ARGV[1])
if mine then
  mine = tonumber(mine)
  if paused <= math.max(mine, now) then
    return {math.max(mine - now, 0), 1, peers}
  end
  redis.call('ZREM', KEYS[1], ARGV[1])
end
local start = math.max(now, paused)
if redis.call('ZCARD', KEYS[1]) >= burst then
  local kth = redis.call('ZRANGE', KEYS[1], -burst, -burst, 'WITHSCORES')
  start = math.max(start, tonumber(kth[2]) + period)
end
local wait = start - now
if max_wait >= 0 and wait > max_wait then
  return {wait, 0, peers}
end
redis.call('ZADD', KEYS[1], string.format('%.0f', start), ARGV[1])
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', (wait + period) / 1000 + 1000))
return {wait, 1, peers}
"""

# KEYS: the pause. ARGV: its length in µs. A pause only ever moves later.
_PAUSE: Final = """
local t = redis.call('TIME')
local until_ = tonumber(t[1]) * 1000000 + tonumber(t[2]) + tonumber(ARGV[1])
if until_ > tonumber(redis.call('GET', KEYS[1]) or '0') then
  local ttl = string.format('%.0f', ARGV[1] / 1000 + 1000)
  redis.call('SET', KEYS[1], string.format('%.0f', until_), 'PX', ttl)
end
return 0
"""


def _error_types() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """What counts as Redis failing (Elapsed: a command past its timeout, on 3.10 not an
    asyncio.TimeoutError), and which of those a second try on a new connection may cure."""
    from redis.exceptions import ConnectionError, RedisError

    return (RedisError, OSError, asyncio.TimeoutError, Elapsed), (ConnectionError, OSError)


class _RedisUnavailable(Exception):
    """Redis did not answer in time or failed; the caller falls back to local pacing."""


class _PastDeadline(Exception):
    """The local limiter cannot give a token before the call's deadline."""


class RedisRateLimiter:
    """Token buckets shared through Redis by every process using the same Redis and namespace.

    Args:
        redis: a `redis.asyncio.Redis` client (see `from_url` to make one).
        rates, bursts, max_in_flight, window: as for `RateLimiter`; every process of a fleet
            must use the same rates, bursts and window. `max_in_flight` is per process.
        namespace: prefix of every Redis key, to keep apps sharing one Redis apart.
        command_timeout: seconds one Redis command may take before Redis counts as down.
        retry_interval: seconds between tries to reach Redis during an outage.
        clock: tells the time and waits (`knock_async.Clock`), for this process's waits and
            its local pacing; the fleet's schedule itself runs on Redis's clock.

    Redis keys hold a hash of the scope (itself a hash of the API key and user token): no
    secret ever reaches Redis.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        rates: Mapping[int, float] | None = None,
        bursts: Mapping[int, int] | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        window: float = DEFAULT_WINDOW,
        namespace: str = DEFAULT_NAMESPACE,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
        clock: Clock = REAL_CLOCK,
    ) -> None:
        if not namespace:
            raise ValueError("namespace must not be empty")
        if not command_timeout > 0:
            raise ValueError(f"command_timeout must be above 0, got {command_timeout}")
        # How one process paces alone; it checks the settings and works out rates and bursts.
        alone = RateLimiter(
            rates=rates, bursts=bursts, max_in_flight=max_in_flight, window=window, clock=clock
        )
        self._clock = clock
        self._rates = dict(alone.rates)
        self._shapes = {
            tier: (burst, round(burst / self._rates[tier] * window * 1_000_000))
            for tier, burst in alone.bursts.items()
        }
        self._alone = self._fallback = alone
        self._window = window
        self.max_in_flight = max_in_flight
        self.namespace = namespace
        self._redis = redis
        self._redis_errors, self._connection_errors = _error_types()
        self._acquire: AsyncScript = redis.register_script(_ACQUIRE)
        self._pause: AsyncScript = redis.register_script(_PAUSE)
        self._command_timeout = command_timeout
        self._retry_interval = retry_interval
        self._in_flight = InFlight(max_in_flight)
        self._process = uuid.uuid4().hex[:16]
        self._members = map(f"{self._process}:{{}}".format, itertools.count())
        self._peers = 1  # processes that used Redis lately, this one included
        self._down_until = -math.inf  # instant (on the clock) before which Redis is not tried again
        self._outage = False
        self._releases: set[asyncio.Task[None]] = set()
        self._owns_redis = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisRateLimiter:
        """A limiter on a new Redis client for `url` (e.g. "redis://host:6379/0"), closed by `aclose`.

        `options` are those of the constructor.
        """
        try:
            from redis.asyncio import BlockingConnectionPool, Redis
        except ImportError as exc:
            raise ImportError("RedisRateLimiter needs redis-py: pip install 'knock-async[redis]'") from exc
        timeout = options.get("command_timeout", DEFAULT_COMMAND_TIMEOUT)
        # A few connections serve hundreds of calls a second (a command takes well under 1 ms);
        # opening one per concurrent call would make a burst of calls wait on handshakes.
        pool = BlockingConnectionPool.from_url(
            url, max_connections=POOL_SIZE, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        client = Redis.from_pool(pool)  # the client owns the pool: aclose() closes both
        limiter = cls(client, **options)
        limiter._owns_redis = True
        return limiter

    def __repr__(self) -> str:
        return f"RedisRateLimiter(namespace={self.namespace!r})"  # no URL: it may carry a password

    @property
    def in_flight(self) -> int:
        """Requests of this process currently holding a slot."""
        return self.max_in_flight - self._in_flight.free

    @property
    def sharing(self) -> bool:
        """False while Redis is unreachable and this process paces itself."""
        return not self._outage

    async def aclose(self) -> None:
        """Close the Redis client if `from_url` made it."""
        if self._owns_redis:
            await self._redis.aclose()

    def slot(
        self, tier: int, scope: str, timeout: float | None = None
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Wait for an in-flight slot, then for the fleet's next start of `tier` for `scope`.

        `timeout` is the seconds the call has left: when the fleet's next start for this call
        falls after them, `TimeoutError` is raised at once.
        """
        deadline = None if timeout is None else self._clock.monotonic() + timeout
        return self._slot(tier, scope, deadline)

    async def pause(self, tier: int, scope: str, seconds: float) -> None:
        """A 429 arrived: no process starts a request of `tier` for `scope` for `seconds`."""
        if not self._redis_skipped():
            try:
                await self._run(self._pause, self._keys(tier, scope)[1:2], round(seconds * 1_000_000))
                return
            except _RedisUnavailable:
                pass  # logged; the local limiter takes the pause
        await self._fallback.pause(tier, scope, seconds)

    @contextlib.asynccontextmanager
    async def _slot(self, tier: int, scope: str, deadline: float | None) -> AsyncIterator[None]:
        shape = self._shapes.get(tier)
        if shape is None:
            raise ValueError(f"unknown rate-limit tier {tier}; known tiers: {sorted(self._shapes)}")
        await self._in_flight.acquire()
        try:
            async with contextlib.AsyncExitStack() as local:
                while not await self._take_shared(tier, scope, shape, deadline):
                    try:
                        entering = self._enter_local(local, tier, scope, deadline)
                        await within(self._retry_interval, entering)
                        break
                    except _PastDeadline as exc:
                        raise TimeoutError(*exc.args) from None
                    except Elapsed:
                        continue  # no local token yet: try Redis again, it may be back
                yield
        finally:
            self._in_flight.release()

    async def _enter_local(
        self, stack: contextlib.AsyncExitStack, tier: int, scope: str, deadline: float | None
    ) -> None:
        left = None if deadline is None else deadline - self._clock.monotonic()
        try:
            await stack.enter_async_context(self._fallback.slot(tier, scope, left))
        except TimeoutError as exc:  # told apart from the retry interval running out
            raise _PastDeadline(*exc.args) from exc

    async def _take_shared(
        self, tier: int, scope: str, shape: tuple[int, int], deadline: float | None
    ) -> bool:
        """Reserve the fleet's next start and sleep until it; False when Redis is unavailable."""
        if self._redis_skipped():
            return False
        keys = self._keys(tier, scope)
        member = next(self._members)
        try:
            while True:
                left = None if deadline is None else deadline - self._clock.monotonic()
                max_wait = -1 if left is None else max(0, round(left * 1e6))
                wait, reserved, self._peers = await self._run(
                    self._acquire, keys, member, *shape, max_wait, self._process, PRESENCE_US
                )
                if not reserved:
                    raise TimeoutError(
                        f"tier {tier}: the fleet's next request may start in {wait / 1e6:.2f} s, "
                        "after this call's deadline"
                    )
                if wait <= 0:
                    return True
                await self._clock.sleep(wait / 1e6)
        except _RedisUnavailable:
            return False  # a reservation made before the failure only wastes one start
        except asyncio.CancelledError:
            self._release_later(keys[0], member)
            raise

    def _release_later(self, key: str, member: str) -> None:
        # A cancelled caller gives its reserved start back, without delaying its cancellation.
        task = asyncio.get_running_loop().create_task(self._release(key, member))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

    async def _release(self, key: str, member: str) -> None:
        with contextlib.suppress(_RedisUnavailable):  # logged; the start is merely not reused
            await self._call(lambda: self._redis.zrem(key, member))

    async def _run(self, script: AsyncScript, keys: list[str], *args: int | str) -> list[int]:
        return await self._call(lambda: script(keys=keys, args=list(args)))  # type: ignore[no-any-return]

    async def _call(self, command: Callable[[], Awaitable[Any]]) -> Any:
        """Run one Redis command within the command timeout, tracking outages."""
        try:
            result = await within(self._command_timeout, self._once_more_if_dropped(command))
        except self._redis_errors as exc:
            self._down_until = self._clock.monotonic() + self._retry_interval
            if not self._outage:
                self._outage = True
                self._fallback = self._local_share()
                logger.warning(
                    "Redis is unavailable (%s); pacing Knock calls in this process alone until it is back",
                    type(exc).__name__,
                )
            raise _RedisUnavailable from exc
        if self._outage:
            self._outage = False
            logger.warning("Redis is back; Knock calls share the fleet's budget again")
        return result

    async def _once_more_if_dropped(self, command: Callable[[], Awaitable[Any]]) -> Any:
        # A pooled connection that Redis closed (a restart, an idle timeout) fails once; the
        # second try opens a new one. Only a second failure means Redis is away.
        try:
            return await command()
        except self._connection_errors:
            return await command()

    def _local_share(self) -> RateLimiter:
        """The limiter for an outage: this process's share of every rate (the processes being
        those that used Redis in the last `PRESENCE_US`), so that the fleet stays in budget."""
        if self._peers <= 1:
            return self._alone
        return RateLimiter(
            rates={tier: rate / self._peers for tier, rate in self._rates.items()},
            max_in_flight=self.max_in_flight,
            window=self._window,
            clock=self._clock,
        )

    def _redis_skipped(self) -> bool:
        return self._clock.monotonic() < self._down_until

    def _keys(self, tier: int, scope: str) -> list[str]:
        # The braces make a Redis Cluster keep both keys of a bucket on one node.
        digest = hashlib.sha256(f"{self.namespace}\0{scope}".encode()).hexdigest()[:32]
        base = f"{self.namespace}:{{{digest}:{tier}}}"
        return [f"{base}:starts", f"{base}:pause", f"{base}:processes"]
