"""A FastAPI backend for Knock's in-app feed in the browser, with enhanced security mode.

The backend keeps one secret-key client for server-side calls (triggering workflows) and hands
each signed-in user a signed user token. The browser then calls Knock itself with the public
(pk_) key and that token, which lets it read and mark only that user's own feed.

Needs `pip install 'knock-async[tokens]' fastapi`. Configuration, from the environment:

    KNOCK_API_KEY           the secret key (server-side calls)
    KNOCK_PUBLIC_API_KEY    the publishable key, handed to the browser
    KNOCK_SIGNING_KEY       the signing key from Knock's dashboard (PEM or base64 PEM)
    KNOCK_FEED_CHANNEL_ID   the in-app feed channel the browser reads
    KNOCK_BASE_URL          optional: another Knock, e.g. the embedded test server

Try it against the embedded server (which prints the keys and where the signing key is):

    python -m knock_async.testing --port 4010 --enhanced-security --workflow new-comment=in_app_feed
    uvicorn examples.fastapi_in_app_feed:app

Its test, tests/tokens/test_fastapi_example.py, plays the browser with
`AsyncKnock(api_key=<pk_ key>, user_token=<token>, base_url=...)`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import attrs
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from pydantic import BaseModel

from knock_async import AsyncKnock
from knock_async.tokens import sign_user_token

TOKEN_LIFETIME = 3600  # seconds; the browser asks for a new token before this runs out


@attrs.frozen
class BrowserSettings:
    """What the browser needs to call Knock itself."""

    public_api_key: str
    feed_channel_id: str

    @classmethod
    def from_env(cls) -> BrowserSettings:
        return cls(os.environ["KNOCK_PUBLIC_API_KEY"], os.environ["KNOCK_FEED_CHANNEL_ID"])


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.browser_settings = BrowserSettings.from_env()
    async with AsyncKnock() as knock:  # KNOCK_API_KEY, KNOCK_BASE_URL
        app.state.knock = knock
        yield


app = FastAPI(lifespan=lifespan)


def get_knock(request: Request) -> AsyncKnock:
    knock: AsyncKnock = request.app.state.knock
    return knock


def current_user_id(x_demo_user: Annotated[str | None, Header()] = None) -> str:
    """The signed-in user. A stand-in: use your app's own authentication (session, OAuth, ...)."""
    if not x_demo_user:
        raise HTTPException(status_code=401, detail="sign in first")
    return x_demo_user


Knock = Annotated[AsyncKnock, Depends(get_knock)]
CurrentUserId = Annotated[str, Depends(current_user_id)]


class KnockSession(BaseModel):
    user_id: str
    user_token: str
    expires_in: int
    public_api_key: str
    feed_channel_id: str


@app.get("/knock/session")
def knock_session(request: Request, user_id: CurrentUserId) -> KnockSession:
    """A signed user token for the signed-in user, and what the browser needs beside it.

    A plain `def`: FastAPI runs it in its thread pool, so the RSA signature never blocks the
    event loop. The signing key comes from KNOCK_SIGNING_KEY.
    """
    settings: BrowserSettings = request.app.state.browser_settings
    return KnockSession(
        user_id=user_id,
        user_token=sign_user_token(user_id, expires_in=TOKEN_LIFETIME),
        expires_in=TOKEN_LIFETIME,
        public_api_key=settings.public_api_key,
        feed_channel_id=settings.feed_channel_id,
    )


class Comment(BaseModel):
    text: str
    watchers: list[str]


@app.post("/comments", status_code=201)
async def post_comment(comment: Comment, user_id: CurrentUserId, knock: Knock) -> dict[str, str]:
    """Server-side, with the secret key: notify the comment's watchers."""
    run = await knock.workflows.trigger(
        "new-comment", recipients=comment.watchers, actor=user_id, data={"text": comment.text}
    )
    return {"workflow_run_id": run.workflow_run_id}
