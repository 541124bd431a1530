"""The console page's static parts: the HTML shell, its script and its style.

No build step and no third-party code. The shell holds no data and no secret: the board
comes from `GET /console/board` with the bearer token, which the script keeps in the
tab's sessionStorage and sends as `Authorization: Bearer`. The token is typed into the
form, or passed once as `/console#token=...`: a fragment never reaches a server, so it
stays out of access logs (a query string would not). The server never writes a token
into a page. Served with a Content-Security-Policy that allows only these files, so text
that slipped into the board could not run a script.
"""

from __future__ import annotations

__all__ = ["CSS", "JS", "SECURITY_HEADERS", "SHELL"]

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

SHELL = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Logwarden console</title>
<link rel="stylesheet" href="/console/console.css">
<script src="/console/console.js" defer></script>
</head>
<body>
<header class="top">
  <h1>Logwarden</h1>
  <span id="conn" class="conn">connecting…</span>
  <span id="updated" class="muted"></span>
  <span id="paused" class="muted" hidden>updates paused while you type</span>
  <button id="logout" type="button" hidden>Forget token</button>
</header>
<form id="login" class="login" hidden>
  <p id="login-why">This console needs an API token (<code>approvals.api_tokens</code>).</p>
  <label>Token <input id="token" type="password" autocomplete="current-password" required></label>
  <button type="submit">Open</button>
  <p class="muted">Kept in this tab only (sessionStorage), sent as a bearer token.</p>
</form>
<div id="toast" class="toast" role="status" aria-live="polite"></div>
<main id="board"><p class="muted">Loading…</p></main>
</body>
</html>
"""

JS = r"""(() => {
  "use strict";
  const KEY = "logwarden.console.token";
  const POLL_MS = 2000;
  const $ = (id) => document.getElementById(id);
  const board = $("board");
  let digest = null, timer = null, inflight = false, needsToken = false;

  // A token given once in the address's fragment (#token=..., never sent to a server, so
  // never in an access log) moves into this tab's session and out of the address bar.
  function takeToken() {
    const given = new URLSearchParams(location.hash.slice(1)).get("token");
    if (!given) return false;
    sessionStorage.setItem(KEY, given);
    history.replaceState(null, "", location.pathname);
    return true;
  }
  takeToken();
  const token = () => sessionStorage.getItem(KEY) || "";
  const headers = (extra) => {
    const h = Object.assign({Accept: "application/json"}, extra || {});
    if (token()) h.Authorization = "Bearer " + token();
    return h;
  };

  function ago(ts) {
    const s = Math.floor(Date.now() / 1000 - ts), d = Math.abs(s);
    if (d < 10) return "just now";
    const text = d < 60 ? d + " s" : d < 3600 ? Math.floor(d / 60) + " min"
      : d < 86400 ? Math.floor(d / 3600) + " h " + Math.floor(d % 3600 / 60) + " min" : Math.floor(d / 86400) + " d";
    return s < 0 ? "in " + text : text + " ago";
  }
  function tick() {
    document.querySelectorAll(".ago[data-ts]").forEach((el) => { el.textContent = ago(+el.dataset.ts); });
  }

  let toastTimer = null;
  function toast(text, bad) {
    const t = $("toast");
    t.textContent = text;
    t.className = "toast show" + (bad ? " bad" : "");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.className = "toast"; }, bad ? 20000 : 8000);
  }
  function typing() {
    return [...board.querySelectorAll("input.text")].some((i) => i.value);
  }
  function showLogin(why) {
    needsToken = true;
    $("login").hidden = false;
    $("login-why").textContent = why;
    $("conn").textContent = "locked";
    $("conn").className = "conn bad";
    board.innerHTML = "";
    digest = null;
  }

  function swap(html) {
    // Keep what the reader had: folded sections and the (empty) text box they were in.
    const open = {};
    board.querySelectorAll("details[data-key]").forEach((d) => { open[d.dataset.key] = d.open; });
    const active = document.activeElement;
    const focused = active && active.matches("input.text") && active.closest("[data-incident]");
    const focusedId = focused ? focused.dataset.incident : null;
    board.innerHTML = html;
    board.querySelectorAll("details[data-key]").forEach((d) => {
      if (d.dataset.key in open) d.open = open[d.dataset.key];
    });
    if (focusedId) {
      const again = [...board.querySelectorAll("[data-incident]")].find((el) => el.dataset.incident === focusedId);
      const input = again && again.querySelector("input.text");
      if (input) input.focus();
    }
  }

  async function poll() {
    if (inflight) return;
    inflight = true;
    clearTimeout(timer);
    try {
      const r = await fetch("/console/board", {headers: headers(), cache: "no-store"});
      if (r.status === 401 || r.status === 403) {
        if (r.status === 403) sessionStorage.removeItem(KEY);
        showLogin(r.status === 403 ? "That token was refused. Enter a valid one."
                                   : "This console needs an API token (approvals.api_tokens).");
        return;
      }
      if (!r.ok) throw new Error("HTTP " + r.status);
      const data = await r.json();
      $("login").hidden = true;
      $("logout").hidden = !token();
      $("conn").textContent = "live";
      $("conn").className = "conn ok";
      $("updated").textContent = "updated " + new Date(data.generated_at * 1000).toISOString().slice(11, 19) + " UTC";
      document.title = (data.open ? "(" + data.open + ") " : "") + "Logwarden console";
      const paused = typing();
      $("paused").hidden = !paused;
      if (data.digest !== digest && !paused) {
        swap(data.html);
        digest = data.digest;
      }
      tick();
    } catch (err) {
      $("conn").textContent = "disconnected (" + err.message + "), retrying";
      $("conn").className = "conn bad";
    } finally {
      inflight = false;
      if (!needsToken) timer = setTimeout(poll, POLL_MS);
    }
  }

  const WORDS = {approve: "Approve", escalate: "Escalate", acknowledge: "Acknowledge", note: "Note",
                 resolve: "Resolve", close: "Close"};
  async function act(button) {
    const act = button.dataset.act;
    const card = button.closest("[data-incident]");
    const incident = card ? card.dataset.incident : "";
    const input = card ? card.querySelector("input.text") : null;
    const text = input ? input.value.trim() : "";
    if ((act === "escalate" || act === "note") && !text) {
      toast(act === "escalate" ? "Write why you escalate in the text box, then press Escalate again."
                               : "Write the note in the text box first.", true);
      if (input) input.focus();
      return;
    }
    let url, body;
    if (act === "approve" || act === "escalate") {
      url = "/approvals/" + encodeURIComponent(button.dataset.approval);
      body = {action: act, reason: text};
    } else {
      url = "/incidents/" + encodeURIComponent(incident) + "/actions";
      body = {action: act, text: text};
    }
    button.disabled = true;
    try {
      // One key per click: a retried request is the same decision, never a second one.
      const key = "console-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
      const r = await fetch(url, {method: "POST", body: JSON.stringify(body),
                                  headers: headers({"Content-Type": "application/json", "Idempotency-Key": key})});
      let said = "";
      try { const j = await r.json(); said = j.message || j.reason || j.error || ""; } catch (e) { said = ""; }
      if (r.ok) {
        toast(WORDS[act] + " sent for " + incident + ". The board shows it once the incident stage took it.");
        if (input) input.value = "";
      } else {
        toast(WORDS[act] + " refused (" + r.status + ")" + (said ? ": " + said : ""), true);
      }
    } catch (err) {
      toast("Could not reach the worker: " + err.message, true);
    } finally {
      button.disabled = false;
      poll();
    }
  }

  document.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-act]");
    if (b) act(b);
  });
  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("token").value.trim());
    $("token").value = "";
    needsToken = false;
    poll();
  });
  window.addEventListener("hashchange", () => {
    if (takeToken()) { needsToken = false; poll(); }
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    location.reload();
  });
  setInterval(tick, 10000);
  poll();
})();
"""

CSS = """
:root { color-scheme: dark; --bg: #101317; --card: #181d23; --line: #2a313a; --text: #e6e9ee; --muted: #8a94a3;
  --p1: #ff4d4f; --p2: #ff9f1a; --p3: #f5d90a; --p4: #7b8794; --ok: #3ddc84; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header.top { position: sticky; top: 0; z-index: 2; display: flex; gap: 1em; align-items: baseline; padding: .6em 1em;
  background: #0b0d10; border-bottom: 1px solid var(--line); }
header.top h1 { font-size: 1.1em; margin: 0; }
main { padding: 1em; max-width: 1200px; margin: 0 auto; }
h2 { font-size: 1.05em; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 1.4em 0 .6em; }
.muted { color: var(--muted); }
.calm { font-size: 1.2em; color: var(--ok); }
.conn.ok { color: var(--ok); } .conn.bad { color: var(--p1); font-weight: bold; }
.banner { padding: .6em 1em; border: 1px solid var(--p2); border-radius: 6px; margin-bottom: 1em; }
.incident { background: var(--card); border: 1px solid var(--line); border-left: 8px solid var(--p4);
  border-radius: 6px;
  padding: .8em 1em; margin-bottom: 1em; }
.incident-P1 { border-left-color: var(--p1); } .incident-P2 { border-left-color: var(--p2); }
.incident-P3 { border-left-color: var(--p3); }
.incident[data-status=resolved] { opacity: .85; }
.escalated { color: var(--p1); }
.incident header { display: flex; gap: .6em; align-items: center; flex-wrap: wrap; }
.incident h3 { margin: 0; font-size: 1.2em; }
.sev { font-weight: 800; padding: .1em .5em; border-radius: 4px; background: var(--p4); color: #000; }
.sev-P1 { background: var(--p1); color: #fff; font-size: 1.25em; } .sev-P2 { background: var(--p2); }
.sev-P3 { background: var(--p3); }
.status { font-weight: 700; font-size: .85em; padding: .1em .45em; border: 1px solid currentColor; border-radius: 4px; }
.status-open { color: var(--p1); } .status-acknowledged { color: var(--p2); } .status-resolved { color: var(--ok); }
.meta { color: var(--muted); margin: .3em 0 .5em; } .meta .service { color: var(--text); }
.fix { border: 1px solid var(--p2); border-radius: 6px; padding: .6em .8em; margin: .6em 0; background: #221c12; }
.fix-approved, .fix-running, .fix-verifying, .fix-verified { border-color: var(--ok); background: #13221a; }
.fix-failed, .fix-escalated { border-color: var(--p1); background: #2a1516; }
.fix-state { font-weight: 700; margin-top: .3em; }
.mode { font-size: .8em; font-weight: 700; padding: .05em .4em; border-radius: 3px; background: #333; }
.mode-real { background: var(--p1); color: #fff; }
code { background: #0b0d10; padding: .1em .3em; border-radius: 3px; }
button { font: inherit; padding: .35em .9em; border-radius: 5px; border: 1px solid var(--line); background: #26303b;
  color: var(--text); cursor: pointer; }
button:disabled { opacity: .5; cursor: wait; }
button.approve { background: #1f7a45; border-color: #2aa160; font-weight: 700; }
button.escalate { background: #8a2a2b; border-color: #b13a3c; font-weight: 700; }
.actions { display: flex; gap: .5em; flex-wrap: wrap; margin: .5em 0; }
.actions input { flex: 1 1 18em; font: inherit; padding: .35em .5em; background: #0b0d10; color: var(--text);
  border: 1px solid var(--line); border-radius: 5px; }
details { margin: .4em 0; } summary { cursor: pointer; color: var(--muted); }
.ai { white-space: pre-wrap; padding: .4em .6em; border-left: 3px solid var(--line); }
ul.findings, ol.timeline { margin: .3em 0; padding-left: 1.3em; }
.count { font-weight: 700; } .label { font-weight: 600; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3em .5em;
  border-bottom: 1px solid var(--line); vertical-align: top; }
.login { max-width: 32em; margin: 2em auto; padding: 1em; background: var(--card); border-radius: 6px; }
.login input { font: inherit; padding: .3em; }
.toast { position: fixed; bottom: 1em; right: 1em; max-width: 40em; padding: .6em 1em; border-radius: 6px;
  background: #1f3a2a; border: 1px solid var(--ok); display: none; z-index: 3; }
.toast.show { display: block; } .toast.bad { background: #3a1f1f; border-color: var(--p1); }
.service-charts { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .5em 1em;
  margin-bottom: 1em; }
.service-charts h3 { margin: .2em 0; font-size: 1.05em; }
.chart-box { margin: .3em 0; } .chart-box figcaption { color: var(--muted); font-size: .85em; }
svg.chart { width: 100%; max-width: 800px; height: auto; display: block; font-size: 11px; }
svg.chart .line { fill: none; stroke: #6cb6ff; stroke-width: 1.5; }
svg.chart .line.errors_per_min { stroke: var(--p2); }
svg.chart .band { fill: #3ddc84; fill-opacity: .18; }
svg.chart .span { fill: var(--p1); fill-opacity: .22; }
svg.chart .axis { stroke: var(--muted); } svg.chart .tick { stroke: var(--line); stroke-dasharray: 2 3; }
svg.chart text { fill: var(--muted); }
.legend .key-band { color: #3ddc84; } .legend .key-span { color: var(--p1); }
"""
