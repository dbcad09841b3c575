// The softphone page: shows the agent's phone line and calls, drives them through the
// localhost bridge (docs/bridge-protocol.md), and, inside Salesforce, uses Open CTI for
// click-to-dial, screen pops and call logging (docs/softphone-page.md).
//
// No framework and no build step. Everything that comes from the network (names, numbers,
// messages) reaches the DOM through textContent only.
"use strict";

(() => {
  const QUERY = new URLSearchParams(location.search);
  const DEFAULT_BRIDGE = "http://127.0.0.1:18088";
  const OPENCTI_PATH = "/support/api/66.0/lightning/opencti_min.js";
  const ENDED_SHOWN_MS = 3000;
  const RECENT_MAX = 20;
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const ACTIVE_EVERY_MS = 2000;
  const CALL_STATES = ["dialing", "ringing", "early", "connected", "held", "ended"];
  const RECORD_ID = /^[a-zA-Z0-9]{15,18}$/;

  // ------------------------------------------------------------------ small helpers

  const root = document.documentElement;
  const $ = (sel) => document.querySelector(sel);
  const field = (name) => $(`[data-field="${name}"]`);
  const ui = (name) => $(`[data-ui="${name}"]`);

  function setText(el, text) {
    const t = text == null ? "" : String(text);
    if (el && el.textContent !== t) el.textContent = t;
  }

  function setAttr(el, name, value) {
    if (!el) return;
    if (value == null) el.removeAttribute(name);
    else if (el.getAttribute(name) !== String(value)) el.setAttribute(name, String(value));
  }

  const SVG = "http://www.w3.org/2000/svg";
  function icon(id) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "i");
    svg.setAttribute("aria-hidden", "true");
    const use = document.createElementNS(SVG, "use");
    use.setAttribute("href", `#i-${id}`);
    svg.appendChild(use);
    return svg;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    return e;
  }

  const str = (v) => (typeof v === "string" ? v : "");
  const strOrNull = (v) => (typeof v === "string" ? v : null);

  function time(s) {
    const t = typeof s === "string" ? Date.parse(s) : NaN;
    return Number.isFinite(t) ? t : null;
  }

  function clock(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const two = (n) => String(n).padStart(2, "0");
    return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
  }

  function isLoopbackHost(hostname) {
    const h = hostname.toLowerCase();
    return h === "localhost" || h === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
  }

  // Browsers that block third-party storage deny localStorage and sessionStorage to a page
  // framed by Salesforce. Then this frame's session history entry (history.state) stands in:
  // it survives a reload of the frame, which is what matters most (resuming, and never
  // logging a call twice), though it is not shared with other tabs.
  const frameStore = {
    data: history.state && typeof history.state === "object" && history.state.softphone && typeof history.state.softphone === "object" ? { ...history.state.softphone } : {},
    get length() {
      return Object.keys(this.data).length;
    },
    key(i) {
      return Object.keys(this.data)[i] ?? null;
    },
    getItem(k) {
      return Object.prototype.hasOwnProperty.call(this.data, k) ? this.data[k] : null;
    },
    setItem(k, v) {
      this.data[k] = String(v);
      this.flush();
    },
    removeItem(k) {
      delete this.data[k];
      this.flush();
    },
    flush() {
      try {
        const base = history.state && typeof history.state === "object" ? history.state : {};
        history.replaceState({ ...base, softphone: this.data }, "");
      } catch (e) {
        console.warn("softphone: cannot keep state in history", e);
      }
    },
  };
  function storageArea(name) {
    try {
      const s = window[name];
      s.getItem("x");
      return s;
    } catch (e) {
      console.warn(`softphone: ${name} unavailable (${e.name}); keeping state in this frame's history`);
      return frameStore;
    }
  }
  const LOCAL = storageArea("localStorage");
  const SESSION = storageArea("sessionStorage");
  const PREFIX = "softphone:";
  const store = {
    get(area, key) {
      if (!area) return null;
      try {
        const v = area.getItem(PREFIX + key);
        return v == null ? null : JSON.parse(v);
      } catch (e) {
        return null;
      }
    },
    set(area, key, value) {
      if (!area) return;
      try {
        area.setItem(PREFIX + key, JSON.stringify(value));
      } catch (e) {
        console.warn("softphone: cannot store", key, e);
      }
    },
  };

  // ------------------------------------------------------------------ state

  const state = {
    bridge: null,
    servedByAgent: false,
    instance: null,
    seq: null,
    registration: null,
    regSeenAt: 0,
    calls: new Map(), // id -> call view, oldest first
    link: "connecting", // connecting | up | down
    blocked: false,
    ws: null,
    backoff: BACKOFF_FIRST_MS,
    retryAt: 0,
    retryTimer: null,
    focusId: null,
    endedHold: null, // {id, until}
    dialerOpen: false,
    panel: null, // "keypad" | "transfer"
    dtmfSent: new Map(), // call id -> digits sent
    notes: new Map(), // call id -> {text, bad}
    busy: new Set(),
    devices: null,
    levelsAt: 0,
    wrapup: null, // {id, call, dirty, shownFor}
    wrapupWanted: null, // the agent's wrap-up call, until its call view is known
    wrapupDoneFor: null, // Done clicked for this call before the agent said "wrap-up"
    lastDialed: "",
    // This page's tab at the agent; only the leading tab pops records and saves call logs.
    tab: null,
    leader: false,
    agent: null, // the status's agent object (available, on_call, ...)
    records: null, // the status's records: {ok, error}
    popAsked: new Set(), // inbound calls this tab asked to pop
    recent: [], // GET /api/v1/history
  };

  const isLive = (c) => c.state !== "ended";
  const callKey = (id) => `${state.instance || "?"}:${id}`;

  // The page's state for a call: what data-state says.
  function pageState(c) {
    switch (c.state) {
      case "ended":
        return "ended";
      case "held":
        return "held";
      case "connected":
        return "connected";
      case "ringing":
        return c.direction === "inbound" ? "ringing" : "dialing";
      default:
        return "dialing";
    }
  }

  // Bridge input is checked before use; a malformed call view is ignored.
  function cleanCall(c) {
    if (!c || typeof c !== "object" || typeof c.id !== "string" || !c.id) return null;
    if (!CALL_STATES.includes(c.state)) return null;
    const remote = c.remote && typeof c.remote === "object" ? c.remote : {};
    const reason = c.end_reason && typeof c.end_reason === "object" ? c.end_reason : null;
    return {
      id: c.id,
      direction: c.direction === "outbound" ? "outbound" : "inbound",
      state: c.state,
      remote: {
        number: str(remote.number),
        display_name: strOrNull(remote.display_name),
        uri: str(remote.uri),
      },
      started_at: strOrNull(c.started_at),
      answered_at: strOrNull(c.answered_at),
      ended_at: strOrNull(c.ended_at),
      muted: c.muted === true,
      on_hold_by_remote: c.on_hold_by_remote === true,
      end_reason: reason
        ? {
            code: str(reason.code) || "failed",
            message: str(reason.message),
            sip_status: typeof reason.sip_status === "number" ? reason.sip_status : null,
          }
        : null,
      quality: cleanQuality(c.quality),
      encrypted: c.encrypted === true,
      srtp_suite: strOrNull(c.srtp_suite),
    };
  }

  function cleanQuality(q) {
    if (!q || typeof q !== "object") return null;
    const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
    return {
      mos: num(q.mos),
      packets_received: num(q.packets_received),
      packets_lost: num(q.packets_lost),
      jitter_ms: num(q.jitter_ms),
      rtt_ms: typeof q.rtt_ms === "number" ? q.rtt_ms : null,
    };
  }

  // ------------------------------------------------------------------ per-call Salesforce data

  // What Open CTI told us about a call (the record clicked or found), kept in localStorage so
  // a reload still logs against it.
  const searches = new Map(); // key -> Promise of the search
  function meta(key) {
    return store.get(LOCAL, `call:${key}`) || memoryMeta.get(key) || {};
  }
  const memoryMeta = new Map();
  function saveMeta(key, patch) {
    const m = { ...meta(key), ...patch, at: Date.now() };
    memoryMeta.set(key, m);
    store.set(LOCAL, `call:${key}`, m);
    return m;
  }


  function displayName(c) {
    const m = meta(callKey(c.id));
    return str(m.recordName) || c.remote.display_name || c.remote.number || "Unknown caller";
  }

  function initials(name) {
    const words = name.split(/\s+/).filter((w) => /^\p{L}/u.test(w));
    if (!words.length) return "";
    const first = words[0][0];
    const last = words.length > 1 ? words[words.length - 1][0] : "";
    return (first + last).toUpperCase();
  }

  // ------------------------------------------------------------------ messages to the agent

  let lastError = "";
  function showError(message) {
    lastError = String(message);
    setText(field("error"), lastError);
    ui("error").hidden = false;
    console.warn("softphone:", lastError);
  }

  function clearError() {
    lastError = "";
    setText(field("error"), "");
    ui("error").hidden = true;
  }

  let announced = "";
  function announce(text) {
    if (text === announced) return;
    announced = text;
    setText(ui("live"), text);
  }

  function note(id, text, bad) {
    state.notes.set(id, { text, bad: !!bad });
  }

  // ------------------------------------------------------------------ the bridge: HTTP

  async function api(method, path, body) {
    const init = { method, cache: "no-store", headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(`${state.bridge}/api/v1${path}`, init);
    } catch (e) {
      // The agent is not running, or the browser blocked access to this computer.
      setBlocked(true);
      throw { code: "bridge_unreachable", message: `cannot reach the phone agent (${e.message})` };
    }
    let json = null;
    try {
      json = await res.json();
    } catch (e) {
      json = null;
    }
    if (!res.ok) {
      const err = json && json.error && typeof json.error === "object" ? json.error : {};
      throw {
        code: str(err.code) || `http_${res.status}`,
        message: str(err.message) || `the agent answered ${res.status}`,
      };
    }
    return json;
  }

  async function command(id, action, body) {
    const token = `${id}:${action}`;
    if (state.busy.has(token)) return false;
    state.busy.add(token);
    try {
      await api("POST", `/calls/${encodeURIComponent(id)}/${action}`, body);
      return true;
    } catch (e) {
      showError(`Could not ${ACTION_WORDS[action] || action}: ${e.message}`);
      return false;
    } finally {
      state.busy.delete(token);
    }
  }

  const ACTION_WORDS = {
    answer: "answer",
    reject: "decline the call",
    hangup: "hang up",
    hold: "hold the call",
    resume: "resume the call",
    mute: "mute",
    unmute: "unmute",
    dtmf: "send the tone",
    transfer: "transfer the call",
  };

  async function dial(number, ctx) {
    const to = String(number || "").trim();
    if (!to) {
      field("number").focus();
      return;
    }
    if (state.busy.has("dial")) return;
    state.busy.add("dial");
    let res;
    try {
      res = await api("POST", "/calls", { to });
    } catch (e) {
      showError(`Could not call ${to}: ${e.message}`);
      return;
    } finally {
      state.busy.delete("dial");
    }
    const id = res && typeof res.id === "string" ? res.id : null;
    if (!id) return;
    state.lastDialed = to;
    state.focusId = id;
    state.dialerOpen = false;
    state.panel = null;
    if (ctx.source === "pad") field("number").value = "";
    const key = callKey(id);
    // The tab that dialled (the agent clicked in it) opens the record; the call's Task
    // names it wherever it is saved from.
    if (ctx.recordId) {
      saveMeta(key, {
        recordId: ctx.recordId,
        objectType: ctx.objectType,
        recordName: ctx.recordName,
        direction: "outbound",
      });
      sendRecord(id, { Id: ctx.recordId, Name: ctx.recordName, RecordType: ctx.objectType });
      if (cti.ready) {
        cti.call("screenPop", { type: cti.const("SCREENPOP_TYPE", "SOBJECT", "sobject"), params: { recordId: ctx.recordId } }, "Salesforce could not open the record");
      }
    } else if (cti.ready) {
      search(id, to, cti.const("CALL_TYPE", "OUTBOUND", "outbound"));
    }
    render();
  }

  // ------------------------------------------------------------------ the bridge: events

  function resumeKey() {
    return `resume:${state.bridge}`;
  }

  let saveQueued = false;
  function saveResume() {
    if (saveQueued) return;
    saveQueued = true;
    queueMicrotask(() => {
      saveQueued = false;
      store.set(SESSION, resumeKey(), {
        instance: state.instance,
        seq: state.seq,
        registration: state.registration,
        calls: [...state.calls.values()],
        focusId: state.focusId,
      });
    });
  }

  // After a reload the last state comes back at once, and the socket resumes after its seq:
  // missed events replay, or a snapshot replaces everything.
  function restoreResume() {
    const r = store.get(SESSION, resumeKey());
    if (!r || typeof r.instance !== "string" || !Number.isSafeInteger(r.seq)) return;
    state.instance = r.instance;
    state.seq = r.seq;
    state.registration = r.registration && typeof r.registration === "object" ? r.registration : null;
    state.regSeenAt = Date.now();
    for (const c of Array.isArray(r.calls) ? r.calls : []) {
      const call = cleanCall(c);
      if (call) {
        state.calls.set(call.id, call);
      }
    }
    if (typeof r.focusId === "string" && state.calls.has(r.focusId)) state.focusId = r.focusId;
  }

  function connect() {
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    if (state.ws) return;
    const q =
      state.instance && state.seq != null
        ? `?tab=1&since=${state.seq}&instance=${encodeURIComponent(state.instance)}`
        : "?tab=1";
    const url = `${state.bridge.replace(/^http/, "ws")}/api/v1/events${q}`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      console.warn("softphone: cannot open the event socket", e);
      setBlocked(true);
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    state.link = "connecting";
    let opened = false;
    ws.onopen = () => {
      opened = true;
      state.link = "up";
      state.backoff = BACKOFF_FIRST_MS;
      setBlocked(false);
      loadDevices();
      refreshRecent();
      if (document.visibilityState === "visible" && document.hasFocus()) sayActive(true);
      render();
    };
    ws.onmessage = (m) => onMessage(m.data);
    ws.onclose = (e) => {
      if (state.ws !== ws) return;
      state.ws = null;
      state.link = "down";
      state.tab = null;
      state.leader = false;
      // 1006 before open: nothing answered, or the browser refused (Local Network Access).
      if (!opened && e.code === 1006) setBlocked(true);
      scheduleReconnect();
      render();
    };
  }

  // Tells the agent this tab is in front, so it leads: the agent's focused tab pops the
  // caller's record where the agent is looking. At most every ACTIVE_EVERY_MS.
  let activeSaidAt = 0;
  function sayActive(force) {
    const ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (!force && (state.leader || Date.now() - activeSaidAt < ACTIVE_EVERY_MS)) return;
    activeSaidAt = Date.now();
    try {
      ws.send(JSON.stringify({ op: "active" }));
    } catch (e) {
      console.warn("softphone: cannot tell the agent this tab is active", e);
    }
  }

  function scheduleReconnect() {
    const wait = state.backoff;
    state.backoff = Math.min(state.backoff * 2, BACKOFF_MAX_MS);
    state.retryAt = Date.now() + wait;
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(connect, wait);
  }

  function reconnectNow() {
    if (state.ws) return;
    state.backoff = BACKOFF_FIRST_MS;
    connect();
  }

  function setBlocked(on) {
    if (state.blocked === on) return;
    state.blocked = on;
    render();
  }

  function onMessage(data) {
    let ev;
    try {
      ev = JSON.parse(data);
    } catch (e) {
      console.warn("softphone: ignoring a malformed event", String(data).slice(0, 200));
      return;
    }
    if (!ev || typeof ev !== "object" || typeof ev.event !== "string") {
      console.warn("softphone: ignoring an event without a type", ev);
      return;
    }
    const handle = HANDLERS[ev.event];
    if (!handle) {
      console.warn(`softphone: ignoring an unknown event type "${ev.event}"`);
    } else {
      try {
        handle(ev);
      } catch (e) {
        console.warn(`softphone: ignoring a bad "${ev.event}" event`, e, ev);
      }
    }
    // `levels` repeats the last seq and is not kept for resuming.
    if (!PER_TAB_EVENTS.includes(ev.event) && Number.isSafeInteger(ev.seq) && ev.seq >= 0) {
      state.seq = ev.seq;
      saveResume();
    }
    render();
  }

  // Events that repeat the last seq and are not kept for resuming.
  const PER_TAB_EVENTS = ["levels", "tab", "outbox"];

  const HANDLERS = {
    tab(ev) {
      if (typeof ev.tab !== "string" || typeof ev.leader !== "boolean") throw new Error("tab without id or leader");
      const was = state.leader;
      state.tab = ev.tab;
      state.leader = ev.leader;
      if (state.leader && !was) takeLead();
    },
    outbox() {
      if (state.leader) claimOutbox();
    },
    agent_status(ev) {
      setAgent(ev.agent);
    },
    snapshot(ev) {
      if (typeof ev.instance !== "string" || !ev.status || typeof ev.status !== "object") {
        throw new Error("snapshot without instance or status");
      }
      state.instance = ev.instance;
      try {
        setRegistration(ev.status.registration);
      } catch (e) {
        console.warn("softphone: ignoring a bad registration in the snapshot", e);
      }
      setAgent(ev.status.agent);
      state.records = ev.status.records && typeof ev.status.records === "object" ? ev.status.records : null;
      state.calls = new Map();
      for (const c of Array.isArray(ev.status.calls) ? ev.status.calls : []) {
        const call = cleanCall(c);
        if (call) state.calls.set(call.id, call);
        else console.warn("softphone: ignoring a malformed call in the snapshot", c);
      }
      for (const c of state.calls.values()) {
        if (c.direction === "inbound" && isLive(c)) popIncoming(c);
      }
      refreshRecent();
      if (state.leader) claimOutbox();
      if (state.focusId && !state.calls.has(state.focusId)) state.focusId = null;
    },
    registration(ev) {
      setRegistration(ev.registration);
    },
    incoming(ev) {
      const c = cleanCall(ev.call);
      if (!c) throw new Error("incoming without a valid call");
      applyCall(c, true);
    },
    call(ev) {
      const c = cleanCall(ev.call);
      if (!c) throw new Error("call without a valid call view");
      applyCall(c, false);
    },
    dtmf(ev) {
      const id = str(ev.call_id);
      const digits = str(ev.digits);
      if (!state.calls.has(id) || !digits) return;
      note(id, `Received tone ${digits}`);
      announce(`Received tone ${digits}`);
    },
    dtmf_failed(ev) {
      showError(`Tones ${str(ev.digits)} were not sent: ${str(ev.message)}`);
    },
    call_quality(ev) {
      const c = state.calls.get(str(ev.call_id));
      const q = cleanQuality(ev.quality);
      if (c && q) state.calls.set(c.id, { ...c, quality: q });
    },
    transfer(ev) {
      const id = str(ev.call_id);
      const words = {
        trying: "Transferring…",
        ringing: "Transfer: ringing…",
        succeeded: "Transferred",
        failed: "Transfer failed",
      }[str(ev.state)];
      if (!words) return;
      note(id, ev.state === "failed" && ev.message ? `${words}: ${str(ev.message)}` : words, ev.state === "failed");
      announce(words);
      if (ev.state === "failed") showError(`Transfer failed: ${str(ev.message) || "the far end refused it"}`);
    },
    device_changed(ev) {
      if (ev.reason && ev.reason !== "selected") {
        const side = ev.direction === "input" ? "Microphone" : "Speaker";
        const to = str(ev.to);
        showError(`${side} switched${to ? ` to ${to}` : " off"}: ${str(ev.reason)}`);
      }
      loadDevices();
    },
    levels(ev) {
      state.levelsAt = Date.now();
      setMeter("input", ev.input_dbfs);
      setMeter("output", ev.output_dbfs);
    },
  };

  const AGENT_STATES = ["available", "away", "dnd", "on_call", "after_call_work"];
  function setAgent(a) {
    if (a == null) return;
    if (typeof a !== "object" || !AGENT_STATES.includes(a.state)) throw new Error("agent status without a state");
    state.agent = a;
    fillDispositions();
    followWrapup();
  }

  // Every tab shows the wrap-up the agent is in (a tab opened or reloaded during it too) and
  // closes it when the agent's wrap-up ends, unless the agent is still typing in it.
  function followWrapup() {
    const a = state.agent;
    const id = a && a.state === "after_call_work" ? str(a.wrapup_call_id) : "";
    if (id && state.wrapupDoneFor === id) {
      // Done was clicked before the agent's status caught up: end the wrap-up now.
      state.wrapupDoneFor = null;
      chooseStatus("available");
      return;
    }
    // Past the call and its wrap-up: nothing left to end.
    if (a && a.state !== "on_call" && a.state !== "after_call_work") state.wrapupDoneFor = null;
    if (id) {
      if (state.wrapup && state.wrapup.id === id) {
        state.wrapup.shownFor = "agent"; // it closes with the agent's wrap-up
        return;
      }
      const c = state.calls.get(id) || state.recent.find((e) => e.id === id);
      if (c) openWrapup(c);
      else state.wrapupWanted = id; // shown once the call is known (recent calls load)
    } else if (state.wrapup && !state.wrapup.dirty && state.wrapup.shownFor === "agent") {
      state.wrapup = null;
    }
  }

  function setRegistration(r) {
    if (!r || typeof r !== "object" || typeof r.state !== "string") {
      throw new Error("registration without a state");
    }
    const prev = state.registration && state.registration.state;
    state.registration = r;
    state.regSeenAt = Date.now();
    if (prev && prev !== r.state) announce(registrationWords().text);
  }

  function applyCall(c, incoming) {
    const prev = state.calls.get(c.id);
    state.calls.set(c.id, c);
    if (c.state === "ended") {
      if (!prev || prev.state !== "ended") finished(c);
      return;
    }
    if (!prev) {
      if (incoming || (c.direction === "inbound" && c.state === "ringing")) {
        state.focusId = c.id;
        state.panel = null;
        state.dialerOpen = false;
        announce(`Incoming call from ${displayName(c)}`);
        popIncoming(c);
      } else if (!state.focusId || !state.calls.has(state.focusId) || !isLive(state.calls.get(state.focusId))) {
        state.focusId = c.id;
      }
      return;
    }
    if (prev.state !== c.state) {
      const words = { connected: "Call connected", held: "Call on hold" }[c.state];
      if (words) announce(prev.state === "held" && c.state === "connected" ? "Call resumed" : words);
    }
  }

  // A call is over: show "ended" for a moment, offer the wrap-up; the leading tab saves its
  // log from the agent's outbox (the agent recorded it before telling us).
  function finished(c) {
    const others = [...state.calls.values()].some((o) => o.id !== c.id && isLive(o));
    if (!others) state.endedHold = { id: c.id, until: Date.now() + ENDED_SHOWN_MS };
    if (state.focusId === c.id) state.panel = null;
    announce(`Call ended${c.end_reason && c.end_reason.message ? `: ${c.end_reason.message}` : ""}`);
    if (c.answered_at) openWrapup(c, "call");
    state.dtmfSent.delete(c.id);
    refreshRecent();
    if (!state.leader) return;
    if (recordsKept()) claimOutbox();
    else logDirect(c);
  }

  // Which call the page shows and controls.
  function focusedCall() {
    const f = state.focusId && state.calls.get(state.focusId);
    if (f && isLive(f)) return f;
    const live = [...state.calls.values()].filter(isLive);
    if (live.length) {
      const ringing = live.filter((c) => c.direction === "inbound" && c.state === "ringing");
      return (ringing.length ? ringing : live)[(ringing.length ? ringing : live).length - 1];
    }
    const hold = state.endedHold;
    if (hold && Date.now() < hold.until && state.calls.has(hold.id)) return state.calls.get(hold.id);
    return null;
  }

  // ------------------------------------------------------------------ audio devices

  const isDeviceList = (d) => d && typeof d === "object" && Array.isArray(d.inputs) && Array.isArray(d.outputs);

  let devicesLoading = false;
  async function loadDevices() {
    if (devicesLoading) return;
    devicesLoading = true;
    try {
      const list = await api("GET", "/devices");
      state.devices = isDeviceList(list) ? list : null;
    } catch (e) {
      state.devices = null;
      // 409 not_a_device: the agent plays tones or files; there is nothing to pick.
      if (e.code !== "not_a_device" && e.code !== "bridge_unreachable") {
        console.warn("softphone: audio devices unavailable:", e.message);
      }
    } finally {
      devicesLoading = false;
    }
    renderDevices();
  }

  function fillDeviceSelect(select, entries, current) {
    const list = Array.isArray(entries) ? entries.filter((d) => d && typeof d.name === "string") : [];
    const sig = JSON.stringify(list.map((d) => [d.name, d.description, d.default]));
    if (select.dataset.sig !== sig) {
      select.dataset.sig = sig;
      select.replaceChildren();
      for (const d of list) {
        const o = el("option", null, `${str(d.description) || d.name}${d.default ? " (default)" : ""}`);
        o.value = d.name;
        select.appendChild(o);
      }
    }
    if (typeof current === "string" && select.value !== current) select.value = current;
  }

  function renderDevices() {
    const d = state.devices;
    const button = ui("audio");
    button.hidden = !d;
    if (!d) {
      $("#audio-panel").hidden = true;
      setAttr(button, "aria-expanded", "false");
      return;
    }
    fillDeviceSelect(field("input-device"), d.inputs, d.input);
    fillDeviceSelect(field("output-device"), d.outputs, d.output);
    // Where incoming calls ring: "output" (where calls play), "none", or an output device.
    const ringKnown = typeof d.ring === "string";
    ui("ring-field").hidden = !ringKnown;
    if (ringKnown) {
      const choices = [
        { name: "output", description: "Same as the speaker" },
        { name: "none", description: "No ringtone" },
        ...d.outputs,
      ];
      fillDeviceSelect(field("ring-device"), choices, d.ring);
    }
  }

  async function selectDevice(side, name) {
    try {
      const list = await api("POST", "/devices", { [side]: name });
      if (isDeviceList(list)) state.devices = list;
    } catch (e) {
      const what = { input: "microphone", output: "speaker", ring: "ring device" }[side];
      showError(`Could not switch the ${what}: ${e.message}`);
    }
    renderDevices();
  }

  function setMeter(side, dbfs) {
    const v = typeof dbfs === "number" && Number.isFinite(dbfs) ? dbfs : -96;
    const pct = Math.max(0, Math.min(100, ((v + 60) / 60) * 100));
    const m = $(`[data-meter="${side}"]`);
    if (m) m.style.width = `${pct.toFixed(0)}%`;
  }

  // ------------------------------------------------------------------ Open CTI

  const cti = {
    wanted: QUERY.has("sfdcIframeOrigin"),
    origin: null,
    ready: false,
    status: "",
    label: null,
    icon: null,
    settings: null, // getCallCenterSettings' map, once read
    apexClass: "", // the Call Center's Apex upsert class, when the admin installed it
    api() {
      return window.sforce && window.sforce.opencti;
    },
    // A constant of the library (CALL_TYPE.INBOUND...), or its documented value.
    const(group, name, fallback) {
      const api = this.api();
      const v = api && api[group] && api[group][name];
      return v || fallback;
    },
    // Calls a method with one object argument and a callback; every failure is shown.
    call(method, args, failure) {
      return new Promise((resolve) => {
        const api = this.api();
        if (!api || typeof api[method] !== "function") {
          showError(`Salesforce Open CTI has no ${method}`);
          resolve(null);
          return;
        }
        try {
          api[method]({
            ...args,
            callback: (r) => {
              if (!r || r.success !== true) {
                const e = r && Array.isArray(r.errors) && r.errors[0];
                const why = e && (e.description || e.code) ? str(e.description) || str(e.code) : "no reason given";
                showError(`${failure || `Salesforce ${method} failed`}: ${why}`);
              }
              resolve(r || null);
            },
          });
        } catch (e) {
          showError(`${failure || `Salesforce ${method} failed`}: ${e.message}`);
          resolve(null);
        }
      });
    },
  };

  function ctiOrigin() {
    const raw = QUERY.get("sfdcIframeOrigin") || "";
    try {
      const u = new URL(raw);
      if ((u.protocol === "https:" || u.protocol === "http:") && u.origin === raw.replace(/\/$/, "")) return u.origin;
    } catch (e) {
      // fall through
    }
    return null;
  }

  function loadScript(src, timeoutMs) {
    return new Promise((resolve, reject) => {
      const s = document.createElement("script");
      const timer = setTimeout(() => reject(new Error("it did not load within 15 s")), timeoutMs);
      s.src = src;
      s.async = true;
      s.onload = () => {
        clearTimeout(timer);
        resolve();
      };
      s.onerror = () => {
        clearTimeout(timer);
        reject(new Error("the browser could not load it"));
      };
      document.head.appendChild(s);
    });
  }

  async function ctiStart() {
    if (!cti.wanted) {
      cti.status = "Standalone: not inside Salesforce";
      return false;
    }
    const mode = QUERY.get("mode");
    cti.origin = ctiOrigin();
    if (!cti.origin) {
      return ctiFailed(`sfdcIframeOrigin "${QUERY.get("sfdcIframeOrigin")}" is not an origin`);
    }
    if (mode && mode !== "Lightning") {
      return ctiFailed(`mode ${mode} is not supported (set the Call Center to Lightning compatibility mode)`);
    }
    const src = `${cti.origin}${OPENCTI_PATH}`;
    try {
      await loadScript(src, 15000);
    } catch (e) {
      return ctiFailed(`could not load ${src}: ${e.message}`);
    }
    if (!cti.api()) return ctiFailed(`${src} did not define sforce.opencti`);
    try {
      cti.api().onClickToDial({ listener: onClickToDial });
    } catch (e) {
      showError(`Salesforce click-to-dial is not available: ${e.message}`);
    }
    cti.call("enableClickToDial", {}, "Salesforce click-to-dial could not be enabled");
    const init = await Promise.race([
      cti.call("notifyInitializationComplete", {}, "Salesforce Open CTI did not initialise"),
      new Promise((resolve) => setTimeout(() => resolve("timeout"), 15000)),
    ]);
    if (init === "timeout") showError("Salesforce Open CTI did not answer notifyInitializationComplete within 15 s");
    if (!init || init.success !== true) {
      cti.status = "Salesforce Open CTI failed to initialise: standalone softphone";
      render();
      return false;
    }
    cti.ready = true;
    cti.status = "Connected to Salesforce";
    await readCallCenterSettings();
    // What happened while the library loaded: ringing calls pop, ended ones are logged.
    if (state.leader) takeLead();
    render();
    return true;
  }

  async function readCallCenterSettings() {
    const r = await Promise.race([
      cti.call("getCallCenterSettings", {}, "Salesforce could not read the Call Center settings"),
      new Promise((resolve) => setTimeout(() => resolve(null), 5000)),
    ]);
    cti.settings = r && r.success === true && r.returnValue && typeof r.returnValue === "object" ? r.returnValue : {};
    const apex = str(cti.settings["/softphoneLogging/apexUpsertClass"]).trim();
    cti.apexClass = /^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(apex) ? apex : "";
    if (apex && !cti.apexClass) showError(`The Call Center's Apex upsert class "${apex}" is not a class name; saving calls with saveLog`);
  }

  function ctiFailed(why) {
    showError(`Salesforce Open CTI unavailable (${why}). The softphone works on its own.`);
    cti.status = "Salesforce Open CTI unavailable: standalone softphone";
    render();
    return false;
  }

  function onClickToDial(payload) {
    const p = payload && typeof payload === "object" ? payload : {};
    const number = str(p.number).trim();
    cti.call("setSoftphonePanelVisibility", { visible: true }, "Salesforce could not open the phone panel");
    if (!number) {
      showError("Salesforce click-to-dial gave no number");
      return;
    }
    const recordId = RECORD_ID.test(str(p.recordId)) ? p.recordId : null;
    dial(number, {
      source: "click",
      recordId,
      objectType: str(p.objectType),
      recordName: str(p.recordName),
    });
  }

  // The number as stored in E.164 and, for +1 numbers, the national ten digits: CRM records
  // hold either.
  function searchTerms(number) {
    const n = String(number).replace(/[^\d+*#]/g, "");
    const terms = [n || String(number)];
    if (/^\+1\d{10}$/.test(n)) terms.push(n.slice(2));
    return [...new Set(terms)];
  }

  function pickRecord(found) {
    if (!found || typeof found !== "object") return null;
    const records = Object.values(found).filter((r) => r && typeof r === "object" && RECORD_ID.test(str(r.Id)));
    return records.length === 1 ? records[0] : null;
  }

  function search(id, number, callType) {
    const key = callKey(id);
    const p = cti
      .call(
        "searchAndScreenPop",
        {
          searchParams: searchTerms(number).join(" OR "),
          queryParams: "",
          defaultFieldValues: {},
          callType,
          deferred: false,
        },
        "Salesforce search for the caller failed",
      )
      .then((r) => {
        const rec = r && r.success === true ? pickRecord(r.returnValue) : null;
        if (rec) {
          saveMeta(key, { recordId: rec.Id, recordName: str(rec.Name), objectType: str(rec.RecordType) });
          sendRecord(id, rec);
          render();
        }
        return rec;
      });
    searches.set(key, p);
    return p;
  }

  // The leading tab pops the caller's record, once per call: the agent grants the pop to the
  // first tab that asks, so a reload or a second tab during ringing does not pop it again.
  async function popIncoming(c) {
    if (!cti.ready || !state.leader || !state.tab || state.popAsked.has(c.id)) return;
    state.popAsked.add(c.id);
    let r;
    try {
      r = await api("POST", `/calls/${encodeURIComponent(c.id)}/pop`, { tab: state.tab });
    } catch (e) {
      state.popAsked.delete(c.id); // not decided: another tab (or this one, leading again) may
      if (e.code !== "not_leader" && e.code !== "unknown_call") console.warn("softphone: pop", e);
      return;
    }
    if (!r || r.pop !== true) return;
    saveMeta(callKey(c.id), { direction: "inbound" });
    cti.call("setSoftphonePanelVisibility", { visible: true }, "Salesforce could not open the phone panel");
    search(c.id, c.remote.number, cti.const("CALL_TYPE", "INBOUND", "inbound"));
  }

  // Tells the agent which Salesforce record a call belongs to: its Task names it, whichever
  // tab saves it.
  function sendRecord(id, rec) {
    api("PUT", `/calls/${encodeURIComponent(id)}/crm`, {
      id: rec.Id,
      name: str(rec.Name),
      object_type: str(rec.RecordType),
    }).catch((e) => {
      if (e.code !== "unavailable") showError(`Could not keep the call's Salesforce record: ${e.message}`);
    });
  }

  // This tab leads now: pop the live inbound calls no tab popped yet, save what waits.
  function takeLead() {
    for (const c of state.calls.values()) {
      if (c.direction === "inbound" && isLive(c)) popIncoming(c);
    }
    claimOutbox();
  }

  function recordsKept() {
    return !(state.records && state.records.ok === false);
  }

  function durationSeconds(c) {
    const a = time(c.answered_at);
    const e = time(c.ended_at);
    return a != null && e != null ? Math.max(0, Math.round((e - a) / 1000)) : 0;
  }

  function outcome(c) {
    const code = c.end_reason ? c.end_reason.code : "failed";
    if (c.answered_at) return code === "transferred" ? "Transferred" : "Answered";
    const words = {
      busy: "Busy",
      declined: "Declined",
      no_answer: "No answer",
      not_found: "Number not found",
      unavailable: "Unavailable",
      unavailable_rejected: "Missed (not available)",
      forwarded: "Forwarded",
      interrupted: "Interrupted",
      cancelled: c.direction === "inbound" ? "Missed" : "Cancelled",
      hangup_local: c.direction === "inbound" ? "Declined" : "Cancelled",
      hangup_remote: c.direction === "inbound" ? "Missed" : "Not answered",
    };
    return words[code] || "Failed";
  }

  // ------------------------------------------------------------------ call logs

  // A call record from the agent's outbox or history (docs/bridge-protocol.md), checked.
  function cleanEntry(e) {
    const c = cleanCall({ ...(e && typeof e === "object" ? e : {}), state: "ended" });
    if (!c) return null;
    const crm = e.crm_record && typeof e.crm_record === "object" && RECORD_ID.test(str(e.crm_record.id)) ? e.crm_record : null;
    return {
      ...c,
      duration_s: Number.isSafeInteger(e.duration_s) && e.duration_s >= 0 ? e.duration_s : durationSeconds(c),
      log_state: str(e.log_state),
      log_error: str(e.log_error),
      task_id: RECORD_ID.test(str(e.task_id)) ? e.task_id : null,
      disposition: str(e.disposition),
      notes: str(e.notes),
      crm: crm ? { id: crm.id, name: str(crm.name), type: str(crm.object_type) } : null,
    };
  }

  // The same shape from a call view this page watched end (used when the agent keeps no
  // records).
  function entryFromCall(c) {
    const m = meta(callKey(c.id));
    return {
      ...c,
      duration_s: durationSeconds(c),
      task_id: null,
      disposition: "",
      notes: "",
      crm: RECORD_ID.test(str(m.recordId)) ? { id: m.recordId, name: str(m.recordName), type: str(m.objectType) } : null,
    };
  }

  function entryName(e) {
    return (e.crm && e.crm.name) || e.remote.display_name || e.remote.number;
  }

  function summary(e) {
    const who = [(e.crm && e.crm.name) || e.remote.display_name, e.remote.number].filter(Boolean).join(", ");
    const lines = [
      `${e.direction === "inbound" ? "Inbound call from" : "Outbound call to"} ${who || "an unknown number"}.`,
      `Result: ${outcome(e)}; talk time ${clock(e.duration_s * 1000)}.`,
    ];
    if (e.end_reason && e.end_reason.message) lines.push(`Ended: ${e.end_reason.message}.`);
    if (e.notes) lines.push("", `Notes: ${e.notes}`);
    return lines.join("\n");
  }

  // The Task fields of a call (what saveLog or the Apex upsert is given).
  function taskFields(e) {
    const inbound = e.direction === "inbound";
    const value = {
      Subject: `${inbound ? "Call from" : "Call to"} ${entryName(e) || "unknown number"}`.slice(0, 255),
      Status: "Completed",
      Type: "Call",
      CallType: inbound ? "Inbound" : "Outbound",
      CallDurationInSeconds: e.duration_s,
      CallDisposition: (e.disposition || outcome(e)).slice(0, 255),
      CallObject: e.id.slice(0, 255),
      Description: summary(e),
    };
    if (e.crm) {
      // Contacts (003) and Leads (00Q) are people: WhoId; anything else (Accounts...) WhatId.
      if (e.crm.id.startsWith("003") || e.crm.id.startsWith("00Q")) value.WhoId = e.crm.id;
      else value.WhatId = e.crm.id;
    }
    return value;
  }

  function ctiError(r) {
    const e = r && Array.isArray(r.errors) && r.errors[0];
    return e ? [str(e.code), str(e.description)].filter(Boolean).join(": ") || "no reason given" : "Salesforce did not answer";
  }

  // Saves a call's Task: through the admin's Apex upsert when installed (one Task per
  // CallObject, whatever happened before), else saveLog (an update when the Task id is known).
  async function saveTask(e) {
    const fields = taskFields(e);
    if (cti.apexClass) {
      const methodParams = `callObject=${encodeURIComponent(e.id)}&fields=${encodeURIComponent(JSON.stringify(fields))}`;
      const r = await cti.call(
        "runApex",
        { apexClass: cti.apexClass, methodName: "upsertTask", methodParams },
        "Could not save the call to Salesforce",
      );
      const id = r && r.success === true && r.returnValue ? str(r.returnValue.runApex) : "";
      if (RECORD_ID.test(id)) return { ok: true, id };
      return { ok: false, error: r && r.success === true ? `${cti.apexClass} returned no Task id` : ctiError(r) };
    }
    const value = e.task_id ? { Id: e.task_id, ...fields } : { entityApiName: "Task", ...fields };
    const r = await cti.call("saveLog", { value }, "Could not save the call to Salesforce");
    if (!r || r.success !== true) return { ok: false, error: ctiError(r) };
    const id = e.task_id || savedId(r.returnValue);
    return id ? { ok: true, id } : { ok: false, error: "Salesforce saved the call but named no Task" };
  }

  function savedId(v) {
    if (typeof v === "string") return RECORD_ID.test(v) ? v : null;
    if (v && typeof v === "object") {
      const id = str(v.recordId) || str(v.Id) || str(v.id);
      return RECORD_ID.test(id) ? id : null;
    }
    return null;
  }

  // The leading tab takes the agent's ended calls whose Task is not saved and saves them,
  // one at a time, telling the agent each outcome. Calls it does not finish (the tab closes)
  // go to the next leader.
  let claiming = false;
  let claimAgain = false;
  async function claimOutbox() {
    if (!state.leader || !state.tab || !cti.ready || !recordsKept()) return;
    if (claiming) {
      claimAgain = true;
      return;
    }
    claiming = true;
    try {
      do {
        claimAgain = false;
        let r;
        try {
          r = await api("POST", "/outbox/claim", { tab: state.tab });
        } catch (e) {
          if (e.code === "unavailable") state.records = { ok: false, error: e.message };
          else if (e.code !== "not_leader" && e.code !== "unknown_tab") showError(`Could not fetch the calls to save: ${e.message}`);
          return;
        }
        for (const raw of r && Array.isArray(r.calls) ? r.calls : []) {
          const e = cleanEntry(raw);
          if (e) await deliver(e);
          else console.warn("softphone: ignoring a malformed call record", raw);
        }
      } while (claimAgain && state.leader);
    } finally {
      claiming = false;
    }
  }

  async function deliver(e) {
    const tab = state.tab;
    const saved = await saveTask(e);
    try {
      await api("POST", `/calls/${encodeURIComponent(e.id)}/log`, saved.ok ? { tab, task_id: saved.id } : { tab, error: saved.error });
    } catch (err) {
      console.warn("softphone: the agent did not take the log outcome", err);
    }
    if (saved.ok) cti.call("refreshView", {}, "Salesforce could not refresh the page");
    wrapupSaved(e.id, saved);
    refreshRecent();
  }

  // Without call records on this computer the leading tab saves what it sees end, once.
  const directTasks = new Map(); // call id -> Task id
  async function logDirect(c, extra) {
    if (!cti.ready) return;
    const e = { ...entryFromCall(c), ...extra, task_id: directTasks.get(c.id) || null };
    const saved = await saveTask(e);
    if (saved.ok) {
      directTasks.set(c.id, saved.id);
      cti.call("refreshView", {}, "Salesforce could not refresh the page");
    }
    wrapupSaved(c.id, saved);
  }

  // ------------------------------------------------------------------ after-call work

  // `shownFor`: "agent" while the agent is in wrap-up for this call (the form closes with it),
  // "call" when opened as the call ended (it stays until Done, e.g. with wrap-up time off).
  function openWrapup(c, shownFor = "agent") {
    const w = state.wrapup;
    if (w && w.dirty) return; // do not throw away what the agent is typing
    state.wrapupWanted = null;
    state.wrapup = { id: c.id, call: c, dirty: false, shownFor };
    fillDispositions();
    field("disposition").value = "";
    field("notes").value = "";
    setText(field("wrapup-status"), "");
    setText(field("wrapup-call"), `${displayName(c)} · ${clock(durationSeconds(c) * 1000)}`);
  }

  // The disposition codes the admin configured ([agent] dispositions), as the agent reports.
  function fillDispositions() {
    const codes = state.agent && Array.isArray(state.agent.dispositions) ? state.agent.dispositions.map(str).filter(Boolean) : [];
    if (!codes.length) return;
    const select = field("disposition");
    const have = [...select.options].slice(1).map((o) => o.value);
    if (have.length === codes.length && have.every((v, i) => v === codes[i])) return;
    const keep = select.value;
    select.replaceChildren(el("option", null, "Choose a result"));
    select.options[0].value = "";
    for (const code of codes) select.appendChild(el("option", null, code));
    if (codes.includes(keep)) select.value = keep;
  }

  async function saveWrapup() {
    const w = state.wrapup;
    if (!w) return;
    const disposition = field("disposition").value;
    const notes = field("notes").value.trim();
    setText(field("wrapup-status"), "Saving…");
    if (!recordsKept()) {
      await logDirect(w.call, { disposition, notes });
      return;
    }
    try {
      await api("POST", `/calls/${encodeURIComponent(w.id)}/wrapup`, { disposition, notes });
    } catch (e) {
      if (state.wrapup === w) setText(field("wrapup-status"), `Not saved: ${e.message}`);
      return;
    }
    if (state.wrapup !== w) return;
    w.dirty = false;
    setText(field("wrapup-status"), cti.ready ? "Saved. Updating the call in Salesforce…" : "Saved.");
    if (state.leader) claimOutbox();
  }

  function wrapupSaved(id, saved) {
    const w = state.wrapup;
    if (!w || w.id !== id) return;
    setText(
      field("wrapup-status"),
      saved.ok ? "Saved to Salesforce." : "Not saved to Salesforce yet: see the message above. It is tried again when the page reconnects.",
    );
  }

  // ------------------------------------------------------------------ recent calls

  let recentLoading = false;
  let recentAgain = false;
  async function refreshRecent() {
    if (!state.bridge) return;
    if (recentLoading) {
      recentAgain = true;
      return;
    }
    recentLoading = true;
    try {
      do {
        recentAgain = false;
        try {
          const r = await api("GET", `/history?limit=${RECENT_MAX}`);
          state.recent = (r && Array.isArray(r.calls) ? r.calls : []).map(cleanEntry).filter(Boolean);
          state.recentError = "";
          if (state.wrapupWanted) followWrapup();
        } catch (e) {
          state.recentError = e.code === "unavailable" ? "Recent calls are not kept on this computer." : "";
        }
        renderRecent();
      } while (recentAgain);
    } finally {
      recentLoading = false;
    }
  }

  function when(ms) {
    const d = new Date(ms);
    const today = new Date();
    if (d.toDateString() === today.toDateString()) {
      return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
    return d.toLocaleDateString([], { month: "short", day: "numeric" });
  }

  function renderRecent() {
    const list = field("recent");
    list.replaceChildren();
    for (const e of state.recent) {
      const missed = e.direction === "inbound" && !e.answered_at;
      const kind = missed ? "missed" : e.direction === "outbound" ? "out" : "in";
      const li = el("li", "recent-item");
      li.dataset.kind = kind;
      li.dataset.callId = e.id;
      li.dataset.logState = e.log_state;
      const badge = el("span", "recent-icon");
      badge.dataset.kind = kind;
      badge.appendChild(icon(kind === "missed" ? "missed" : kind === "out" ? "outgoing" : "incoming"));
      const main = el("div", "recent-main");
      const name = (e.crm && e.crm.name) || e.remote.display_name || "";
      main.appendChild(el("span", "row-name", name || e.remote.number || "Unknown"));
      let what = e.duration_s > 0 ? `${e.direction === "outbound" ? "Outbound" : "Inbound"} · ${clock(e.duration_s * 1000)}` : outcome(e);
      if (e.duration_s > 0 && e.end_reason && e.end_reason.code === "interrupted") what += " · cut off";
      main.appendChild(el("span", "row-sub", name ? `${e.remote.number} · ${what}` : what));
      if (e.log_state === "failed") {
        const bad = el("span", "row-log-failed", "Not saved to Salesforce");
        bad.title = e.log_error;
        main.appendChild(bad);
      }
      const side = el("span", "row-time", when(time(e.started_at) || 0));
      li.append(badge, main, side);
      if (e.log_state === "failed") {
        const b = el("button", "icon-btn");
        b.type = "button";
        b.dataset.ui = "relog";
        b.dataset.callId = e.id;
        b.setAttribute("aria-label", `Save the call with ${name || e.remote.number} to Salesforce again`);
        b.title = `Save to Salesforce again (${e.log_error})`;
        b.appendChild(icon("refresh"));
        li.appendChild(b);
      }
      if (e.remote.number) {
        const b = el("button", "icon-btn");
        b.type = "button";
        b.dataset.ui = "redial";
        b.dataset.number = e.remote.number;
        b.setAttribute("aria-label", `Call ${name || e.remote.number}`);
        b.title = `Call ${e.remote.number}`;
        b.appendChild(icon("phone"));
        li.appendChild(b);
      }
      list.appendChild(li);
    }
    const empty = ui("recent-empty");
    empty.hidden = state.recent.length > 0;
    setText(empty, state.recentError || "No calls yet.");
  }

  // A failed log goes back to the agent's outbox (with its disposition and notes).
  async function relog(id) {
    const e = state.recent.find((r) => r.id === id);
    if (!e) return;
    try {
      await api("POST", `/calls/${encodeURIComponent(id)}/wrapup`, { disposition: e.disposition, notes: e.notes });
    } catch (err) {
      showError(`Could not save the call again: ${err.message}`);
      return;
    }
    if (state.leader) claimOutbox();
    refreshRecent();
  }

  // ------------------------------------------------------------------ rendering

  function registrationWords() {
    if (state.link !== "up" && !state.registration) {
      return state.blocked
        ? { text: "Agent not reachable", cls: "offline" }
        : { text: "Connecting", cls: "connecting" };
    }
    if (state.link === "down") return { text: "Reconnecting to the agent", cls: "offline" };
    const r = state.registration || {};
    switch (r.state) {
      case "registered":
        return { text: "Registered", cls: "registered" };
      case "registering":
        return { text: "Registering", cls: "registering" };
      case "failed": {
        let text = `Failed: ${str(r.error) || "the phone system refused the line"}`;
        if (typeof r.retry_in === "number") {
          const left = Math.round(r.retry_in - (Date.now() - state.regSeenAt) / 1000);
          const wait = left >= 90 ? `${Math.round(left / 60)} min` : `${left} s`;
          text += left > 0 ? ` (retrying in ${wait})` : " (retrying)";
        }
        return { text, cls: "failed" };
      }
      case "unregistered":
        return { text: "Not registered", cls: "offline" };
      default:
        return { text: "Connecting", cls: "connecting" };
    }
  }

  function renderHeader() {
    const w = registrationWords();
    setText(field("registration"), w.text);
    setAttr($(".app"), "data-reg", w.cls);
    const aor = state.registration ? str(state.registration.aor) : "";
    const user = aor.replace(/^sips?:/, "").split("@")[0];
    setText(field("line"), user ? `Ext. ${user}` : "");
  }

  function renderBanner() {
    const banner = $('[data-banner="lna"]');
    banner.hidden = !state.blocked;
    if (!state.blocked) return;
    setText(field("bridge-url"), state.bridge || DEFAULT_BRIDGE);
    const ancestors = location.ancestorOrigins ? [...location.ancestorOrigins] : [];
    const site = ancestors.length ? ancestors[ancestors.length - 1] : cti.origin || location.origin;
    setText(field("lna-site"), site);
    const origins = [...new Set([location.origin, site])].filter((o) => o && o !== "null");
    setText(field("lna-origins"), origins.join(", "));
    setText(field("lna-page"), location.origin);
    const left = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
    setText(field("lna-retry"), state.ws ? "Trying to connect…" : `Trying again in ${left} s.`);
  }

  const STATE_WORDS = {
    ringing: "Incoming call",
    dialing: "Calling…",
    connected: "On call",
    held: "On hold",
    ended: "Call ended",
  };

  function renderCall(f, ps) {
    const card = ui("call");
    card.hidden = !f;
    if (!f) return;
    let words = STATE_WORDS[ps];
    if (ps === "dialing" && (f.state === "ringing" || f.state === "early")) words = "Ringing…";
    if (ps === "connected" && f.on_hold_by_remote) words = "Held by the other party";
    if (ps === "ringing" && [...state.calls.values()].some((c) => c.id !== f.id && isLive(c))) words = "Call waiting";
    setText(field("call-state"), words);

    const name = displayName(f);
    const kind = str(meta(callKey(f.id)).objectType);
    setText($(".remote-name"), name);
    setText($(".remote-number"), [name !== f.remote.number ? f.remote.number : "", kind].filter(Boolean).join(" · "));
    const avatar = field("avatar");
    const ini = initials(name);
    if (avatar.dataset.ini !== ini) {
      avatar.dataset.ini = ini;
      avatar.replaceChildren(ini ? document.createTextNode(ini) : icon("phone"));
    }

    const now = Date.now();
    let ms = 0;
    if (ps === "connected" || ps === "held") ms = now - (time(f.answered_at) || time(f.started_at) || now);
    else if (ps === "dialing") ms = now - (time(f.started_at) || now);
    else if (ps === "ended") ms = durationSeconds(f) * 1000;
    setText(field("timer"), clock(ms));

    // The lock: the call's media is SRTP-encrypted (the suite in its tooltip).
    const lock = field("encrypted");
    lock.hidden = !f.encrypted;
    setAttr(lock, "title", f.srtp_suite ? `Encrypted call (SRTP, ${f.srtp_suite})` : "Encrypted call");

    const q = f.quality;
    const qEl = field("quality");
    if (q && q.mos > 0) {
      const total = q.packets_received + q.packets_lost;
      const loss = total > 0 ? (q.packets_lost / total) * 100 : 0;
      setText(qEl, `MOS ${q.mos.toFixed(1)} · ${loss.toFixed(1)}% loss`);
      setAttr(qEl, "data-grade", q.mos >= 4 ? "good" : q.mos >= 3.6 ? "fair" : "poor");
      setAttr(qEl, "title", `MOS ${q.mos.toFixed(2)}, ${loss.toFixed(1)}% packets lost, jitter ${q.jitter_ms} ms${q.rtt_ms != null ? `, round trip ${q.rtt_ms} ms` : ""}`);
    } else {
      setText(qEl, "");
    }

    const n = state.notes.get(f.id);
    const noteEl = field("call-note");
    if (ps === "ended") {
      setText(noteEl, f.end_reason && f.end_reason.message ? capitalise(f.end_reason.message) : outcome(f));
      setAttr(noteEl, "data-tone", null);
    } else {
      setText(noteEl, n ? n.text : "");
      setAttr(noteEl, "data-tone", n && n.bad ? "bad" : null);
    }

    // One button per action: mute/unmute and hold/resume swap on the same button.
    const mute = $('[data-action="mute"], [data-action="unmute"]');
    setAttr(mute, "data-action", f.muted ? "unmute" : "mute");
    setAttr(mute, "aria-pressed", f.muted ? "true" : "false");
    setAttr(mute, "aria-label", f.muted ? "Unmute microphone" : "Mute microphone");
    setAttr(mute.querySelector("use"), "href", f.muted ? "#i-mic-off" : "#i-mic");
    setText(mute.querySelector(".ctrl-label"), f.muted ? "Unmute" : "Mute");
    const held = f.state === "held";
    const hold = $('[data-action="hold"], [data-action="resume"]');
    setAttr(hold, "data-action", held ? "resume" : "hold");
    setAttr(hold, "aria-pressed", held ? "true" : "false");
    setAttr(hold, "aria-label", held ? "Resume call" : "Put call on hold");
    setAttr(hold.querySelector("use"), "href", held ? "#i-play" : "#i-pause");
    setText(hold.querySelector(".ctrl-label"), held ? "Resume" : "Hold");

    for (const name of ["keypad", "transfer"]) {
      const open = state.panel === name && (ps === "connected" || ps === "held");
      $(`[data-subpanel="${name}"]`).hidden = !open;
      const b = $(`[data-panel="${name}"]`);
      setAttr(b, "aria-expanded", open ? "true" : "false");
      setAttr(b, "aria-label", `${open ? "Hide" : "Show"} ${name}`);
    }
    setText(field("dtmf-sent"), state.dtmfSent.get(f.id) || "");
    renderTransfer(f);
  }

  function capitalise(s) {
    return s ? s[0].toUpperCase() + s.slice(1) : s;
  }

  function renderTransfer(f) {
    const attended = $('[data-field="transfer-kind"][value="attended"]').checked;
    $('[data-transfer="blind"]').hidden = attended;
    $('[data-transfer="attended"]').hidden = !attended;
    const select = field("transfer-call");
    const others = [...state.calls.values()].filter((c) => c.id !== f.id && isLive(c));
    const sig = JSON.stringify(others.map((c) => [c.id, displayName(c), c.state]));
    if (select.dataset.sig !== sig) {
      const keep = select.value;
      select.dataset.sig = sig;
      select.replaceChildren();
      for (const c of others) {
        const o = el("option", null, `${displayName(c)} (${STATE_WORDS[pageState(c)] || c.state})`);
        o.value = c.id;
        select.appendChild(o);
      }
      if (others.some((c) => c.id === keep)) select.value = keep;
    }
    select.disabled = others.length === 0;
    setText(
      field("transfer-hint"),
      others.length ? "Joins this caller with the call you pick; you leave both." : "No other call yet: put this call on hold, then use New call to reach the person first.",
    );
  }

  function renderCalls(f) {
    const live = [...state.calls.values()].filter(isLive);
    const card = ui("calls");
    // A second call is for consulting: offered once a call is up, or when there are several.
    card.hidden = !(live.length > 1 || live.some((c) => c.state === "connected" || c.state === "held"));
    if (card.hidden) return;
    const list = field("calls");
    list.hidden = live.length < 2;
    card.querySelector(".section-title").hidden = live.length < 2;
    const sig = JSON.stringify(live.map((c) => [c.id, displayName(c), c.state, f && f.id === c.id]));
    if (list.dataset.sig !== sig) {
      list.dataset.sig = sig;
      list.replaceChildren();
      for (const c of live) {
        const li = el("li");
        const b = el("button", "call-row");
        b.type = "button";
        b.dataset.ui = "focus-call";
        b.dataset.id = c.id;
        setAttr(b, "aria-current", f && f.id === c.id ? "true" : "false");
        const ps = pageState(c);
        const dot = el("span", "state-dot");
        dot.dataset.s = ps;
        const main = el("span", "row-main");
        main.append(el("span", "row-name", displayName(c)), el("span", "row-sub", STATE_WORDS[ps] || c.state));
        const t = el("span", "row-time");
        t.dataset.timer = c.id;
        b.append(dot, main, t);
        b.setAttribute("aria-label", `${displayName(c)}, ${STATE_WORDS[ps] || c.state}: show this call`);
        li.appendChild(b);
        list.appendChild(li);
      }
    }
    for (const t of list.querySelectorAll("[data-timer]")) {
      const c = state.calls.get(t.dataset.timer);
      const since = c && (time(c.answered_at) || time(c.started_at));
      setText(t, since ? clock(Date.now() - since) : "");
    }
    const nc = ui("new-call");
    setAttr(nc, "aria-expanded", state.dialerOpen ? "true" : "false");
    setText(nc.querySelector("span"), state.dialerOpen ? "Hide dial pad" : "New call");
  }

  function renderDialer(ps) {
    const idle = ps === "idle" || ps === "ended";
    ui("dialer").hidden = !(idle || state.dialerOpen);
    const reg = state.registration && state.registration.state;
    const hint = state.link === "up" && reg && reg !== "registered" ? "Calls can be placed once the line is registered." : "";
    setText(field("dial-hint"), hint);
  }

  function renderWrapup() {
    ui("wrapup").hidden = !state.wrapup;
    setText(ui("wrapup-save"), cti.ready ? "Save to Salesforce" : "Save");
    const a = state.agent;
    const left = a && a.state === "after_call_work" ? time(a.wrapup_ends_at) : null;
    setText(field("wrapup-timer"), left != null ? `Wrap-up time left: ${clock(Math.max(0, left - Date.now()))}` : "");
  }

  const AGENT_WORDS = {
    available: "Available",
    away: "Away",
    dnd: "Do not disturb",
    on_call: "On a call",
    after_call_work: "Wrap-up",
  };

  // What the agent's status is (the select shows what they chose; the dot what is in force).
  function agentWords() {
    const a = state.agent;
    if (!a) return "";
    if (a.state === "after_call_work") {
      const left = time(a.wrapup_ends_at);
      return left != null ? `Wrap-up ${clock(Math.max(0, left - Date.now()))}` : "Wrap-up";
    }
    return AGENT_WORDS[a.state] || "";
  }

  function renderPresence() {
    const a = state.agent;
    const box = field("presence");
    box.hidden = !a;
    if (!a) return;
    setAttr(box, "data-agent-state", a.state);
    const select = field("agent-status");
    // On a call or in wrap-up the select shows that (a disabled entry), so that picking
    // Available (to end the wrap-up) is a change like any other.
    const busy = a.state === "on_call" || a.state === "after_call_work";
    let now = select.querySelector('option[value="busy"]');
    if (busy && !now) {
      now = el("option", null, "");
      now.value = "busy";
      now.disabled = true;
      select.prepend(now);
    } else if (!busy && now) {
      now.remove();
      now = null;
    }
    if (now) setText(now, agentWords());
    const chosen = ["available", "away", "dnd"].includes(a.chosen) ? a.chosen : "available";
    if (document.activeElement !== select) select.value = busy ? "busy" : chosen;
    box.title = `Status: ${agentWords()}${busy ? ` (then ${AGENT_WORDS[chosen]})` : ""}`;
  }

  async function chooseStatus(value) {
    try {
      await api("POST", "/agent/status", { state: value });
    } catch (e) {
      showError(`Could not change your status: ${e.message}`);
      renderPresence();
    }
  }

  function renderFooter() {
    setText(field("cti-status"), cti.status);
  }

  function ctiFollow(f, ps) {
    if (!cti.ready) return;
    let label = agentWords() || "Phone";
    let key = "call";
    if (ps === "ringing") label = "Incoming call";
    else if (ps === "dialing") [label, key] = ["Calling", "end_call"];
    else if (ps === "connected" || ps === "held") {
      label = `${ps === "held" ? "On hold" : "On call"} ${field("timer").textContent}`;
      key = "end_call";
    }
    if (cti.label !== label) {
      cti.label = label;
      cti.call("setSoftphoneItemLabel", { label }, "Salesforce could not label the phone");
    }
    if (cti.icon !== key) {
      cti.icon = key;
      cti.call("setSoftphoneItemIcon", { key }, "Salesforce could not change the phone icon");
    }
  }

  let rendering = false;
  function render() {
    if (rendering) return;
    rendering = true;
    try {
      const f = focusedCall();
      const ps = f ? pageState(f) : "idle";
      setAttr(root, "data-state", ps);
      setAttr(root, "data-call-id", f ? f.id : null);
      if (!f || !isLive(f)) {
        state.dialerOpen = false;
      }
      renderHeader();
      renderPresence();
      renderBanner();
      renderCall(f, ps);
      renderCalls(f);
      renderDialer(ps);
      renderWrapup();
      renderFooter();
      if (Date.now() - state.levelsAt > 1000 && state.levelsAt) {
        state.levelsAt = 0;
        setMeter("input", -96);
        setMeter("output", -96);
      }
      ctiFollow(f, ps);
    } finally {
      rendering = false;
    }
  }

  // ------------------------------------------------------------------ input

  function focusedId() {
    return root.getAttribute("data-call-id");
  }

  function typeKey(k) {
    const input = field("number");
    input.value += k;
  }

  async function act(action) {
    if (action === "dial") {
      const input = field("number");
      if (!input.value.trim() && state.lastDialed) {
        input.value = state.lastDialed; // an empty Call button recalls the last number
        input.focus();
        return;
      }
      dial(input.value, { source: "pad" });
      return;
    }
    const id = focusedId();
    if (!id) return;
    switch (action) {
      case "decline":
        await command(id, "reject");
        break;
      case "dtmf":
        break; // handled with its digit
      case "transfer":
        await transfer(id);
        break;
      default:
        await command(id, action);
    }
  }

  async function sendDigit(digit) {
    const id = focusedId();
    if (!id || !/^[0-9*#A-D]$/.test(digit)) return;
    state.dtmfSent.set(id, `${state.dtmfSent.get(id) || ""}${digit}`.slice(-24));
    render();
    await command(id, "dtmf", { digits: digit });
  }

  async function transfer(id) {
    const attended = $('[data-field="transfer-kind"][value="attended"]').checked;
    let body;
    if (attended) {
      const other = field("transfer-call").value;
      if (!other) {
        showError("Pick the call to transfer to (call the person first, then pick that call).");
        return;
      }
      body = { replaces: other };
    } else {
      const to = field("transfer-to").value.trim();
      if (!to) {
        field("transfer-to").focus();
        return;
      }
      body = { to };
    }
    if (await command(id, "transfer", body)) {
      note(id, "Transferring…");
      field("transfer-to").value = "";
      render();
    }
  }

  function togglePanel(name) {
    state.panel = state.panel === name ? null : name;
    render();
    if (state.panel === "transfer") {
      const attended = $('[data-field="transfer-kind"][value="attended"]').checked;
      (attended ? field("transfer-call") : field("transfer-to")).focus();
    }
  }

  function onClick(e) {
    const b = e.target.closest("button");
    if (!b || b.disabled) return;
    if (b.dataset.key) {
      if (suppressKeyClick) {
        suppressKeyClick = false;
        return;
      }
      typeKey(b.dataset.key);
      return;
    }
    if (b.dataset.action === "dtmf") {
      sendDigit(b.dataset.digit || "");
      return;
    }
    if (b.dataset.action) {
      act(b.dataset.action);
      return;
    }
    if (b.dataset.panel) {
      togglePanel(b.dataset.panel);
      return;
    }
    switch (b.dataset.ui) {
      case "error-dismiss":
        clearError();
        break;
      case "backspace": {
        const input = field("number");
        input.value = input.value.slice(0, -1);
        break;
      }
      case "audio": {
        const panel = $("#audio-panel");
        panel.hidden = !panel.hidden;
        setAttr(b, "aria-expanded", panel.hidden ? "false" : "true");
        if (!panel.hidden) loadDevices();
        break;
      }
      case "new-call":
        state.dialerOpen = !state.dialerOpen;
        render();
        if (state.dialerOpen) field("number").focus();
        break;
      case "focus-call":
        state.focusId = b.dataset.id || null;
        state.panel = null;
        render();
        break;
      case "redial":
        dial(b.dataset.number || "", { source: "recent" });
        break;
      case "retry":
        reconnectNow();
        break;
      case "wrapup-save":
        saveWrapup();
        break;
      case "relog":
        relog(b.dataset.callId || "");
        break;
      case "wrapup-done": {
        const w = state.wrapup;
        state.wrapup = null;
        // Done with the wrap-up: ready for the next call. The call's end can reach this tab
        // before the agent's own status says "wrap-up" (a tab just reloaded, a busy page):
        // then it is asked for as soon as the status does, instead of the click doing nothing.
        if (state.agent && state.agent.state === "after_call_work") chooseStatus("available");
        else if (w) state.wrapupDoneFor = w.id;
        render();
        break;
      }
      default:
        break;
    }
  }

  // Holding "0" types "+".
  let suppressKeyClick = false;
  let zeroTimer = null;
  function onPointerDown(e) {
    const b = e.target.closest('[data-key="0"]');
    if (!b) return;
    zeroTimer = setTimeout(() => {
      zeroTimer = null;
      typeKey("+");
      suppressKeyClick = true;
    }, 600);
  }
  function onPointerUp() {
    if (zeroTimer) clearTimeout(zeroTimer);
    zeroTimer = null;
  }

  function onKeyDown(e) {
    const t = e.target;
    const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
    if (e.key === "Enter" && t === field("number")) {
      e.preventDefault();
      act("dial");
      return;
    }
    if (e.key === "Enter" && t === field("transfer-to")) {
      e.preventDefault();
      act("transfer");
      return;
    }
    if (e.key === "Escape") {
      if (state.panel) {
        state.panel = null;
        render();
      } else if (state.dialerOpen) {
        state.dialerOpen = false;
        render();
      }
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey || !/^[0-9*#]$/.test(e.key)) return;
    // Digits typed anywhere: tones while the keypad is open, else into the number field.
    if (state.panel === "keypad" && focusedId()) {
      sendDigit(e.key);
    } else if (!ui("dialer").hidden) {
      typeKey(e.key);
      field("number").focus();
    }
  }

  function wire() {
    document.addEventListener("click", onClick);
    document.addEventListener("pointerdown", onPointerDown);
    document.addEventListener("pointerup", onPointerUp);
    document.addEventListener("pointercancel", onPointerUp);
    document.addEventListener("keydown", onKeyDown);
    for (const r of document.querySelectorAll('[data-field="transfer-kind"]')) {
      r.addEventListener("change", () => render());
    }
    field("input-device").addEventListener("change", (e) => selectDevice("input", e.target.value));
    field("output-device").addEventListener("change", (e) => selectDevice("output", e.target.value));
    field("ring-device").addEventListener("change", (e) => selectDevice("ring", e.target.value));
    for (const name of ["disposition", "notes"]) {
      field(name).addEventListener("input", () => {
        if (!state.wrapup) return;
        state.wrapup.dirty = true;
        setText(field("wrapup-status"), ""); // what is typed now is not saved yet
      });
    }
    field("agent-status").addEventListener("change", (e) => chooseStatus(e.target.value));
    window.addEventListener("online", reconnectNow);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") {
        reconnectNow();
        sayActive(true);
      }
    });
    // The tab the agent works in leads (see sayActive).
    window.addEventListener("focus", () => sayActive(true));
    document.addEventListener("pointerdown", () => sayActive(false), true);
    document.addEventListener("keydown", () => sayActive(false), true);
    const retry = el("button", "btn btn-neutral", "Retry now");
    retry.type = "button";
    retry.dataset.ui = "retry";
    $('[data-banner="lna"] .banner-body').appendChild(retry);
  }

  // ------------------------------------------------------------------ finding the agent

  function loopbackOrigin(raw) {
    try {
      const u = new URL(raw);
      if (u.protocol === "http:" && isLoopbackHost(u.hostname) && (u.pathname === "/" || u.pathname === "")) return u.origin;
    } catch (e) {
      // fall through
    }
    return null;
  }

  async function findBridge(ctiStarted) {
    const given = QUERY.get("bridge");
    if (given) {
      const b = loopbackOrigin(given);
      if (b) return b;
      showError(`Ignoring bridge=${given}: it must be http://127.0.0.1:PORT or http://localhost:PORT`);
    }
    if (state.servedByAgent) return location.origin;
    if (cti.wanted && (await ctiStarted)) {
      const settings = cti.settings || {};
      const port = String(settings["/softphoneBridge/port"] ?? "").trim();
      if (/^\d{1,5}$/.test(port) && Number(port) > 0 && Number(port) < 65536) return `http://127.0.0.1:${Number(port)}`;
    }
    return DEFAULT_BRIDGE;
  }

  async function main() {
    wire();
    state.servedByAgent =
      location.protocol === "http:" && isLoopbackHost(location.hostname) && location.pathname.startsWith("/softphone/");
    render();
    const ctiStarted = ctiStart();
    state.bridge = await findBridge(ctiStarted);
    restoreResume();
    render();
    connect();
    // Timers, the ended hold and the registration retry countdown move once a second.
    setInterval(render, 1000);
  }

  main().catch((e) => {
    showError(`The softphone failed to start: ${e && e.message ? e.message : e}`);
  });
})();
