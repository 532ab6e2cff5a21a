"""Benchmarks of knock-async: `python -m bench` (or `make bench`).

Measurements, none of them a test (the run always exits 0), each against its floor in the
same run and marked met or MISSED against issue 20's targets:

- client CPU per call, limiter off, beside raw aiohttp doing the same requests, once reading
  JSON with `json` and once with orjson (the `fast` extra), each in a process of its own
  (`bench.cpu`, `bench.cpu_run`), against a canned server in another process (`bench.canned`);
- the default client pacing a burst by tier beside raw aiohttp paced by aiolimiter (`bench.paced`);
- a fresh process's import + client + first call, import time, a feed page's memory
  (`bench.footprint`);
- the Tier 2 pacing case: 50 concurrent calls of a Tier 2 operation through the default
  rate limiter against a stand-in that enforces Knock's 5 requests per rolling second
  (`bench.pacing`, `bench.tier2`, which tests/integration/test_rate_limit_pacing.py shares);
- the fleet: RedisRateLimiter's overhead and 4 processes sharing one budget (`bench.fleet`).
"""


def verdict(met: bool) -> str:
    """How every table marks a target: met, or MISSED (in capitals, to stand out)."""
    return "met" if met else "MISSED"
