// The front end under test: Knock's official browser client, unchanged, used as an app's page
// would use it. The test drives it step by step through `window.steps` (see driver.mjs); each
// step returns plain JSON for the Python side to check. Bundled by esbuild for the page.
import Knock from "@knocklabs/client";

const knockHost = new URL(window.location.href).searchParams.get("knock");
let knock = null;
let feed = null;
let channelId = null;
const realtime = []; // feed items that arrived because of a socket push

function item(entry) {
  return {
    id: entry.id,
    seen_at: entry.seen_at,
    read_at: entry.read_at,
    archived_at: entry.archived_at,
  };
}

// A Knock error as the client hands it over: an ApiRequestError with the response status and body.
function failure(error) {
  return { failed: true, status: error?.response?.status ?? null, body: error?.response?.data ?? null };
}

function outcome(result) {
  if (result instanceof Error) return failure(result);
  return { failed: false, count: Array.isArray(result) ? result.length : null };
}

async function session(userId) {
  // The app's own backend (examples/fastapi_in_app_feed.py) signs the user token.
  const response = await fetch("/knock/session", { headers: { "X-Demo-User": userId } });
  if (!response.ok) throw new Error(`the app refused a session: ${response.status}`);
  return response.json();
}

function findItem(id) {
  const found = feed.getState().items.find((entry) => entry.id === id);
  if (!found) throw new Error(`no feed item ${id} in the store`);
  return found;
}

window.steps = {
  async signIn(userId) {
    const s = await session(userId);
    knock = new Knock(s.public_api_key, { host: knockHost });
    knock.authenticate(s.user_id, s.user_token);
    channelId = s.feed_channel_id;
    feed = knock.feeds.initialize(channelId, { archived: "exclude" });
    feed.on("items.received.realtime", ({ items }) => realtime.push(...items.map(item)));
    feed.listenForUpdates();
    return { userId: knock.userId, authenticated: knock.isAuthenticated(true) };
  },

  async socketJoined(timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    const topic = `feeds:${channelId}:${knock.userId}`;
    while (Date.now() < deadline) {
      const socket = knock.client().socket;
      const channel = socket.channels.find((c) => c.topic === topic);
      if (socket.isConnected() && channel?.state === "joined") return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  },

  async fetch() {
    const result = await feed.fetch();
    if (result.status !== "ok") return failure(result.data);
    const state = feed.getState();
    return { failed: false, items: state.items.map(item), meta: state.metadata };
  },

  async markAsSeen(id) {
    return outcome(await feed.markAsSeen(findItem(id)));
  },
  async markAsRead(id) {
    return outcome(await feed.markAsRead(findItem(id)));
  },
  async markAsArchived(id) {
    return outcome(await feed.markAsArchived(findItem(id)));
  },
  async markAllAsRead() {
    return outcome(await feed.markAllAsRead());
  },

  async getPreferences() {
    return knock.user.getPreferences();
  },
  async setPreferences(preferences) {
    return knock.user.setPreferences(preferences);
  },

  async waitForRealtime(count, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (realtime.length < count && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { items: realtime.slice(), meta: feed.getState().metadata };
  },

  // Refusals, seen through the client's own request path.
  async readFeedOf(otherUserId) {
    const response = await knock.client().makeRequest({
      method: "GET",
      url: `/v1/users/${otherUserId}/feeds/${channelId}`,
    });
    return response.statusCode === "ok" ? { failed: false } : failure(response.error);
  },
  async fetchWithToken(userId, userToken) {
    const stranger = new Knock(knock.apiKey, { host: knockHost });
    stranger.authenticate(userId, userToken);
    const result = await stranger.feeds.initialize(channelId).fetch();
    stranger.logout();
    return result.status === "ok" ? { failed: false } : failure(result.data);
  },
};
