"""An embedded, stateful, in-memory Knock server for tests and demos.

    from knock_async.testing import KnockTestServer

    async with KnockTestServer() as server:
        server.add_workflow("new-comment", ["in_app_feed", "email"])
        # point the SDK (or any HTTP client) at server.url with server.api_key

It speaks the HTTP API of openapi/knock.yaml, keeps data the way Knock does, answers browsers
(CORS), and enforces Knock's auth, rate tiers, payload limits and Idempotency-Key replay on
triggers. Faults can be injected for resilience tests. `server.add_webhook(url)` POSTs message
events to `url`, signed as Knock's outbound webhooks are, with Knock's retries.
`KnockTestServer(enhanced_security=True)` runs Knock's enhanced security mode: publishable keys
need a user token signed with `server.signing_key` (needs the `knock-async[tokens]` extra). In
pytest, enable the `knock_server` fixture with `pytest_plugins =
["knock_async.testing.pytest_plugin"]`; from a shell, run `knock-async-server --port 4010` (or
`python -m knock_async.testing`).
"""

from ._bulk import BulkPace
from ._clock import ManualClock, ServerClock, SystemClock
from ._faults import Faults
from ._guides import Guide, GuideStep
from ._ratelimit import KNOCK_TIER_RATES, RateLimits
from ._server import (
    DEFAULT_PUBLISHABLE_KEY,
    DEFAULT_SECRET_KEY,
    IdempotencyViolation,
    KnockTestServer,
    RecordedRequest,
)
from ._socket import SocketLimits
from ._webhooks import Webhook, WebhookDelivery
from ._workflows import ChannelStep, Workflow

__all__ = [
    "DEFAULT_PUBLISHABLE_KEY",
    "DEFAULT_SECRET_KEY",
    "KNOCK_TIER_RATES",
    "BulkPace",
    "ChannelStep",
    "Faults",
    "Guide",
    "GuideStep",
    "IdempotencyViolation",
    "KnockTestServer",
    "ManualClock",
    "RateLimits",
    "RecordedRequest",
    "ServerClock",
    "SocketLimits",
    "SystemClock",
    "Webhook",
    "WebhookDelivery",
    "Workflow",
]
