"""knock-async: an asyncio-native SDK for the Knock notification API.

    from knock_async import AsyncKnock

    async with AsyncKnock() as knock:
        await knock.users.update("user-1", name="Ada")

Models live in `knock_async.models`; the embedded test server in `knock_async.testing`.
"""

from ._bulk import (
    BulkOperationFailedError,
    BulkOperationTimeoutError,
    BulkProgress,
    BulkResult,
    BulkRunError,
    ChunkFailure,
)
from ._client import AsyncKnock
from ._clock import Clock, RealClock
from ._config import ClientConfig, RetryPolicy
from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ClientRequestError,
    ConflictError,
    ErrorCode,
    InternalServerError,
    KnockError,
    NotFoundError,
    PaginationError,
    PayloadLimitError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    ResponseTooLargeError,
    UnprocessableEntityError,
    WebhookSignatureError,
    WrongEventLoopError,
)
from ._limiter import Limiter
from ._pagination import AsyncPager, Page
from ._ratelimit import RateLimiter
from ._raw_response import ApiResponse
from ._reading import drifted
from ._redis_ratelimit import RedisRateLimiter
from ._types import UNSET, Nullable, RequestOptions, Unset
from ._version import VERSION

__version__ = VERSION

__all__ = [
    "UNSET",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "ApiResponse",
    "AsyncKnock",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "BulkOperationFailedError",
    "BulkOperationTimeoutError",
    "BulkProgress",
    "BulkResult",
    "BulkRunError",
    "ChunkFailure",
    "ClientClosedError",
    "ClientConfig",
    "ClientRequestError",
    "Clock",
    "ConflictError",
    "ErrorCode",
    "InternalServerError",
    "KnockError",
    "Limiter",
    "NotFoundError",
    "Nullable",
    "Page",
    "PaginationError",
    "PayloadLimitError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiter",
    "RealClock",
    "RedirectError",
    "RedisRateLimiter",
    "RequestOptions",
    "ResponseTooLargeError",
    "RetryPolicy",
    "UnprocessableEntityError",
    "Unset",
    "WebhookSignatureError",
    "WrongEventLoopError",
    "drifted",
]

# Tracebacks and reprs name the public path (knock_async.NotFoundError), not a private module.
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type):
        _value.__module__ = __name__
del _name, _value
