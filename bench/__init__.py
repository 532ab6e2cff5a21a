"""Benchmarks of knock-async: `python -m bench` (or `make bench`).

Two measurements, neither of them a test (the run always exits 0):

- client CPU per call of knock-async beside raw aiohttp + `json` doing the same requests,
  against a canned server in another process (`bench.canned`), so that only the client's
  CPU is counted (`bench.cpu`);
- the Tier 2 pacing case: 50 concurrent calls of a Tier 2 operation through the default
  rate limiter against a stand-in that enforces Knock's 5 requests per rolling second
  (`bench.tier2`, which the integration test `tests/integration/test_rate_limit_pacing.py`
  shares).
"""
