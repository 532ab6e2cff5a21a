"""knock-async: an asyncio-native SDK for the Knock notification API.

    from knock_async import AsyncKnock

    async with AsyncKnock() as knock:
        await knock.users.identify("user-1", name="Ada")

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
    PayloadLimitError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from ._pagination import AsyncPager, Page
from ._ratelimit import RateLimiter
from ._redis_ratelimit import RedisRateLimiter
from ._transport import ApiResponse
from ._types import UNSET, RequestOptions, Unset

__version__ = "0.1.0"

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
    "ClientRequestError",
    "ConflictError",
    "ErrorCode",
    "InternalServerError",
    "KnockError",
    "NotFoundError",
    "Page",
    "PayloadLimitError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiter",
    "RedisRateLimiter",
    "RequestOptions",
    "UnprocessableEntityError",
    "Unset",
]
