"""Type checks for request values the server stores and later answers with.

Knock refuses a badly typed value with 422 `invalid_params`; so must this server, or it would
store the value and send it back in a response that breaks the document's schema (and the
SDK's models). Each check raises `field_error` naming the offending field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, get_args

from .. import models
from ._clock import parse_time
from ._errors import field_error

Check = Callable[[Any, str], None]

CHANNEL_TYPES = ("chat", "email", "http", "in_app_feed", "push", "sms")
# The document's list, through the generated models: one home for it.
CONDITION_OPERATORS = frozenset(get_args(models.PreferenceConditionOperatorValue))
FREQUENCIES = ("daily", "weekly", "monthly", "hourly")
WEEKDAYS = frozenset({"mon", "tue", "wed", "thu", "fri", "sat", "sun"})
_USER_TEXT = ("name", "email", "avatar", "phone_number", "timezone", "locale")
_BRANDING_TEXT = ("primary_color", "primary_color_contrast", "logo_url", "icon_url")


def optional_text(value: Any, field: str) -> None:
    if value is not None and not isinstance(value, str):
        raise field_error(field, "must be a string or null", "type")


def optional_time(value: Any, field: str) -> None:
    optional_text(value, field)
    if value is not None:
        try:
            parse_time(value)
        except ValueError:
            raise field_error(field, "must be an RFC 3339 date-time") from None


def text_list(value: Any, field: str) -> list[str]:
    """A list of strings (ids, keys): anything else is refused, not skipped."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise field_error(field, "must be a list of strings", "type")
    return value


def mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise field_error(field, "must be an object", "type")
    return value


def optional_map_of(check: Check) -> Check:
    """null, or an object whose every value passes `check`."""

    def check_map(value: Any, field: str) -> None:
        if value is not None:
            for key, item in mapping(value, field).items():
                check(item, f"{field}.{key}")

    return check_map


def _at(field: str, name: str) -> str:
    """The path of `name` inside `field` ("" is the body itself)."""
    return f"{field}.{name}" if field else name


def recipient_properties(body: Mapping[str, Any], *, user: bool, field: str = "") -> None:
    """The typed properties of a user or object (identify, set, inline recipients)."""
    for name in _USER_TEXT if user else ("name", "locale", "timezone"):
        optional_text(body.get(name), _at(field, name))
    if user:
        optional_time(body.get("created_at"), _at(field, "created_at"))
    optional_map_of(preference_set)(body.get("preferences"), _at(field, "preferences"))


def tenant(body: Mapping[str, Any], field: str = "") -> None:
    optional_text(body.get("name"), _at(field, "name"))
    if body.get("settings") is None:
        return
    settings = mapping(body["settings"], _at(field, "settings"))
    if settings.get("branding") is not None:
        branding = mapping(settings["branding"], _at(field, "settings.branding"))
        for name in _BRANDING_TEXT:
            optional_text(branding.get(name), _at(field, f"settings.branding.{name}"))
    if settings.get("preference_set") is not None:
        preference_set(settings["preference_set"], _at(field, "settings.preference_set"))


def preference_set(value: Any, field: str = "") -> None:
    content = mapping(value, field or "body")
    for name in ("categories", "workflows"):
        optional_map_of(_workflow_setting)(content.get(name), _at(field, name))
    _channel_types(content.get("channel_types"), _at(field, "channel_types"))
    optional_map_of(_switch)(content.get("channels"), _at(field, "channels"))
    if content.get("commercial_subscribed") is not None:
        _switch(content["commercial_subscribed"], _at(field, "commercial_subscribed"))


def _workflow_setting(value: Any, field: str) -> None:
    if isinstance(value, bool):
        return
    setting = mapping(value, field)
    _channel_types(setting.get("channel_types"), f"{field}.channel_types")
    optional_map_of(_switch)(setting.get("channels"), f"{field}.channels")
    if setting.get("conditions") is not None:
        _conditions(setting["conditions"], f"{field}.conditions")


def _channel_types(value: Any, field: str) -> None:
    if value is not None:
        types = mapping(value, field)
        for name in CHANNEL_TYPES:
            if name in types:
                _switch(types[name], f"{field}.{name}")


def _switch(value: Any, field: str) -> None:
    """On/off, or on under conditions: a boolean or {"conditions": [...]}."""
    if not isinstance(value, bool):
        _conditions(mapping(value, field).get("conditions"), f"{field}.conditions")


def _conditions(value: Any, field: str) -> None:
    if not isinstance(value, list):
        raise field_error(field, "must be a list of conditions", "type")
    for index, item in enumerate(value):
        condition = mapping(item, f"{field}[{index}]")
        if not isinstance(condition.get("variable"), str):
            raise field_error(f"{field}[{index}].variable", "must be a string", "type")
        if condition.get("operator") not in CONDITION_OPERATORS:
            raise field_error(f"{field}[{index}].operator", "is not a condition operator")
        optional_text(condition.get("argument"), f"{field}[{index}].argument")


def optional_integer(value: Any, field: str) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise field_error(field, "must be an integer or null", "type")


def repeat_rules(value: Any, field: str = "repeats") -> list[Mapping[str, Any]]:
    """A schedule's repeat rules: [{frequency, interval?, days?, day_of_month?, hours?, minutes?}]."""
    if not isinstance(value, list):
        raise field_error(field, "must be a list of repeat rules", "type")
    for index, item in enumerate(value):
        rule, at = mapping(item, f"{field}[{index}]"), f"{field}[{index}]"
        if rule.get("frequency") not in FREQUENCIES:
            raise field_error(f"{at}.frequency", f"must be one of {', '.join(FREQUENCIES)}")
        for name in ("interval", "day_of_month", "hours", "minutes"):
            optional_integer(rule.get(name), f"{at}.{name}")
        days = rule.get("days")
        if days is not None and (
            not isinstance(days, list) or not set(text_list(days, f"{at}.days")) <= WEEKDAYS
        ):
            raise field_error(f"{at}.days", f"must be a list of {', '.join(sorted(WEEKDAYS))}")
    return value


def channel_data(value: Any, field: str = "data") -> None:
    """Push tokens or devices, SNS target ARNs, OneSignal player ids, or chat connections."""
    data = mapping(value, field)
    present = [name for name in _CHANNEL_DATA_LISTS if name in data]
    if not present:
        raise field_error(field, f"must hold one of {', '.join(_CHANNEL_DATA_LISTS)}")
    for name in present:
        items, check = data[name], _CHANNEL_DATA_LISTS[name]
        if not isinstance(items, list):
            raise field_error(f"{field}.{name}", "must be a list", "type")
        for index, item in enumerate(items):
            check(item, f"{field}.{name}[{index}]")
    if data.get("token") is not None:
        optional_text(
            mapping(data["token"], f"{field}.token").get("access_token"), f"{field}.token.access_token"
        )
    optional_text(data.get("ms_teams_tenant_id"), f"{field}.ms_teams_tenant_id")


def _text(value: Any, field: str) -> None:
    if not isinstance(value, str):
        raise field_error(field, "must be a string", "type")


def _device(value: Any, field: str) -> None:
    device = mapping(value, field)
    if not isinstance(device.get("token"), str) and not isinstance(device.get("target_arn"), str):
        raise field_error(field, "must have a token (or an SNS target_arn)", "type")
    for name in ("locale", "timezone"):
        optional_text(device.get(name), f"{field}.{name}")


def _connection(value: Any, field: str) -> None:
    connection = mapping(value, field)
    for name in _CONNECTION_TEXT:
        optional_text(connection.get(name), f"{field}.{name}")
    if connection.get("incoming_webhook") is not None:
        webhook = mapping(connection["incoming_webhook"], f"{field}.incoming_webhook")
        _text(webhook.get("url"), f"{field}.incoming_webhook.url")


_CHANNEL_DATA_LISTS: Mapping[str, Check] = {
    "tokens": _text,
    "target_arns": _text,
    "player_ids": _text,
    "devices": _device,
    "connections": _connection,
}
_CONNECTION_TEXT = (
    "access_token",
    "channel_id",
    "channel_name",
    "user_id",
    "knock_tenant_id",
    "ms_teams_tenant_id",
    "ms_teams_team_id",
    "ms_teams_channel_id",
    "ms_teams_user_id",
)
