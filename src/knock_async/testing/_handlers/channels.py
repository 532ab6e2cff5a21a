"""Channel data on users and objects, and the Slack / Microsoft Teams provider endpoints.

There is no Slack or Teams behind this server: the provider endpoints answer from the channel
data stored on the "access token object", which is what SlackKit and TeamsKit need to work.
"""

from __future__ import annotations

from knock_async._grants import Permission

from .. import _shapes as shapes
from .. import _views as views
from .._access import provider_object, recipient
from .._call import Call
from .._errors import KnockHTTPError, field_error, not_found
from .._idempotency import Reply
from .._records import ChannelDataRow, JSONDict, Ref, normalize_channel_data
from .._routes import NO_CONTENT, handles, ok
from .._workflows import Channel
from .common import recipient_ref

_PROVIDERS = {"push": "push_fcm", "chat": "chat_slack"}


def _target(call: Call, *, create_with: JSONDict | None = None) -> tuple[Ref, Channel]:
    """The recipient and channel of the path; `create_with` (checked first) creates the recipient."""
    path, state = call.path, call.backend.state
    ref = recipient_ref(call)
    channel = state.channel(path["channel_id"])
    if channel is None:
        raise not_found("channel")
    create = create_with is not None
    if create:
        shapes.channel_data(create_with)
    if state.entity(ref) is None:
        if not create:
            raise not_found("user" if ref[0] is None else "object")
        state.upsert(ref, {}, call.backend.now())  # setting channel data creates the recipient
    return ref, channel


def _view(row: ChannelDataRow, channel: Channel) -> JSONDict:
    view = views.channel_data(row)
    if channel.type in _PROVIDERS:
        view["provider"] = _PROVIDERS[channel.type]
    return view


@handles("users.get_channel_data", "objects.get_channel_data", access=recipient(Permission.CHANNEL_DATA_READ))
def get_channel_data(call: Call) -> Reply:
    ref, channel = _target(call)
    row = call.backend.state.channel_data.get(ref, {}).get(channel.id)
    if row is None:
        raise not_found("channel data")
    return ok(_view(row, channel))


@handles(
    "users.set_channel_data", "objects.set_channel_data", access=recipient(Permission.CHANNEL_DATA_WRITE)
)
def set_channel_data(call: Call) -> Reply:
    data = call.field("data", dict)
    ref, channel = _target(call, create_with=data)
    return ok(
        _view(call.backend.state.set_channel_data(ref, channel.id, normalize_channel_data(data)), channel)
    )


@handles(
    "users.unset_channel_data", "objects.unset_channel_data", access=recipient(Permission.CHANNEL_DATA_WRITE)
)
def unset_channel_data(call: Call) -> Reply:
    ref, channel = _target(call)
    if call.backend.state.channel_data.get(ref, {}).pop(channel.id, None) is None:
        raise not_found("channel data")
    return NO_CONTENT


# ---------------------------------------------------------------------------- providers


_SLACK = provider_object(Permission.SLACK_CHANNELS_READ, "access_token_object")
_TEAMS = provider_object(Permission.MS_TEAMS_CHANNELS_READ, "ms_teams_tenant_object")


def _token_object(call: Call, param: str) -> tuple[Ref, JSONDict]:
    """The object a provider call names in its JSON query parameter, and its stored data."""
    ref = call.token_object(param)
    channel = call.backend.state.channel(call.path["channel_id"])
    if channel is None:
        raise not_found("channel")
    row = call.backend.state.channel_data.get(ref, {}).get(channel.id)
    return ref, row.data if row is not None else {}


def _forbidden(what: str) -> KnockHTTPError:
    return KnockHTTPError(
        403, "access_token_missing", f"No {what} is set for the given object", "authentication_error"
    )


def _slack(call: Call) -> JSONDict:
    _, data = _token_object(call, "access_token_object")
    token = (data.get("token") or {}).get("access_token")
    if not token and not any(c.get("access_token") for c in data.get("connections") or []):
        raise _forbidden("Slack access token")
    return data


@handles("providers.slack.check_auth", access=_SLACK)
def slack_check_auth(call: Call) -> Reply:
    _slack(call)
    return ok({"connection": {"ok": True, "reason": None}})


@handles("providers.slack.list_channels", access=_SLACK)
def slack_list_channels(call: Call) -> Reply:
    data = _slack(call)
    channels = [
        {
            "id": c["channel_id"],
            "name": c.get("channel_name") or c["channel_id"],
            "is_private": False,
            "is_im": False,
            "context_team_id": "T0000TEST",
        }
        for c in data.get("connections") or []
        if c.get("channel_id")
    ]
    return ok({"slack_channels": channels, "next_cursor": None})


REVOKED = {"ok": "ok"}  # Knock acknowledges a revoke with this object


@handles("providers.slack.revoke_access", access=_SLACK)
def slack_revoke_access(call: Call) -> Reply:
    data = _slack(call)  # the stored dict itself: revoking edits it in place
    data.pop("token", None)
    for connection in data.get("connections") or []:
        connection.pop("access_token", None)
    return ok(REVOKED)


def _teams(call: Call) -> JSONDict:
    _, data = _token_object(call, "ms_teams_tenant_object")
    if not data.get("ms_teams_tenant_id"):
        raise _forbidden("Microsoft Entra tenant id")
    return data


@handles("providers.ms_teams.check_auth", access=_TEAMS)
def teams_check_auth(call: Call) -> Reply:
    _teams(call)
    return ok({"connection": {"ok": True, "reason": None}})


@handles("providers.ms_teams.list_teams", access=_TEAMS)
def teams_list_teams(call: Call) -> Reply:
    data = _teams(call)
    team_ids = dict.fromkeys(
        c["ms_teams_team_id"] for c in data.get("connections") or [] if c.get("ms_teams_team_id")
    )
    teams = [{"id": team_id, "displayName": team_id, "description": None} for team_id in team_ids]
    return ok({"ms_teams_teams": teams, "skip_token": None})


@handles("providers.ms_teams.list_channels", access=_TEAMS)
def teams_list_channels(call: Call) -> Reply:
    data = _teams(call)
    team_id = call.text("team_id")
    if team_id is None:
        raise field_error("team_id", "is required", "required")
    channels = [
        {"id": c["ms_teams_channel_id"], "displayName": c["ms_teams_channel_id"], "description": None}
        for c in data.get("connections") or []
        if c.get("ms_teams_team_id") == team_id and c.get("ms_teams_channel_id")
    ]
    return ok({"ms_teams_channels": channels})


@handles("providers.ms_teams.revoke_access", access=_TEAMS)
def teams_revoke_access(call: Call) -> Reply:
    data = _teams(call)
    data.pop("ms_teams_tenant_id", None)
    return ok(REVOKED)
