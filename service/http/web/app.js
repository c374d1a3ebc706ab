// minimind-serve's chat page: conversations are server sessions (POST /v1/sessions, one per
// chat; each turn sends only the new message with x-session-id, so the session's KV is reused),
// replies stream from /v1/chat/completions, and the KV cache panel polls GET /v1/cache.
// Every piece of user or model text reaches the page through textContent, never as HTML.
"use strict";

const KEY_STORAGE = "minimind.apiKey";
const CURRENT_STORAGE = "minimind.currentSession";
const CACHE_POLL_MS = 1500;

const $ = (id) => document.getElementById(id);
const state = {
  key: localStorage.getItem(KEY_STORAGE) || "",
  model: "default",
  sessions: [],          // the list (GET /v1/sessions)
  current: null,         // session id, or null for a chat not started yet
  streaming: null,       // AbortController of the reply being streamed
};

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function headers(extra) {
  const h = Object.assign({"Content-Type": "application/json"}, extra || {});
  if (state.key) h["Authorization"] = "Bearer " + state.key;
  return h;
}

async function errorOf(response) {
  let message = response.status + " " + response.statusText;
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) message = body.error.message;
  } catch (ignored) { /* not JSON */ }
  return new HttpError(response.status, message);
}

// A JSON API call; a 401 asks for the key and retries once it is given.
async function api(method, path, body) {
  for (;;) {
    const usedKey = state.key;
    const response = await fetch(path, {
      method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) {
      // Sent before a new key was given: try the new one first.
      if (state.key === usedKey) await askForKey(await errorOf(response));
      continue;
    }
    if (!response.ok) throw await errorOf(response);
    return response.json();
  }
}

// ---- API key ----

let keyWaiters = [];
function askForKey(error) {
  $("key-form").hidden = false;
  $("key-error").textContent = error && state.key ? error.message : "";
  $("key-input").focus();
  return new Promise((resolve) => keyWaiters.push(resolve));
}
function keySubmitted(event) {
  event.preventDefault();
  state.key = $("key-input").value.trim();
  localStorage.setItem(KEY_STORAGE, state.key);
  $("key-form").hidden = true;
  const waiters = keyWaiters;
  keyWaiters = [];
  waiters.forEach((resolve) => resolve());
  if (waiters.length === 0) refreshAll();
}

// ---- Conversations ----

function titleOf(session) {
  const title = session.labels && session.labels.title;
  return title || "Chat " + session.id.slice(0, 8);
}

async function loadSessions() {
  const list = await api("GET", "/v1/sessions?limit=100");
  state.sessions = list.data.sort((a, b) => b.last_used - a.last_used);
  renderSessionList();
}

function renderSessionList() {
  const ul = $("conversation-list");
  ul.replaceChildren();
  for (const session of state.sessions) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = titleOf(session);
    button.title = titleOf(session) + " (" + session.num_messages + " messages)";
    button.dataset.sessionId = session.id;
    if (session.id === state.current) button.setAttribute("aria-current", "true");
    button.addEventListener("click", () => openSession(session.id));
    li.appendChild(button);
    ul.appendChild(li);
  }
  $("list-status").textContent = state.sessions.length === 0 ? "No chats yet." : "";
}

function setCurrent(id, title) {
  state.current = id;
  if (id) localStorage.setItem(CURRENT_STORAGE, id); else localStorage.removeItem(CURRENT_STORAGE);
  $("chat-title").textContent = title || "New chat";
  $("fork").disabled = !id;
  $("delete").disabled = !id;
  renderSessionList();
}

async function openSession(id) {
  if (state.streaming) return;
  $("chat-error").textContent = "";
  try {
    const session = await api("GET", "/v1/sessions/" + encodeURIComponent(id));
    setCurrent(session.id, titleOf(session));
    const messages = $("messages");
    messages.replaceChildren();
    for (const message of session.messages) addMessage(message.role, message.content);
    closeConversationsOnPhone();
  } catch (error) {
    showError(error);
    if (error.status === 404) {
      setCurrent(null);
      await loadSessions();
    }
  }
}

function newChat() {
  if (state.streaming) return;
  setCurrent(null);
  $("messages").replaceChildren();
  $("chat-error").textContent = "";
  $("input").focus();
  closeConversationsOnPhone();
}

async function forkChat() {
  if (!state.current || state.streaming) return;
  try {
    const fork = await api("POST", "/v1/sessions/" + encodeURIComponent(state.current) + "/fork", {});
    await loadSessions();
    await openSession(fork.id);
  } catch (error) {
    showError(error);
  }
}

async function deleteChat() {
  if (!state.current || state.streaming) return;
  try {
    await api("DELETE", "/v1/sessions/" + encodeURIComponent(state.current));
  } catch (error) {
    if (error.status !== 404) return showError(error);
  }
  newChat();
  await loadSessions();
  refreshCache();
}

// ---- Messages ----

function addMessage(role, text) {
  const li = document.createElement("li");
  li.className = "message " + role;
  const roleLine = document.createElement("div");
  roleLine.className = "role";
  roleLine.textContent = role === "user" ? "You" : role === "assistant" ? "Model" : role;
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  const stats = document.createElement("div");
  stats.className = "stats";
  li.append(roleLine, body, stats);
  $("messages").appendChild(li);
  li.scrollIntoView({block: "end"});
  return {li, body, stats};
}

function showError(error) {
  $("chat-error").textContent = error.message || String(error);
}

function number(id) {
  const value = $(id).value.trim();
  return value === "" ? undefined : Number(value);
}

function requestBody(text) {
  const body = {
    model: state.model,
    messages: [{role: "user", content: text}],
    stream: true,
    stream_options: {include_usage: true},
    max_tokens: number("max-tokens"),
    temperature: number("temperature"),
    top_p: number("top-p"),
    seed: number("seed"),
  };
  const schema = $("schema").value.trim();
  if (schema) {
    body.response_format = {type: "json_schema", json_schema: {name: "page", schema: JSON.parse(schema)}};
  }
  return body;
}

// Reads server-sent events, calling onEvent with each parsed `data:` JSON until [DONE].
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, {stream: true});
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        onEvent(JSON.parse(data));
      }
    }
  }
}

async function send(event) {
  event.preventDefault();
  if (state.streaming) return;
  const text = $("input").value;
  if (!text.trim()) return;
  $("chat-error").textContent = "";
  let body;
  try {
    body = requestBody(text);
  } catch (error) {
    return showError(new Error("The JSON schema is not valid JSON: " + error.message));
  }
  try {
    if (!state.current) {
      const systemPrompt = $("system-prompt").value;
      const session = await api("POST", "/v1/sessions", {
        system_prompt: systemPrompt,
        labels: {title: Array.from(text.trim()).slice(0, 60).join(""), client: "web"},
      });
      setCurrent(session.id, titleOf(session));
      await loadSessions();
    }
  } catch (error) {
    return showError(error);
  }
  $("input").value = "";
  addMessage("user", text);
  const reply = addMessage("assistant", "");
  reply.li.setAttribute("aria-busy", "true");
  const controller = new AbortController();
  state.streaming = controller;
  setStreaming(true);
  const started = performance.now();
  let firstToken = null;
  let usage = null;
  let finish = null;
  let stopped = false;
  try {
    let response;
    for (;;) {
      const usedKey = state.key;
      response = await fetch("/v1/chat/completions", {
        method: "POST",
        headers: headers({"x-session-id": state.current}),
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (response.status !== 401) break;
      if (state.key === usedKey) await askForKey(await errorOf(response));
    }
    if (!response.ok) throw await errorOf(response);
    await readEvents(response, (chunk) => {
      if (chunk.error) throw new Error(chunk.error.message);
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) return;
      if (choice.delta && choice.delta.content) {
        if (firstToken === null) firstToken = performance.now();
        reply.body.textContent += choice.delta.content;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    });
  } catch (error) {
    if (error.name === "AbortError") {
      stopped = true;
    } else {
      showError(error);
      reply.li.classList.add("stopped");
    }
  } finally {
    state.streaming = null;
    setStreaming(false);
    reply.li.removeAttribute("aria-busy");
  }
  const ended = performance.now();
  if (stopped) {
    reply.li.classList.add("stopped");
    reply.stats.textContent = "Stopped; the unfinished turn is not kept in the session.";
  } else if (usage) {
    const cached = (usage.prompt_tokens_details && usage.prompt_tokens_details.cached_tokens) || 0;
    const seconds = firstToken === null ? 0 : (ended - firstToken) / 1000;
    const rate = seconds > 0 && usage.completion_tokens > 1
        ? ((usage.completion_tokens - 1) / seconds).toFixed(1) + " tok/s · " : "";
    const ttft = firstToken === null ? "" : "TTFT " + Math.round(firstToken - started) + " ms · ";
    reply.stats.textContent = usage.completion_tokens + " tokens · " + rate + ttft +
        "cached " + cached + " of " + usage.prompt_tokens + " prompt tokens" +
        (finish && finish !== "stop" ? " · finish: " + finish : "");
    reply.li.dataset.cachedTokens = String(cached);
    reply.li.dataset.promptTokens = String(usage.prompt_tokens);
  }
  reply.li.dataset.done = stopped ? "stopped" : "complete";
  loadSessions().catch(showError);
  refreshCache();
}

function setStreaming(on) {
  $("send").disabled = on;
  $("stop").disabled = !on;
  $("fork").disabled = on || !state.current;
  $("delete").disabled = on || !state.current;
  $("new-chat").disabled = on;
}

function stop() {
  if (state.streaming) state.streaming.abort();
}

// ---- KV cache panel ----

function hue(id) {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) % 360;
  return h;
}

const FREE_COLOR = "#e6e6ea";
const CACHED_COLOR = "#8fb3e0";
const RUNNING_COLOR = "#4b4b57";

function drawGrid(cache) {
  const canvas = $("kv-grid");
  const context = canvas.getContext("2d");
  const kv = cache.kv;
  const total = Math.max(1, kv.blocks_total);
  // Square cells, as many as fit: one per block, or one per several on a large pool.
  const perCell = Math.max(1, Math.ceil(total / 2048));
  const cells = Math.ceil(total / perCell);
  const columns = Math.ceil(Math.sqrt(cells * canvas.width / canvas.height));
  const size = Math.max(2, Math.floor(canvas.width / columns));
  const rows = Math.ceil(cells / columns);
  canvas.height = Math.max(40, rows * size);
  context.fillStyle = FREE_COLOR;
  context.fillRect(0, 0, canvas.width, canvas.height);
  // Colours in pool order (a picture of the counts, not of physical block positions): each of
  // your sessions' blocks, then other blocks in use, the prefix cache's, then free ones.
  const spans = [];
  let sessionBlocks = 0;
  for (const session of cache.sessions) {
    if (session.kv !== "memory" || session.kv_blocks <= 0) continue;
    spans.push([session.kv_blocks, "hsl(" + hue(session.id) + " 65% 55%)"]);
    sessionBlocks += session.kv_blocks;
  }
  spans.push([Math.max(0, kv.blocks_used - sessionBlocks), RUNNING_COLOR]);
  spans.push([kv.blocks_cached, CACHED_COLOR]);
  let cell = 0;
  for (const [blocks, color] of spans) {
    // A square for any part of perCell blocks, so that a few blocks in a large pool still show.
    const count = Math.ceil(blocks / perCell);
    context.fillStyle = color;
    for (let i = 0; i < count && cell < cells; i++, cell++) {
      const x = (cell % columns) * size;
      const y = Math.floor(cell / columns) * size;
      context.fillRect(x + 0.5, y + 0.5, size - 1, size - 1);
    }
  }
  canvas.setAttribute("aria-label", "KV pool: " + kv.blocks_total + " blocks, " + kv.blocks_used +
      " in use, " + kv.blocks_cached + " cached, " + kv.blocks_free + " free" +
      (perCell > 1 ? " (one square per " + perCell + " blocks)" : ""));
  const legend = $("kv-legend");
  legend.replaceChildren();
  const entries = [[RUNNING_COLOR, "in use (sessions elsewhere, running requests)"],
                   [CACHED_COLOR, "prefix cache (reusable, reclaimable)"], [FREE_COLOR, "free"]];
  if (sessionBlocks > 0) entries.unshift(["hsl(210 65% 55%)", "your sessions (one colour each)"]);
  for (const [color, text] of entries) {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = color;
    const label = document.createElement("span");
    label.textContent = text;
    li.append(swatch, label);
    legend.appendChild(li);
  }
}

function renderNumbers(cache) {
  const kv = cache.kv;
  const rate = cache.prefix_cache.query_tokens > 0
      ? (100 * cache.prefix_cache.hit_tokens / cache.prefix_cache.query_tokens).toFixed(1) + " %" : "-";
  const rows = [
    ["Blocks", kv.blocks_total + " × " + kv.block_tokens + " tokens (" + kv.dtype + ")"],
    ["In use", String(kv.blocks_used)],
    ["Prefix cache", String(kv.blocks_cached)],
    ["Free", String(kv.blocks_free)],
    ["Prefix-cache hits (all requests)", rate],
    ["Running / waiting", cache.requests.running + " / " + cache.requests.waiting],
  ];
  if (cache.spill.enabled) rows.push(["Spilled to disk", cache.spill.files + " files"]);
  const dl = $("kv-numbers");
  dl.replaceChildren();
  for (const [term, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dl.append(dt, dd);
  }
  const tbody = $("kv-sessions");
  tbody.replaceChildren();
  const names = {memory: "in memory", spilled: "on disk", none: "not cached"};
  for (const session of cache.sessions) {
    const tr = document.createElement("tr");
    tr.dataset.sessionId = session.id;
    const name = document.createElement("td");
    name.textContent = titleOf(session);
    name.title = session.id;
    const tokens = document.createElement("td");
    tokens.textContent = String(session.num_tokens);
    const kvCell = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = "badge " + session.kv;
    badge.textContent = names[session.kv] + (session.kv === "memory" ? " · " + session.kv_blocks + " blocks" : "");
    kvCell.appendChild(badge);
    tr.append(name, tokens, kvCell);
    tbody.appendChild(tr);
  }
}

async function refreshCache() {
  // Not while the panel is closed, nor while the page waits for an API key.
  if ($("cache").hidden || !$("key-form").hidden) return;
  try {
    const cache = await api("GET", "/v1/cache");
    drawGrid(cache);
    renderNumbers(cache);
    $("cache-status").textContent = "Updated " + new Date().toLocaleTimeString();
  } catch (error) {
    $("cache-status").textContent = error.message;
  }
}

function toggleCache() {
  const panel = $("cache");
  panel.hidden = !panel.hidden;
  $("toggle-cache").setAttribute("aria-expanded", String(!panel.hidden));
  document.querySelector(".layout").classList.toggle("no-cache", panel.hidden);
  if (!panel.hidden) refreshCache();
}

function toggleConversations() {
  const nav = $("conversations");
  nav.classList.toggle("collapsed");
  $("toggle-conversations").setAttribute("aria-expanded", String(!nav.classList.contains("collapsed")));
}

function closeConversationsOnPhone() {
  if (window.matchMedia("(max-width: 760px)").matches) {
    $("conversations").classList.add("collapsed");
    $("toggle-conversations").setAttribute("aria-expanded", "false");
  }
}

async function refreshAll() {
  try {
    const models = await api("GET", "/v1/models");
    if (models.data && models.data[0]) {
      state.model = models.data[0].id;
      $("model").textContent = state.model;
    }
    await loadSessions();
    const saved = localStorage.getItem(CURRENT_STORAGE);
    if (saved && state.sessions.some((s) => s.id === saved)) await openSession(saved);
  } catch (error) {
    showError(error);
  }
  refreshCache();
}

function main() {
  $("key-form").addEventListener("submit", keySubmitted);
  $("key-cancel").addEventListener("click", () => { $("key-form").hidden = true; });
  $("show-key").addEventListener("click", () => askForKey(null));
  $("new-chat").addEventListener("click", newChat);
  $("fork").addEventListener("click", forkChat);
  $("delete").addEventListener("click", deleteChat);
  $("composer").addEventListener("submit", send);
  $("stop").addEventListener("click", stop);
  $("toggle-cache").addEventListener("click", toggleCache);
  $("toggle-conversations").addEventListener("click", toggleConversations);
  $("input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  closeConversationsOnPhone();
  setInterval(refreshCache, CACHE_POLL_MS);
  refreshAll();
}

main();
