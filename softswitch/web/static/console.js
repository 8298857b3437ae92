// Operator console: plain JavaScript, no build step. Talks to /api/* and /ws on the same origin.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const LONG_WAIT_SECONDS = 60;

  const state = {
    me: null,
    calls: new Map(),      // waiting calls by id
    current: null,         // the call this operator holds
    selected: null,        // id of the selected waiting call
    clockOffset: 0,        // server time minus local time, seconds
    socket: null,
    reconnectDelay: 500,
    loggedIn: false,
    results: [],
    resultIndex: -1,
  };

  // -- HTTP ---------------------------------------------------------------------------------

  async function api(method, path, body) {
    const options = { method, headers: { "X-Console": "1" }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    if (response.status === 401 && state.loggedIn && path !== "/api/login") {
      showLogin("Your session has ended; please sign in again.");
    }
    if (!response.ok) {
      const error = new Error((data && data.error) || `${response.status} ${response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function say(text, isError = false) {
    const el = $("message");
    el.textContent = text || "";
    el.classList.toggle("error", Boolean(isError));
  }

  async function act(label, fn) {
    try {
      await fn();
    } catch (err) {
      say(`${label}: ${err.message}`, true);
    }
  }

  // -- formatting ---------------------------------------------------------------------------

  const now = () => Date.now() / 1000 + state.clockOffset;

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const m = Math.floor(s / 60);
    const h = Math.floor(m / 60);
    const pad = (n) => String(n).padStart(2, "0");
    return h > 0 ? `${h}:${pad(m % 60)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
  }

  function clockTime(epoch) {
    return new Date(epoch * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function callerText(call) {
    return call.caller_name && call.caller_name !== call.caller
      ? `${call.caller_name} (${call.caller})` : call.caller;
  }

  function exchangeText(call) {
    if (!call.exchange) return "–";
    return call.exchange_name ? `${call.exchange} · ${call.exchange_name}` : call.exchange;
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  // -- views --------------------------------------------------------------------------------

  function showLogin(message) {
    state.loggedIn = false;
    state.me = null;
    closeSocket();
    $("console-view").hidden = true;
    $("login-view").hidden = false;
    $("login-error").textContent = message || "";
    $("login-password").value = "";
    $("login-name").focus();
  }

  function showConsole(me) {
    state.loggedIn = true;
    $("login-view").hidden = true;
    $("console-view").hidden = false;
    if (document.activeElement) document.activeElement.blur();
    renderMe(me);
    openSocket();
    loadHistory();
  }

  function renderMe(me) {
    state.me = me;
    $("me-name").textContent = me.name || me.login;
    $("me-line").textContent = me.line ? `line ${me.line}` : "";
    const badge = $("me-state");
    const label = me.state.replace("_", " ");
    const text = me.state === "paused" && me.reason ? `paused: ${me.reason}` : label;
    badge.textContent = text;
    badge.className = `badge ${me.state}`;
    $("btn-available").disabled = me.state === "available" || me.state === "busy";
    $("btn-pause").disabled = me.state === "paused" || me.state === "busy";
    if (me.call !== undefined) setCurrent(me.call);
  }

  function sortedCalls() {
    return [...state.calls.values()].sort(
      (a, b) => (b.priority - a.priority) || (a.enqueued_at - b.enqueued_at) || (a.id - b.id));
  }

  function renderQueue() {
    const body = $("queue-body");
    const calls = sortedCalls();
    if (state.selected !== null && !state.calls.has(state.selected)) state.selected = null;
    if (state.selected === null && calls.length) state.selected = calls[0].id;
    body.replaceChildren();
    for (const call of calls) {
      const row = document.createElement("tr");
      row.dataset.id = call.id;
      row.setAttribute("aria-selected", String(call.id === state.selected));
      if (call.emergency) row.classList.add("emergency");
      const prio = cell(row, "");
      const tag = document.createElement("span");
      tag.className = call.emergency ? "prio emergency" : "prio";
      tag.textContent = call.emergency ? "EMERGENCY" : (call.priority > 0 ? `P${call.priority}` : "normal");
      prio.appendChild(tag);
      cell(row, callerText(call));
      cell(row, call.dialed);
      cell(row, exchangeText(call));
      cell(row, call.jack || "–", "jack");
      const wait = cell(row, duration(now() - call.enqueued_at), "num wait");
      wait.dataset.since = call.enqueued_at;
      const action = cell(row, "");
      const take = document.createElement("button");
      take.type = "button";
      take.textContent = "Take";
      take.setAttribute("aria-label", `Take call from ${callerText(call)} for ${call.dialed}`);
      take.disabled = Boolean(state.current);
      take.addEventListener("click", (event) => { event.stopPropagation(); takeCall(call.id); });
      action.appendChild(take);
      row.addEventListener("click", () => { state.selected = call.id; renderQueue(); });
      body.appendChild(row);
    }
    $("queue-count").textContent = String(calls.length);
    $("queue-empty").hidden = calls.length > 0;
    $("queue-table").hidden = calls.length === 0;
    tick();
  }

  function setCurrent(call) {
    state.current = call;
    const has = Boolean(call);
    $("current-none").hidden = has;
    $("current-call").hidden = !has;
    if (has) {
      $("cur-caller").textContent = callerText(call);
      $("cur-dialed").textContent = call.dialed;
      $("cur-exchange").textContent = exchangeText(call);
      $("cur-jack").textContent = call.jack || "–";
      $("cur-state").textContent = call.state.replace("_", " ");
      $("cur-since").textContent = clockTime(call.taken_at || call.enqueued_at);
    }
    $("btn-connect").disabled = !has;
    $("btn-sendback").disabled = !has;
    $("btn-hangup").disabled = !has;
    for (const button of $("queue-body").querySelectorAll("button")) button.disabled = has;
  }

  function renderStats(stats) {
    if (!stats) return;
    const secs = (v) => (v === null || v === undefined ? "–" : `${Math.round(v)} s`);
    $("st-offered").textContent = stats.offered ?? 0;
    $("st-taken").textContent = stats.taken ?? 0;
    $("st-connected").textContent = stats.connected ?? 0;
    $("st-abandoned").textContent = stats.abandoned ?? 0;
    $("st-p50").textContent = secs(stats.wait_p50);
    $("st-p90").textContent = secs(stats.wait_p90);
    $("st-sl").textContent =
      stats.service_level === null || stats.service_level === undefined
        ? "–" : `${Math.round(stats.service_level * 100)} %`;
    const target = stats.service_level_seconds;
    if (target) $("st-sl").title = `answered within ${target} s`;
  }

  function renderHistory(items) {
    const list = $("history-list");
    list.replaceChildren();
    for (const item of items) {
      const li = document.createElement("li");
      const line1 = document.createElement("div");
      line1.className = "line1";
      const who = document.createElement("span");
      who.textContent = `${callerText(item)} → ${item.connect_to || item.dialed}`;
      const when = document.createElement("span");
      when.className = "muted small";
      when.textContent = clockTime(item.taken_at || item.enqueued_at);
      line1.append(who, when);
      const outcome = document.createElement("div");
      outcome.className = "outcome";
      outcome.textContent = item.outcome;
      const note = document.createElement("input");
      note.type = "text";
      note.value = item.note || "";
      note.placeholder = "Add a note…";
      note.setAttribute("aria-label", `Note for the call from ${callerText(item)}`);
      note.addEventListener("change", () => act("Note", async () => {
        await api("POST", `/api/calls/${item.id}/note`, { note: note.value });
        say("Note saved.");
      }));
      li.append(line1, outcome, note);
      list.appendChild(li);
    }
    $("history-empty").hidden = items.length > 0;
  }

  async function loadHistory() {
    await act("History", async () => {
      const data = await api("GET", "/api/history");
      renderHistory(data.calls);
    });
  }

  function tick() {
    const t = now();
    for (const cellEl of document.querySelectorAll("#queue-body td.wait")) {
      const waited = t - Number(cellEl.dataset.since);
      cellEl.textContent = duration(waited);
      cellEl.classList.toggle("long", waited >= LONG_WAIT_SECONDS);
    }
  }

  function showAlert(alert) {
    const el = $("alert");
    el.textContent = alert.message;
    el.hidden = false;
    clearTimeout(showAlert.timer);
    showAlert.timer = setTimeout(() => { el.hidden = true; }, 15000);
  }

  // -- live updates -------------------------------------------------------------------------

  function openSocket() {
    closeSocket();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws`);
    state.socket = socket;
    socket.addEventListener("open", () => {
      state.reconnectDelay = 500;
      $("link-state").textContent = "live";
      $("link-state").classList.add("up");
    });
    socket.addEventListener("message", (event) => receive(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      if (state.socket !== socket) return;
      state.socket = null;
      $("link-state").textContent = "offline";
      $("link-state").classList.remove("up");
      if (!state.loggedIn) return;
      if (event.code === 4401) { showLogin("Your session has ended; please sign in again."); return; }
      setTimeout(() => { if (state.loggedIn && !state.socket) openSocket(); }, state.reconnectDelay);
      state.reconnectDelay = Math.min(state.reconnectDelay * 2, 10000);
    });
  }

  function closeSocket() {
    const socket = state.socket;
    state.socket = null;
    if (socket) socket.close();
  }

  function receive(message) {
    if (message.server_time) state.clockOffset = message.server_time - Date.now() / 1000;
    switch (message.type) {
      case "snapshot":
        state.calls = new Map(message.calls.map((c) => [c.id, c]));
        renderMe(message.me);
        renderStats(message.stats);
        renderQueue();
        break;
      case "call":
        if (message.call.queued) state.calls.set(message.call.id, message.call);
        else state.calls.delete(message.call.id);
        renderQueue();
        break;
      case "me": {
        const before = state.current ? state.current.id : null;
        renderMe(message.me);
        const after = state.current ? state.current.id : null;
        if (before !== null && before !== after) loadHistory();
        break;
      }
      case "stats":
        renderStats(message.stats);
        break;
      case "alert":
        showAlert(message);
        break;
      default:
        break;
    }
  }

  // -- actions ------------------------------------------------------------------------------

  async function takeCall(id) {
    if (id === null || id === undefined) { say("No call selected."); return; }
    await act("Take", async () => {
      const data = await api("POST", `/api/calls/${id}/take`);
      setCurrent(data.call);
      say(`Ringing your phone for the call from ${callerText(data.call)}.`);
    });
  }

  async function sendBack() {
    if (!state.current) return;
    await act("Send back", async () => {
      await api("POST", `/api/calls/${state.current.id}/send-back`);
      setCurrent(null);
      say("Call sent back to the queue.");
    });
  }

  async function hangUp() {
    if (!state.current) return;
    await act("Hang up", async () => {
      await api("POST", `/api/calls/${state.current.id}/hangup`);
      setCurrent(null);
      say("Call released.");
      loadHistory();
    });
  }

  async function setState(newState) {
    const body = { state: newState };
    if (newState === "paused") body.reason = $("pause-reason").value;
    await act("State", async () => {
      const data = await api("POST", "/api/me/state", body);
      renderMe(data.me);
    });
  }

  // -- connect dialog -----------------------------------------------------------------------

  function openConnect() {
    if (!state.current) { say("No call in hand to connect."); return; }
    $("connect-error").textContent = "";
    $("connect-search").value = "";
    $("connect-number").value = "";
    state.results = [];
    renderResults();
    $("connect-dialog").showModal();
    $("connect-search").focus();
  }

  function renderResults() {
    const list = $("connect-results");
    list.replaceChildren();
    state.results.forEach((entry, index) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(index === state.resultIndex));
      const num = document.createElement("span");
      num.className = "num";
      num.textContent = entry.number;
      const name = document.createElement("span");
      name.textContent = entry.name || "";
      const where = document.createElement("span");
      where.className = "muted";
      where.textContent = [entry.exchange, entry.jack].filter(Boolean).join(" · ");
      li.append(num, name, where);
      li.addEventListener("click", () => pickResult(index));
      list.appendChild(li);
    });
  }

  function pickResult(index) {
    const entry = state.results[index];
    if (!entry) return;
    state.resultIndex = index;
    $("connect-number").value = entry.number;
    renderResults();
    $("connect-number").focus();
  }

  let searchTimer = null;
  function searchDirectory() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const q = $("connect-search").value.trim();
      if (!q) { state.results = []; renderResults(); return; }
      try {
        const data = await api("GET", `/api/directory?q=${encodeURIComponent(q)}`);
        state.results = data.results;
        state.resultIndex = state.results.length ? 0 : -1;
        renderResults();
      } catch (err) {
        $("connect-error").textContent = err.message;
      }
    }, 150);
  }

  async function submitConnect(event) {
    event.preventDefault();
    const number = $("connect-number").value.trim();
    if (!number) { $("connect-error").textContent = "Enter a number."; return; }
    if (!state.current) return;
    try {
      const data = await api("POST", `/api/calls/${state.current.id}/connect`, { number });
      $("connect-dialog").close();
      setCurrent(data.call);
      say(`Connecting to ${number}…`);
    } catch (err) {
      $("connect-error").textContent = err.message;
    }
  }

  // -- keyboard -----------------------------------------------------------------------------

  function moveSelection(step) {
    const calls = sortedCalls();
    if (!calls.length) return;
    let index = calls.findIndex((c) => c.id === state.selected);
    index = Math.min(calls.length - 1, Math.max(0, index + step));
    state.selected = calls[index].id;
    renderQueue();
  }

  function onKey(event) {
    if (!state.loggedIn || event.ctrlKey || event.metaKey || event.altKey) return;
    if ($("connect-dialog").open) return;
    const tag = event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    const handlers = {
      t: () => takeCall(state.selected),
      c: openConnect,
      b: sendBack,
      h: hangUp,
      p: () => setState("paused"),
      a: () => setState("available"),
      ArrowDown: () => moveSelection(1),
      ArrowUp: () => moveSelection(-1),
    };
    const handler = handlers[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (handler) { event.preventDefault(); handler(); }
  }

  function onResultsKey(event) {
    if (!state.results.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      state.resultIndex = Math.min(state.results.length - 1, Math.max(0, state.resultIndex + step));
      renderResults();
    } else if (event.key === "Enter") {
      event.preventDefault();
      pickResult(state.resultIndex);
    }
  }

  // -- start --------------------------------------------------------------------------------

  async function login(event) {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      const data = await api("POST", "/api/login", {
        login: $("login-name").value.trim(),
        password: $("login-password").value,
      });
      $("login-password").value = "";
      showConsole(data.me);
    } catch (err) {
      $("login-error").textContent = err.message;
      $("login-password").select();
    }
  }

  async function logout() {
    try { await api("POST", "/api/logout"); } catch (_) { /* gone already */ }
    showLogin("Signed out.");
  }

  function init() {
    $("login-form").addEventListener("submit", login);
    $("btn-logout").addEventListener("click", logout);
    $("btn-available").addEventListener("click", () => setState("available"));
    $("btn-pause").addEventListener("click", () => setState("paused"));
    $("btn-connect").addEventListener("click", openConnect);
    $("btn-sendback").addEventListener("click", sendBack);
    $("btn-hangup").addEventListener("click", hangUp);
    $("connect-search").addEventListener("input", searchDirectory);
    $("connect-search").addEventListener("keydown", onResultsKey);
    $("connect-form").addEventListener("submit", submitConnect);
    $("connect-cancel").addEventListener("click", () => $("connect-dialog").close());
    document.addEventListener("keydown", onKey);
    setInterval(tick, 1000);
    api("GET", "/api/me").then((data) => showConsole(data.me), () => showLogin(""));
  }

  init();
})();
