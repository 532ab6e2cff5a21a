"""Reverse-ETL destinations (Census, Hightouch): JSON-RPC calls that sync users into Knock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._call import Call
from .._errors import KnockHTTPError, field_error
from .._idempotency import Reply
from .._records import JSONDict
from .._routes import handles, ok


@handles("integrations.census.custom_destination", "integrations.hightouch.embedded_destination")
def rpc(call: Call) -> Reply:
    """`test_connection` succeeds; `sync_batch` identifies each record (with an "id") as a user."""
    if call.field("jsonrpc", str) != "2.0":
        raise field_error("jsonrpc", 'must be "2.0"')
    request_id, method = call.field("id", str), call.field("method", str)
    params = call.field("params", dict, required=False) or {}
    if method == "test_connection":
        result: JSONDict = {"success": True}
    elif method == "sync_batch":
        records = params.get("records")
        if not isinstance(records, list):
            raise field_error("params.records", "must be a list of records")
        result = {"record_results": [_sync(call, record) for record in records]}
    else:
        raise field_error("method", "must be test_connection or sync_batch")
    return ok({"id": request_id, "result": result})


def _sync(call: Call, record: Any) -> JSONDict:
    ident = record.get("id") if isinstance(record, Mapping) else None
    if not isinstance(ident, str) or not ident:
        return {"identifier": None, "success": False, "error_message": "a record needs a string id"}
    try:  # a record Knock would refuse fails alone, not the batch
        call.backend.state.upsert((None, ident), record, call.backend.now())
    except KnockHTTPError as error:
        return {"identifier": ident, "success": False, "error_message": error.message}
    return {"identifier": ident, "success": True, "error_message": None}
