"""Workflow triggers and cancellations, and workflow recipient runs."""

from __future__ import annotations

import datetime as dt

from .. import _views as views
from .._call import Call
from .._clock import parse_time
from .._errors import field_error, not_found
from .._idempotency import Reply
from .._pagination import paginate
from .._records import ref_of
from .._routes import NO_CONTENT, handles, ok


@handles("workflows.trigger", idempotent=True)  # the one operation Knock dedupes by Idempotency-Key
def trigger_workflow(call: Call) -> Reply:
    run_id = call.backend.engine.trigger(_workflow_key(call), call.json_body())
    return ok({"workflow_run_id": run_id})


@handles("workflows.cancel")
def cancel_workflow(call: Call) -> Reply:
    key = _workflow_key(call)
    legacy = "key" not in call.path and "cancelation_key" in call.json_body()  # the old SDKs' spelling
    cancellation_key = call.field("cancelation_key" if legacy else "cancellation_key", str)
    recipients = call.field("recipients", list, required=False)
    refs = (
        [ref_of(value, f"recipients[{i}]") for i, value in enumerate(recipients)]
        if recipients is not None
        else None
    )
    call.backend.engine.cancel(key, cancellation_key, refs)
    return NO_CONTENT


def _workflow_key(call: Call) -> str:
    """The workflow's key: in the path, or as "name" in the body on the legacy /v1/notify routes."""
    key: str = call.path["key"] if "key" in call.path else call.field("name", str)
    return key


@handles("workflow_recipient_runs.list")
def list_runs(call: Call) -> Reply:
    workflow, tenant = call.text("workflow"), call.text("tenant")
    statuses = set(call.texts("status[]"))
    has_errors = call.flag("has_errors")
    named = call.reference("recipient")
    recipient = ref_of(named, "recipient") if named is not None else None
    starting, ending = _time(call, "starting_at"), _time(call, "ending_at")
    runs = [
        run
        for run in call.backend.state.runs.values()
        if (workflow is None or run.workflow == workflow)
        and (tenant is None or run.tenant == tenant)
        and (not statuses or run.status in statuses)
        and not has_errors  # runs on this server never have errors
        and (recipient is None or run.recipient == recipient)
        and (starting is None or parse_time(run.inserted_at) >= starting)
        and (ending is None or parse_time(run.inserted_at) <= ending)
    ]
    runs.sort(key=lambda run: run.seq, reverse=True)
    return ok(paginate(runs, call.query, position=lambda run: run.seq, render=views.run, key="items"))


def _time(call: Call, name: str) -> dt.datetime | None:
    raw = call.text(name)
    if raw is None:
        return None
    try:
        return parse_time(raw)
    except ValueError:
        raise field_error(name, "must be an RFC 3339 date-time") from None


@handles("workflow_recipient_runs.get")
def get_run(call: Call) -> Reply:
    run = call.backend.state.runs.get(call.path["id"])
    if run is None:
        raise not_found("workflow recipient run")
    return ok(views.run(run, detail=True))
