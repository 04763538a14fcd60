// The gateway console: no framework, no build step. Every piece of text from
// the model or the server goes into the page as text nodes (textContent), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const ui = {
  form: $("ask"), model: $("model"), models: $("models"), key: $("key"), prompt: $("prompt"),
  send: $("send"), stop: $("stop"), status: $("status"), answer: $("answer"),
  requestId: $("request-id"), chunks: $("chunks"), timeline: $("timeline"),
};
const VIRTUAL_EXAMPLES = ["race:", "ensemble:", "hedge:0.5:"];
let current = null; // {controller, socket}

function headers(extra) {
  const h = Object.assign({}, extra);
  const key = ui.key.value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function setStatus(text) { ui.status.textContent = text; }

function newRequestId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return "console-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function loadModels() {
  try {
    const response = await fetch("/v1/models", { headers: headers({}) });
    if (!response.ok) { setStatus("models: HTTP " + response.status + " (API key?)"); return; }
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
  } catch (err) {
    setStatus("cannot list models: " + err.message);
  }
}

// -- the timeline ------------------------------------------------------------

let started = 0;
let chunkCount = 0;

function describe(e) {
  const parts = [];
  if (e.request_id.includes("/")) parts.push("contender " + e.request_id.split("/").pop());
  if (e.provider || e.model) parts.push(e.provider + "/" + e.model);
  switch (e.type) {
    case "generation.first_token": parts.push("ttft " + e.ttft.toFixed(3) + " s"); break;
    case "generation.completed":
      parts.push("finish " + e.finish_reason);
      parts.push("usage " + e.prompt_tokens + " in / " + e.completion_tokens + " out");
      parts.push(e.duration.toFixed(3) + " s");
      break;
    case "cancelled": parts.push(e.reason || e.source); break;
    case "error": case "retry.attempted": case "retry.exhausted":
      parts.push(e.error_type + ": " + e.message); break;
  }
  if (e.dropped) parts.push(e.dropped + " events dropped before this one");
  return parts.join(" · ");
}

function addEvent(e) {
  if (e.type === "generation.chunk") {
    chunkCount += 1;
    ui.chunks.textContent = "(" + chunkCount + " chunks)";
    if (!e.dropped) return; // chunks are counted, not listed, unless something was lost
  }
  const li = document.createElement("li");
  li.className = e.type.replace(/\./g, "-");
  const t = document.createElement("span");
  t.className = "t";
  t.textContent = "+" + Math.max(0, e.timestamp - started).toFixed(3) + "s";
  const kind = document.createElement("span");
  kind.className = "kind";
  kind.textContent = e.type;
  li.append(t, kind, document.createTextNode(describe(e)));
  li.dataset.type = e.type;
  ui.timeline.append(li);
}

function note(text) {
  const li = document.createElement("li");
  li.className = "note";
  li.textContent = text;
  ui.timeline.append(li);
}

// Resolves once the server says "subscribed" (or the socket failed: we still send).
function openEvents(requestId) {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const url = scheme + location.host + "/v1/events?request_id=" + encodeURIComponent(requestId);
  const socket = new WebSocket(url);
  const ready = new Promise((resolve) => {
    socket.addEventListener("open", () => {
      const key = ui.key.value.trim();
      // Browsers cannot set headers on a WebSocket: the key goes in the first message.
      if (key) socket.send(JSON.stringify({ type: "auth", api_key: key }));
    });
    socket.addEventListener("message", (message) => {
      let data;
      try { data = JSON.parse(message.data); } catch { return; }
      if (data.type === "subscribed") { resolve(); return; }
      addEvent(data);
    });
    socket.addEventListener("close", (close) => {
      if (close.code !== 1000 && close.code !== 1005) {
        note("events closed: " + close.code + (close.reason ? " " + close.reason : ""));
      }
      resolve();
    });
  });
  return { socket, ready };
}

// -- the answer ----------------------------------------------------------------

function showText(text) { ui.answer.append(document.createTextNode(text)); }

function handleFrame(frame) {
  const data = frame.split("\n").filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(5).trimStart()).join("\n");
  if (!data || data === "[DONE]") return;
  const chunk = JSON.parse(data);
  if (chunk.error) { note("error: " + chunk.error.message); return; }
  for (const choice of chunk.choices || []) {
    if (choice.delta && choice.delta.content) showText(choice.delta.content);
  }
}

async function readSSE(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      handleFrame(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  }
}

async function send(event) {
  event.preventDefault();
  if (current) current.socket.close(1000);
  const requestId = newRequestId();
  const controller = new AbortController();
  ui.answer.replaceChildren();
  ui.timeline.replaceChildren();
  ui.requestId.textContent = requestId;
  chunkCount = 0;
  ui.chunks.textContent = "";
  started = Date.now() / 1000;
  const events = openEvents(requestId);
  current = { controller, socket: events.socket };
  ui.send.disabled = true;
  ui.stop.disabled = false;
  setStatus("connecting…");
  await events.ready;
  setStatus("asking…");
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      signal: controller.signal,
      headers: headers({ "Content-Type": "application/json", "X-Request-Id": requestId }),
      body: JSON.stringify({
        model: ui.model.value.trim(),
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: ui.prompt.value }],
      }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      const message = body.error ? body.error.message : response.statusText;
      setStatus("HTTP " + response.status + ": " + message);
      return;
    }
    setStatus("streaming…");
    await readSSE(response.body);
    setStatus("done");
  } catch (err) {
    setStatus(err.name === "AbortError" ? "stopped" : "failed: " + err.message);
  } finally {
    ui.send.disabled = false;
    ui.stop.disabled = true;
  }
}

function stop() {
  if (current) current.controller.abort();
}

ui.form.addEventListener("submit", send);
ui.stop.addEventListener("click", stop);
ui.key.addEventListener("change", loadModels);
loadModels();
