"""Canned response bodies for the CPU benchmark, modelled on openapi/knock.yaml's examples.

They are built from a fixed seed, so every run (and both processes: the server builds
them, the client checks its results against them) sees the same bytes. Ids, cursors,
timestamps and text vary from item to item the way real answers do: a payload of one
item repeated fifty times would flatter any cache and be unrealistically compressible.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import string
from typing import Any, Final

USER_ID: Final = "user-1"
FEED_CHANNEL_ID: Final = "4d2e8f0a-7b1c-4e3d-9a6f-2c5b8d1e0f37"
WORKFLOW_KEY: Final = "new-comment"
FEED_ITEMS: Final = 50
USERS_PAGE_SIZE: Final = 50
USERS_PAGES: Final = 200
USERS_TOTAL: Final = USERS_PAGE_SIZE * USERS_PAGES

_BASE62: Final = string.digits + string.ascii_letters
_EPOCH: Final = dt.datetime(2024, 5, 2, 15, 4, 5, tzinfo=dt.timezone.utc)
_FIRST_NAMES: Final = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia")
_LAST_NAMES: Final = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")
_PROJECTS: Final = ("Apollo", "Gemini", "Mercury", "Artemis", "Voyager", "Pioneer")
_TIMEZONES: Final = ("Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Berlin", None)
_LOCALES: Final = ("en-GB", "en-US", "ja-JP", "de-DE", None)
_WORDS: Final = (
    "the build is green again",
    "can we move the review to Thursday?",
    "left two comments on the rollout plan",
    "ship it behind the flag",
    "the new copy reads much better",
)


def _dumps(value: Any) -> bytes:
    # Compact, as Knock sends it.
    return json.dumps(value, separators=(",", ":")).encode()


def _ksuid(rng: random.Random) -> str:
    return "".join(rng.choice(_BASE62) for _ in range(27))


def _timestamp(moment: dt.datetime, rng: random.Random) -> str:
    # Knock mixes whole seconds and microseconds; the parser must handle both.
    if rng.random() < 0.7:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _cursor(rng: random.Random, term: str) -> str:
    return base64.b64encode(b"\x83t\x00\x00\x00\x01d\x00\x02idm" + term.encode()).decode()


def _user(rng: random.Random, index: int, *, full: bool) -> dict[str, Any]:
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    updated = _EPOCH - dt.timedelta(seconds=rng.randrange(10_000_000), microseconds=rng.randrange(10**6))
    user: dict[str, Any] = {
        "__typename": "User",
        "id": f"user_{index}",
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{index}@example.com",
    }
    if full:
        user |= {
            "avatar": None if rng.random() < 0.3 else f"https://cdn.example.com/avatars/{index}.png",
            "phone_number": None if rng.random() < 0.5 else f"+4420{rng.randrange(10**8):08d}",
            "timezone": rng.choice(_TIMEZONES),
            "locale": rng.choice(_LOCALES),
            "created_at": None
            if rng.random() < 0.3
            else _timestamp(updated - dt.timedelta(days=rng.randrange(1, 400)), rng),
        }
    user["updated_at"] = _timestamp(updated, rng)
    if rng.random() < 0.4:  # custom properties end up in additional_properties
        user["plan"] = rng.choice(("free", "team", "enterprise"))
    return user


# --- users.get and workflows.trigger ------------------------------------------------------


def user_body() -> bytes:
    """`GET /v1/users/user-1`: the document's example with this benchmark's id."""
    return _dumps(
        {
            "__typename": "User",
            "id": USER_ID,
            "name": "Ada Lovelace",
            "email": "ada@analytical.example",
            "avatar": "https://cdn.analytical.example/avatars/ada.png",
            "phone_number": "+442071234567",
            "timezone": "Europe/London",
            "locale": "en-GB",
            "created_at": "2024-03-11T09:30:00Z",
            "updated_at": "2024-05-02T15:04:05.123456Z",
            "plan": "enterprise",
        }
    )


def trigger_body() -> bytes:
    return _dumps({"workflow_run_id": "8f2c1e7a-3b5d-4c9e-a1f0-6d2b7e4c9a13"})


TRIGGER_DATA: Final[dict[str, Any]] = {
    "comment_id": "c_981",
    "project_name": "Apollo",
    "comment_preview": "Looks good to me; ship it behind the flag.",
    "url": "https://app.example.com/projects/apollo/comments/c_981",
    "mentions": 2,
}


# --- users.feeds.list_items -------------------------------------------------------------


def _feed_item(rng: random.Random, position: int) -> dict[str, Any]:
    inserted = _EPOCH - dt.timedelta(minutes=7 * position, seconds=rng.randrange(60))
    project = rng.choice(_PROJECTS)
    comment_id = f"c_{rng.randrange(10**6)}"
    text = rng.choice(_WORDS)
    # One item in ten folds two triggers (a batch step): two actors, two activities.
    actor_count = 2 if position % 10 == 3 else 1
    actors = [_user(rng, rng.randrange(1, 5000), full=rng.random() < 0.25) for _ in range(actor_count)]
    data = {"comment_id": comment_id, "project_name": project}
    activities = []
    for actor in actors:
        activities.append(
            {
                "__typename": "Activity",
                "id": _ksuid(rng),
                "actor": {k: actor[k] for k in ("__typename", "id", "name", "email", "updated_at")},
                "recipient": _user(rng, 42, full=False),
                "data": data,
                "inserted_at": _timestamp(inserted, rng),
                "updated_at": _timestamp(inserted, rng),
            }
        )
    name = actors[0]["name"].split()[0]
    seen = rng.random() < 0.6
    read = seen and rng.random() < 0.5
    return {
        "__cursor": _cursor(rng, _ksuid(rng)),
        "__typename": "FeedItem",
        "id": _ksuid(rng),
        "actors": actors,
        "activities": activities,
        "blocks": [
            {
                "type": "markdown",
                "name": "body",
                "content": f"**{name}** commented on {project}: {text}",
                "rendered": f"<p><strong>{name}</strong> commented on {project}: {text}</p>",
            },
            {
                "type": "button_set",
                "name": "actions",
                "buttons": [
                    {
                        "name": "primary",
                        "label": "View comment",
                        "action": f"https://app.example.com/comments/{comment_id}",
                    },
                ],
            },
        ],
        "data": data,
        "source": {
            "__typename": "Workflow",
            "key": "new-comment",
            "version_id": "7a4e2c9b-1d3f-4b8a-95e6-0c2d4f6a8b1e",
            "categories": ["collaboration"],
        },
        "tenant": rng.choice(("acme", "globex", None)),
        "total_activities": len(activities),
        "total_actors": len(actors),
        "inserted_at": _timestamp(inserted, rng),
        "updated_at": _timestamp(inserted + dt.timedelta(seconds=rng.randrange(600)), rng),
        "read_at": _timestamp(inserted + dt.timedelta(minutes=9), rng) if read else None,
        "seen_at": _timestamp(inserted + dt.timedelta(minutes=6), rng) if seen else None,
        "clicked_at": None,
        "interacted_at": None,
        "link_clicked_at": None,
        "archived_at": None,
    }


def feed_body() -> bytes:
    """One full page (50 items, about 80 KB) of a user's in-app feed."""
    rng = random.Random(20240502)
    entries = [_feed_item(rng, position) for position in range(FEED_ITEMS)]
    return _dumps(
        {
            "entries": entries,
            "meta": {"__typename": "FeedMetadata", "total_count": 137, "unread_count": 12, "unseen_count": 4},
            "page_info": {
                "__typename": "PageInfo",
                "after": entries[-1]["__cursor"],
                "before": None,
                "page_size": FEED_ITEMS,
            },
            "vars": {"app_name": "Example", "app_url": "https://app.example.com"},
        }
    )


# --- users.list -------------------------------------------------------------------------


def users_cursor(page: int) -> str:
    """The `after` cursor that asks for `page` (0-based); page 0 is asked for without one."""
    # Base64 with "=" padding, like Knock's cursors, so that it needs percent-encoding.
    return base64.b64encode(f"users:{page:05d}".encode()).decode()


def users_pages() -> dict[str | None, bytes]:
    """Every page of the 10,000-user listing by the cursor that fetches it (None: the first)."""
    rng = random.Random(42)
    pages: dict[str | None, bytes] = {}
    for page in range(USERS_PAGES):
        entries = [
            _user(rng, page * USERS_PAGE_SIZE + i, full=rng.random() < 0.7) for i in range(USERS_PAGE_SIZE)
        ]
        last = page == USERS_PAGES - 1
        body = {
            "entries": entries,
            "page_info": {
                "__typename": "PageInfo",
                "after": None if last else users_cursor(page + 1),
                "before": None if page == 0 else users_cursor(page - 1),
                "page_size": USERS_PAGE_SIZE,
            },
        }
        pages[None if page == 0 else users_cursor(page)] = _dumps(body)
    return pages
