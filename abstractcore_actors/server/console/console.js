// The gateway console: no framework, no build step. Every piece of text from
// the model or the server goes into the page as text nodes (textContent), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const ui = {
  form: $("ask"), model: $("model"), models: $("models"), key: $("key"), prompt: $("prompt"),
  tools: $("tools"), toolServers: $("tool-servers"),
  send: $("send"), stop: $("stop"), status: $("status"), answer: $("answer"),
  requestId: $("request-id"), chunks: $("chunks"), timeline: $("timeline"),
};
const VIRTUAL_EXAMPLES = ["race:", "ensemble:", "hedge:0.5:"];

// The request on screen. A new Send supersedes it: the old one is aborted (the
// gateway cancels its upstream call) and nothing it still says reaches the page.
//   {id, controller, socket, kind, members, winner, running, error}
let current = null;

function headers(extra) {
  const h = Object.assign({}, extra);
  const key = ui.key.value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

// state: "" | "running" | "done" | "stopped" | "error" (styled, and read by tests)
function setStatus(text, state) {
  ui.status.textContent = text;
  ui.status.dataset.state = state || "";
}

function askForKey(message) {
  setStatus(message + " (enter the gateway's API key above)", "error");
  ui.key.setAttribute("aria-invalid", "true");
  ui.key.focus();
}

function newRequestId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return "console-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The server's message of an OpenAI-style error body, else the HTTP status text.
async function errorMessage(response) {
  const body = await response.json().catch(() => null);
  const error = body && body.error;
  if (error && typeof error.message === "string") return error.message;
  return response.statusText || "request failed";
}

async function loadModels() {
  try {
    const response = await fetch("/v1/models", { headers: headers({}) });
    if (response.status === 401) { askForKey("models: HTTP 401: " + await errorMessage(response)); return; }
    if (!response.ok) { setStatus("models: HTTP " + response.status + ": " + await errorMessage(response), "error"); return; }
    ui.key.removeAttribute("aria-invalid");
    if (!current) setStatus("", "");
    const body = await response.json();
    const names = body.data.map((m) => m.id);
    ui.models.replaceChildren();
    const all = names.concat(names.length > 1
      ? VIRTUAL_EXAMPLES.map((p) => p + names.slice(0, 2).join(","))
      : []);
    for (const name of all) {
      const option = document.createElement("option");
      option.value = name;
      ui.models.append(option);
    }
    if (!ui.model.value && names.length) ui.model.value = names[0];
    await loadToolServers(); // after the models: one request at a time
  } catch (err) {
    setStatus("cannot list models: " + err.message, "error");
  }
}

// The MCP servers this key may use, for the Tools field (none: the field stays empty).
async function loadToolServers() {
  try {
    const response = await fetch("/v1/tools", { headers: headers({}) });
    if (!response.ok) return;
    const body = await response.json();
    const servers = [...new Set(body.data.map((t) => t.server))];
    ui.toolServers.replaceChildren();
    for (const server of servers) {
      const option = document.createElement("option");
      option.value = server;
      ui.toolServers.append(option);
    }
  } catch { /* the field still takes a name typed in */ }
}

function toolsOfRequest() {
  return ui.tools.value.split(",").map((s) => s.trim()).filter((s) => s)
    .map((label) => ({ type: "mcp", server_label: label }));
}

// "race:a,b?timeout=3" -> {kind: "race", members: ["a", "b"]}; a plain model -> kind "".
function parseModel(name) {
  const match = /^(race|ensemble|hedge):(?:[0-9.]+:)?([^?]*)/.exec(name);
  if (!match) return { kind: "", members: [] };
  return { kind: match[1], members: match[2].split(",").map((m) => m.trim()) };
}

// -- the timeline ------------------------------------------------------------

let started = 0;
let chunkCount = 0;

function contenderOf(e) {
  const slash = e.request_id.lastIndexOf("/");
  return slash < 0 ? null : Number(e.request_id.slice(slash + 1));
}

function contenderName(run, index) {
  const member = run.members[index];
  return "contender " + index + (member ? " (" + member + ")" : "");
}

function describe(e, run) {
  const parts = [];
  const index = contenderOf(e);
  if (index !== null) parts.push(contenderName(run, index));
  if (e.provider || e.model) parts.push(e.provider + "/" + e.model);
  switch (e.type) {
    case "generation.first_token": parts.push("ttft " + e.ttft.toFixed(3) + " s"); break;
    case "generation.completed":
      parts.push("finish " + e.finish_reason);
      parts.push("usage " + e.prompt_tokens + " in / " + e.completion_tokens + " out");
      parts.push(e.duration.toFixed(3) + " s");
      break;
    case "cancelled":
      if (run.winner !== null && index !== null && index !== run.winner) parts.push("lost the " + run.kind);
      parts.push(e.reason || e.source);
      break;
    case "tool.started": parts.push(e.tool + "(" + JSON.stringify(e.arguments) + ")"); break;
    case "tool.completed":
      parts.push(e.tool + (e.ok ? " ok" : " failed: " + e.error));
      parts.push(e.duration.toFixed(3) + " s");
      break;
    case "error": case "retry.attempted": case "retry.exhausted":
      parts.push(e.error_type + ": " + e.message); break;
  }
  if (e.dropped) parts.push(e.dropped + " events dropped before this one");
  return parts.join(" · ");
}

function item(type, className, kindText, text, timestamp) {
  const li = document.createElement("li");
  li.className = className;
  li.dataset.type = type;
  const t = document.createElement("span");
  t.className = "t";
  t.textContent = "+" + Math.max(0, timestamp - started).toFixed(3) + "s";
  const kind = document.createElement("span");
  kind.className = "kind";
  kind.textContent = kindText;
  li.append(t, kind, document.createTextNode(text));
  ui.timeline.append(li);
  return li;
}

// The console streams, so a race or a hedge is won by the first contender to
// send a token (a hedge's next attempt starts while none has).
function maybeWinner(e, run) {
  const index = contenderOf(e);
  if (index === null || run.winner !== null) return;
  const wins = (run.kind === "race" || run.kind === "hedge")
    && e.type === "generation.first_token";
  if (!wins) return;
  run.winner = index;
  item("console.winner", "winner", "winner", contenderName(run, index) + " won the " + run.kind
    + "; the answer is its own", e.timestamp);
}

function addEvent(e, run) {
  if (e.type === "generation.chunk") {
    chunkCount += 1;
    ui.chunks.textContent = "(" + chunkCount + " chunks)";
    if (!e.dropped) return; // chunks are counted, not listed, unless something was lost
  }
  item(e.type, e.type.replace(/\./g, "-"), e.type, describe(e, run), e.timestamp);
  maybeWinner(e, run);
}

function note(text, className) {
  const li = document.createElement("li");
  li.className = className || "note";
  li.textContent = text;
  ui.timeline.append(li);
}

// Resolves once the server says "subscribed" (or the socket failed: we still send).
function openEvents(run) {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const url = scheme + location.host + "/v1/events?request_id=" + encodeURIComponent(run.id);
  const socket = new WebSocket(url);
  const ready = new Promise((resolve) => {
    socket.addEventListener("open", () => {
      // Browsers cannot set headers on a WebSocket: the key goes in the first message.
      // Sent even when empty: a gateway with keys then refuses at once (4401) instead
      // of waiting for it; one without keys ignores the message.
      socket.send(JSON.stringify({ type: "auth", api_key: ui.key.value.trim() }));
    });
    socket.addEventListener("message", (message) => {
      let data;
      try { data = JSON.parse(message.data); } catch { return; }
      if (data.type === "subscribed") { resolve(); return; }
      if (current === run) addEvent(data, run);
    });
    socket.addEventListener("close", (close) => {
      if (current === run && close.code !== 1000 && close.code !== 1005) {
        note("events closed: " + close.code + (close.reason ? " " + close.reason : ""));
      }
      resolve();
    });
  });
  return { socket, ready };
}

// -- the answer ----------------------------------------------------------------

function showText(text) { ui.answer.append(document.createTextNode(text)); }

// Returns false at the end of the stream ([DONE] or an error frame).
function handleFrame(frame, run) {
  const data = frame.split("\n").filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(5).trimStart()).join("\n");
  if (!data) return true;
  if (data === "[DONE]") { run.finished = true; return false; }
  const chunk = JSON.parse(data);
  if (chunk.error) {
    run.error = typeof chunk.error.message === "string" ? chunk.error.message : "stream failed";
    note("error: " + run.error, "error");
    return false;
  }
  for (const choice of chunk.choices || []) {
    if (choice.delta && choice.delta.content) showText(choice.delta.content);
  }
  return true;
}

async function readSSE(body, run) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    if (current !== run) { reader.cancel(); return; }
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const more = handleFrame(buffer.slice(0, end), run);
      buffer = buffer.slice(end + 2);
      if (!more) { reader.cancel(); return; }
    }
  }
}

function finish(run, text, state) {
  run.running = false;
  if (current !== run) return; // superseded: the page belongs to the newer request
  setStatus(text, state);
  ui.stop.disabled = true;
}

async function send(event) {
  event.preventDefault();
  const previous = current;
  if (previous) {
    previous.controller.abort();
    previous.socket.close(1000);
  }
  const model = ui.model.value.trim();
  const run = Object.assign(parseModel(model), {
    id: newRequestId(), controller: new AbortController(), socket: null,
    winner: null, running: true, finished: false, error: null,
  });
  current = run;
  ui.answer.replaceChildren();
  ui.timeline.replaceChildren();
  ui.requestId.textContent = run.id;
  chunkCount = 0;
  ui.chunks.textContent = "";
  started = Date.now() / 1000;
  const events = openEvents(run);
  run.socket = events.socket;
  ui.stop.disabled = false;
  setStatus("connecting…", "running");
  await events.ready;
  if (current !== run || run.controller.signal.aborted) {
    run.socket.close(1000); // stopped before it was sent: nothing left to watch
    finish(run, "stopped", "stopped");
    return;
  }
  setStatus("asking…", "running");
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      signal: run.controller.signal,
      headers: headers({ "Content-Type": "application/json", "X-Request-Id": run.id }),
      body: JSON.stringify(Object.assign({
        model,
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: ui.prompt.value }],
      }, toolsOfRequest().length ? { tools: toolsOfRequest() } : {})),
    });
    if (!response.ok) {
      const message = "HTTP " + response.status + ": " + await errorMessage(response);
      finish(run, "error: " + message, "error");
      if (response.status === 401 && current === run) askForKey("error: " + message);
      return;
    }
    if (current === run) setStatus("streaming…", "running");
    await readSSE(response.body, run);
    if (run.error !== null) finish(run, "error: " + run.error, "error");
    else if (!run.finished) finish(run, "error: the stream ended before [DONE]", "error");
    else finish(run, "done", "done");
  } catch (err) {
    if (err.name === "AbortError") finish(run, "stopped", "stopped");
    else finish(run, "failed: " + err.message, "error");
  }
}

// Stop: abort the running request; with nothing running it does nothing.
function stop() {
  if (current && current.running) current.controller.abort();
}

ui.form.addEventListener("submit", send);
ui.stop.addEventListener("click", stop);
ui.key.addEventListener("change", loadModels);
loadModels();
