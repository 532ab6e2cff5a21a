"""Operations both SDKs have carry the official SDK's (knockapi's) names.

A knockapi user should only need to add `await` and change the import: the same namespace
path, method name and positional (path parameter) names. The table is knockapi's API listing
(its `api.md`): HTTP method, path with knockapi's parameter names, and dotted method name.
"""

from __future__ import annotations

import re

from tests.helpers import resolve, spec_operations

KNOCKAPI = """
PUT    /v1/users/{user_id}  users.update
GET    /v1/users  users.list
DELETE /v1/users/{user_id}  users.delete
GET    /v1/users/{user_id}  users.get
GET    /v1/users/{user_id}/channel_data/{channel_id}  users.get_channel_data
GET    /v1/users/{user_id}/preferences/{id}  users.get_preferences
GET    /v1/users/{user_id}/messages  users.list_messages
GET    /v1/users/{user_id}/preferences  users.list_preferences
GET    /v1/users/{user_id}/schedules  users.list_schedules
GET    /v1/users/{user_id}/subscriptions  users.list_subscriptions
POST   /v1/users/{user_id}/merge  users.merge
PUT    /v1/users/{user_id}/channel_data/{channel_id}  users.set_channel_data
PUT    /v1/users/{user_id}/preferences/{id}  users.set_preferences
DELETE /v1/users/{user_id}/channel_data/{channel_id}  users.unset_channel_data
GET    /v1/users/{user_id}/feeds/{id}/settings  users.feeds.get_settings
GET    /v1/users/{user_id}/feeds/{id}  users.feeds.list_items
GET    /v1/users/{user_id}/guides/{channel_id}  users.guides.get_channel
PUT    /v1/users/{user_id}/guides/messages/{message_id}/archived  users.guides.mark_message_as_archived
PUT    /v1/users/{user_id}/guides/messages/{message_id}/interacted  users.guides.mark_message_as_interacted
PUT    /v1/users/{user_id}/guides/messages/{message_id}/seen  users.guides.mark_message_as_seen
POST   /v1/users/bulk/delete  users.bulk.delete
POST   /v1/users/bulk/identify  users.bulk.identify
POST   /v1/users/bulk/preferences  users.bulk.set_preferences
POST   /v1/users/{user_id}/preference_center/signed_url  users.preference_center.generate_signed_url
GET    /v1/users/{user_id}/preference_center/config  users.preference_center.get_config
GET    /v1/objects/{collection}  objects.list
DELETE /v1/objects/{collection}/{id}  objects.delete
POST   /v1/objects/{collection}/{object_id}/subscriptions  objects.add_subscriptions
DELETE /v1/objects/{collection}/{object_id}/subscriptions  objects.delete_subscriptions
GET    /v1/objects/{collection}/{id}  objects.get
GET    /v1/objects/{collection}/{object_id}/channel_data/{channel_id}  objects.get_channel_data
GET    /v1/objects/{collection}/{object_id}/preferences/{id}  objects.get_preferences
GET    /v1/objects/{collection}/{id}/messages  objects.list_messages
GET    /v1/objects/{collection}/{object_id}/preferences  objects.list_preferences
GET    /v1/objects/{collection}/{id}/schedules  objects.list_schedules
GET    /v1/objects/{collection}/{object_id}/subscriptions  objects.list_subscriptions
PUT    /v1/objects/{collection}/{id}  objects.set
PUT    /v1/objects/{collection}/{object_id}/channel_data/{channel_id}  objects.set_channel_data
PUT    /v1/objects/{collection}/{object_id}/preferences/{id}  objects.set_preferences
DELETE /v1/objects/{collection}/{object_id}/channel_data/{channel_id}  objects.unset_channel_data
POST   /v1/objects/{collection}/bulk/delete  objects.bulk.delete
POST   /v1/objects/{collection}/bulk/subscriptions/add  objects.bulk.add_subscriptions
POST   /v1/objects/{collection}/bulk/subscriptions/delete  objects.bulk.delete_subscriptions
POST   /v1/objects/{collection}/bulk/set  objects.bulk.set
GET    /v1/tenants  tenants.list
DELETE /v1/tenants/{id}  tenants.delete
GET    /v1/tenants/{id}  tenants.get
PUT    /v1/tenants/{id}  tenants.set
POST   /v1/tenants/bulk/delete  tenants.bulk.delete
POST   /v1/tenants/bulk/set  tenants.bulk.set
GET    /v1/bulk_operations/{id}  bulk_operations.get
GET    /v1/messages  messages.list
PUT    /v1/messages/{message_id}/archived  messages.archive
GET    /v1/messages/{message_id}  messages.get
GET    /v1/messages/{message_id}/content  messages.get_content
GET    /v1/messages/{message_id}/activities  messages.list_activities
GET    /v1/messages/{message_id}/delivery_logs  messages.list_delivery_logs
GET    /v1/messages/{message_id}/events  messages.list_events
PUT    /v1/messages/{message_id}/interacted  messages.mark_as_interacted
PUT    /v1/messages/{message_id}/read  messages.mark_as_read
PUT    /v1/messages/{message_id}/seen  messages.mark_as_seen
DELETE /v1/messages/{message_id}/read  messages.mark_as_unread
DELETE /v1/messages/{message_id}/seen  messages.mark_as_unseen
DELETE /v1/messages/{message_id}/archived  messages.unarchive
POST   /v1/messages/batch/archived  messages.batch.archive
GET    /v1/messages/batch/content  messages.batch.get_content
POST   /v1/messages/batch/interacted  messages.batch.mark_as_interacted
POST   /v1/messages/batch/read  messages.batch.mark_as_read
POST   /v1/messages/batch/seen  messages.batch.mark_as_seen
POST   /v1/messages/batch/unread  messages.batch.mark_as_unread
POST   /v1/messages/batch/unseen  messages.batch.mark_as_unseen
POST   /v1/messages/batch/unarchived  messages.batch.unarchive
GET    /v1/providers/slack/{channel_id}/auth_check  providers.slack.check_auth
GET    /v1/providers/slack/{channel_id}/channels  providers.slack.list_channels
PUT    /v1/providers/slack/{channel_id}/revoke_access  providers.slack.revoke_access
GET    /v1/providers/ms-teams/{channel_id}/auth_check  providers.ms_teams.check_auth
GET    /v1/providers/ms-teams/{channel_id}/channels  providers.ms_teams.list_channels
GET    /v1/providers/ms-teams/{channel_id}/teams  providers.ms_teams.list_teams
PUT    /v1/providers/ms-teams/{channel_id}/revoke_access  providers.ms_teams.revoke_access
POST   /v1/integrations/census/custom-destination  integrations.census.custom_destination
POST   /v1/integrations/hightouch/embedded-destination  integrations.hightouch.embedded_destination
POST   /v1/workflows/{key}/cancel  workflows.cancel
POST   /v1/workflows/{key}/trigger  workflows.trigger
POST   /v1/schedules  schedules.create
PUT    /v1/schedules  schedules.update
GET    /v1/schedules  schedules.list
DELETE /v1/schedules  schedules.delete
POST   /v1/schedules/bulk/create  schedules.bulk.create
POST   /v1/channels/{channel_id}/messages/bulk/{action}  channels.bulk.update_message_status
POST   /v1/audiences/{key}/members  audiences.add_members
GET    /v1/audiences/{key}/members  audiences.list_members
DELETE /v1/audiences/{key}/members  audiences.remove_members
GET    /v1/workflow_recipient_runs  workflow_recipient_runs.list
GET    /v1/workflow_recipient_runs/{id}  workflow_recipient_runs.get
"""

# knockapi operations the document does not have (yet).
NOT_IN_DOCUMENT: set[str] = set()


def _shape(method: str, path: str) -> tuple[str, str]:
    """An operation's method and path with its parameters unnamed, to match across naming."""
    return method.upper(), re.sub(r"\{[^}]+\}", "{}", path)


def _positional(path: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", path)


KNOCKAPI_OPERATIONS = {
    _shape(method, path): (name, _positional(path))
    for method, path, name in (line.split() for line in KNOCKAPI.strip().splitlines())
}
OURS = {
    _shape(method, path): (op["operationId"], _positional(path)) for path, method, op in spec_operations()
}


def test_every_operation_knockapi_has_carries_its_name_and_positional_names() -> None:
    differing = {
        shape: (ours, KNOCKAPI_OPERATIONS[shape])
        for shape, ours in OURS.items()
        if shape in KNOCKAPI_OPERATIONS and ours != KNOCKAPI_OPERATIONS[shape]
    }
    assert differing == {}


def test_only_the_listed_knockapi_operations_are_missing() -> None:
    missing = {name for shape, (name, _) in KNOCKAPI_OPERATIONS.items() if shape not in OURS}
    assert missing <= NOT_IN_DOCUMENT


def _inputs(path: str, method: str) -> set[str]:
    op = next(op for p, m, op in spec_operations() if (p, m) == (path, method))
    params = {resolve(p)["name"] for p in op.get("parameters", [])}
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    return params | set(resolve(body).get("properties", {}) if body else ())


def test_inputs_knock_does_not_publish_are_absent() -> None:
    # Neither Knock's API reference nor knockapi has these; the document once did.
    assert not {"page_size", "after", "before"} & _inputs("/v1/audiences/{key}/members", "get")
    assert "tenant" not in _inputs("/v1/objects/{collection}/{object_id}/preferences/{id}", "get")
    assert "preferences" not in _inputs("/v1/tenants/{id}", "put")
    assert "recipient_gids" not in _inputs("/v1/channels/{channel_id}/messages/bulk/{action}", "post")
