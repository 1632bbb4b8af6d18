// The micro dashboard's script. It only ever sets text (textContent),
// never markup, so that nothing a service sends can run as a script.
"use strict";

const prefix = document.body.dataset.prefix || "/";

// el makes an element with the given class and text.
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

const svgNS = "http://www.w3.org/2000/svg";

// chart returns an inline SVG bar chart of calls (and errors, in red) per
// minute.
function chart(minutes, width, height) {
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("class", "spark");
  let calls = 0, errors = 0, top = 1;
  for (const m of minutes) {
    calls += m.calls; errors += m.errors; top = Math.max(top, m.calls);
  }
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${calls} calls and ${errors} errors in the last ${minutes.length} minutes`);
  const w = width / Math.max(1, minutes.length);
  minutes.forEach((m, i) => {
    const bar = (n, cls) => {
      const h = n === 0 ? 0 : Math.max(1, (n / top) * (height - 2));
      const r = document.createElementNS(svgNS, "rect");
      r.setAttribute("x", (i * w + 1).toFixed(1));
      r.setAttribute("y", (height - h).toFixed(1));
      r.setAttribute("width", Math.max(1, w - 2).toFixed(1));
      r.setAttribute("height", h.toFixed(1));
      r.setAttribute("class", cls);
      const title = document.createElementNS(svgNS, "title");
      title.textContent = `${new Date(m.start).toLocaleTimeString()}: ${m.calls} calls, ${m.errors} errors`;
      r.appendChild(title);
      svg.appendChild(r);
    };
    bar(m.calls, "calls");
    bar(m.errors, "errors");
  });
  const total = el("span", "totals", `${calls} calls, ${errors} errors`);
  const wrap = el("span", "chart-wrap");
  wrap.append(svg, total);
  return wrap;
}

function healthBadge(node) {
  const b = el("span", "health health-" + node.health.toLowerCase(), node.health);
  b.title = node.health_error || `${node.id} ${node.address}`;
  return b;
}

// follow calls onSnapshot with each snapshot of the services, live.
function follow(onSnapshot) {
  const live = document.getElementById("live");
  const events = new EventSource(prefix + "events");
  events.addEventListener("services", (e) => {
    live.textContent = "live";
    live.className = "live on";
    onSnapshot(JSON.parse(e.data));
  });
  events.onerror = () => {
    live.textContent = "reconnecting…";
    live.className = "live off";
  };
}

function matches(service, query) {
  if (!query) return true;
  query = query.toLowerCase();
  if (service.name.toLowerCase().includes(query)) return true;
  return service.nodes.some((n) =>
    Object.entries(n.metadata || {}).some(([k, v]) => (k + "=" + v).toLowerCase().includes(query)));
}

function servicesPage() {
  const body = document.querySelector("#services tbody");
  const search = document.getElementById("search");
  const empty = document.getElementById("empty");
  let last = { services: [] };
  const render = () => {
    const rows = last.services.filter((s) => matches(s, search.value.trim()));
    body.replaceChildren(...rows.map((s) => {
      const tr = el("tr");
      tr.dataset.service = s.name;
      const name = el("td");
      const a = el("a", "service-link", s.name);
      a.href = prefix + "services/" + encodeURIComponent(s.name);
      name.append(a);
      const health = el("td", "health-cell");
      s.nodes.forEach((n) => health.append(healthBadge(n), " "));
      const calls = el("td");
      calls.append(chart(s.minutes, 120, 24));
      tr.append(name, el("td", "", s.versions.join(", ") || "—"), el("td", "node-count", String(s.nodes.length)), health, calls);
      return tr;
    }));
    empty.hidden = rows.length > 0;
    empty.textContent = last.services.length ? "No service matches the search." : "No services are registered.";
  };
  search.addEventListener("input", render);
  follow((snapshot) => { last = snapshot; render(); });
}

function metadataList(metadata) {
  const dl = el("dl", "metadata");
  for (const [k, v] of Object.entries(metadata || {}).sort()) {
    dl.append(el("dt", "", k), el("dd", "", v));
  }
  return dl;
}

function servicePage(h1) {
  const name = h1.dataset.service;
  const body = document.querySelector("#nodes tbody");
  const gone = document.getElementById("gone");
  const chartBox = document.getElementById("chart");
  follow((snapshot) => {
    const s = snapshot.services.find((x) => x.name === name);
    gone.hidden = !!s;
    const nodes = s ? s.nodes : [];
    body.replaceChildren(...nodes.map((n) => {
      const tr = el("tr");
      tr.dataset.node = n.id;
      const md = el("td");
      md.append(metadataList(n.metadata));
      const h = el("td");
      h.append(healthBadge(n));
      tr.append(el("td", "", n.id), el("td", "", n.address), el("td", "", n.version || "—"), md, h);
      return tr;
    }));
    chartBox.replaceChildren(chart(s ? s.minutes : [], 300, 60));
  });
  document.querySelectorAll("details.endpoint").forEach((e) => endpoint(name, e));
}

// quote returns s quoted for a POSIX shell.
function quote(s) {
  return "'" + s.replaceAll("'", "'\\''") + "'";
}

function compactJSON(text) {
  try { return JSON.stringify(JSON.parse(text)); } catch { return text.trim(); }
}

function metadataHeaders(text) {
  const headers = [];
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  return headers;
}

// envelope frames one Connect streaming message.
function envelope(bytes, flags) {
  const out = new Uint8Array(5 + bytes.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, bytes.length);
  out.set(bytes, 5);
  return out;
}

function pretty(value) { return JSON.stringify(value, null, 2); }

function endpoint(service, box) {
  const procedure = box.dataset.procedure;
  const kind = box.dataset.kind;
  const form = box.querySelector("form.call");
  const request = form.elements.request;
  const metadata = form.elements.metadata;
  const invalid = form.querySelector(".invalid");
  const send = form.querySelector(".send");
  const stop = form.querySelector(".stop");
  const command = form.querySelector(".command");
  const result = box.querySelector(".result");
  const status = result.querySelector(".status");
  const headerList = result.querySelector(".header-list");
  const trailerList = result.querySelector(".trailer-list");
  const errorDetails = result.querySelector(".error-details");
  const messages = result.querySelector(".messages");
  const url = new URL(prefix + "rpc" + procedure, location.href).href;
  let controller = null;

  const show = (text) => {
    command.hidden = false;
    command.textContent = text;
    if (navigator.clipboard) navigator.clipboard.writeText(text).catch(() => {});
  };
  form.querySelector(".copy-micro").addEventListener("click", () => {
    const verb = kind === "unary" ? "call" : "stream";
    show(`micro ${verb} ${quote(service)} ${quote(procedure)} ${quote(compactJSON(request.value))}`);
  });
  const curl = form.querySelector(".copy-curl");
  if (curl) {
    curl.addEventListener("click", () => {
      let text = `curl -sS -X POST ${quote(url)} -H 'Content-Type: application/json' -H 'Connect-Protocol-Version: 1'`;
      for (const [k, v] of metadataHeaders(metadata.value)) text += ` -H ${quote("Grpc-Metadata-" + k + ": " + v)}`;
      show(text + ` -d ${quote(compactJSON(request.value))}`);
    });
  }

  const fail = (text) => { invalid.hidden = false; invalid.textContent = text; };
  const listHeaders = (pre, pairs) => {
    pre.textContent = pairs.length ? pairs.map(([k, v]) => `${k}: ${v}`).join("\n") : "(none)";
  };
  const showError = (err) => {
    if (!err) return;
    errorDetails.hidden = false;
    errorDetails.textContent = pretty(err);
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    invalid.hidden = true;
    let parsed;
    try {
      parsed = JSON.parse(request.value || "{}");
    } catch (e) {
      fail("Not valid JSON: " + e.message);
      return;
    }
    const streamsIn = kind === "client_stream" || kind === "bidi_stream";
    if (streamsIn !== Array.isArray(parsed)) {
      fail(streamsIn ? "This method streams its requests: give a JSON array of messages." : "Give one JSON object.");
      return;
    }
    const check = await fetch(prefix + "api/services/" + encodeURIComponent(service) + "/validate?procedure=" + encodeURIComponent(procedure),
      { method: "POST", body: request.value });
    if (check.status !== 204) {
      const problem = await check.json().catch(() => ({ error: check.statusText }));
      fail(problem.error);
      return;
    }

    result.hidden = false;
    messages.replaceChildren();
    errorDetails.hidden = true;
    errorDetails.textContent = "";
    status.className = "status";
    status.textContent = "calling…";
    listHeaders(headerList, []);
    listHeaders(trailerList, []);
    const headers = new Headers({ "Connect-Protocol-Version": "1" });
    for (const [k, v] of metadataHeaders(metadata.value)) headers.append("Grpc-Metadata-" + k, v);
    controller = new AbortController();
    send.disabled = true;
    if (stop) stop.disabled = false;
    const started = performance.now();
    const took = () => `${Math.round(performance.now() - started)} ms`;
    try {
      if (kind === "unary") {
        headers.set("Content-Type", "application/json");
        const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(parsed), signal: controller.signal });
        const text = await res.text();
        const plain = [], trailers = [];
        res.headers.forEach((v, k) => k.startsWith("trailer-") ? trailers.push([k.slice(8), v]) : plain.push([k, v]));
        listHeaders(headerList, plain);
        listHeaders(trailerList, trailers);
        let body;
        try { body = JSON.parse(text); } catch { body = text; }
        if (res.ok) {
          status.textContent = `${res.status} OK · ${took()}`;
          messages.append(el("li", "message", pretty(body)));
        } else {
          status.className = "status failed";
          status.textContent = `${res.status} ${body.code || res.statusText}: ${body.message || ""} · ${took()}`;
          showError(body);
        }
        return;
      }
      headers.set("Content-Type", "application/connect+json");
      const enc = new TextEncoder();
      const parts = (streamsIn ? parsed : [parsed]).map((m) => envelope(enc.encode(JSON.stringify(m)), 0));
      const bodyBytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) { bodyBytes.set(p, at); at += p.length; }
      const res = await fetch(url, { method: "POST", headers, body: bodyBytes, signal: controller.signal });
      const plain = [];
      res.headers.forEach((v, k) => plain.push([k, v]));
      listHeaders(headerList, plain);
      status.textContent = `${res.status} · streaming…`;
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = new Uint8Array(0), count = 0, end = null;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const joined = new Uint8Array(buf.length + value.length);
        joined.set(buf); joined.set(value, buf.length);
        buf = joined;
        while (buf.length >= 5) {
          const n = new DataView(buf.buffer, buf.byteOffset).getUint32(1);
          if (buf.length < 5 + n) break;
          const flags = buf[0];
          const text = dec.decode(buf.subarray(5, 5 + n));
          buf = buf.slice(5 + n);
          if (flags & 2) {
            end = JSON.parse(text || "{}");
          } else {
            count++;
            let shown;
            try { shown = pretty(JSON.parse(text)); } catch { shown = text; }
            messages.append(el("li", "message", shown));
            status.textContent = `${res.status} · ${count} messages · ${took()}`;
          }
        }
      }
      const trailers = [];
      for (const [k, vs] of Object.entries((end && end.metadata) || {})) for (const v of vs) trailers.push([k, v]);
      listHeaders(trailerList, trailers);
      if (end && end.error) {
        status.className = "status failed";
        status.textContent = `${res.status} ${end.error.code}: ${end.error.message || ""} · ${count} messages · ${took()}`;
        showError(end.error);
      } else if (!res.ok) {
        status.className = "status failed";
        status.textContent = `${res.status} ${res.statusText} · ${took()}`;
      } else {
        status.textContent = `${res.status} OK · ${count} messages · ${took()}`;
      }
    } catch (e) {
      if (e.name === "AbortError") {
        status.textContent = `stopped · ${messages.children.length} messages · ${took()}`;
      } else {
        status.className = "status failed";
        status.textContent = "failed: " + e.message;
      }
    } finally {
      send.disabled = false;
      if (stop) stop.disabled = true;
      controller = null;
    }
  });
  if (stop) stop.addEventListener("click", () => { if (controller) controller.abort(); });
}

const h1 = document.getElementById("service");
if (h1) servicePage(h1);
else if (document.getElementById("services")) servicesPage();
