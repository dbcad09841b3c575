// Shared parts of the browser tests (tests/browser_page.rs runs the scripts beside this file).
//
// - Debian's Chromium (`/usr/bin/chromium`, or $CHROMIUM), driven by playwright-core: never a
//   downloaded browser. Headless, fresh profile, no background traffic.
// - The line protocol with the Rust test: every line this process prints on stdout that is
//   meant for the test starts with "@@ " and holds one JSON object:
//     {"type":"need","id":N,"what":...}    ask the test to do something (start a SIPp call,
//                                          stop the agent); it answers on stdin with one
//                                          JSON line {"id":N,...}
//     {"type":"result","scenario":...}     what a scenario observed, for the test to assert
//   Anything else (logs) goes to stderr.
// - Page hooks from docs/page-contract: `data-state` / `data-call-id` on <html>, `data-action`
//   buttons, `data-field`s, `data-banner="lna"`.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** `--name value` pairs of the command line. */
export function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) {
      throw new Error(`bad arguments: ${argv.join(' ')}`);
    }
    out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

export function log(...parts) {
  const t = new Date().toISOString().slice(11, 23);
  process.stderr.write(`[browser ${t}] ${parts.join(' ')}\n`);
}

/** One Chromium with a fresh profile (removed on close). Returns {context, close}. */
export async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
    timeout: 60_000,
  });
  // Every document of the softphone page records when its state changed, from before the
  // page's own scripts run (Date.now(): the same wall clock as the agent's log and the
  // console's `at`).
  await context.addInitScript(recordStates);
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Runs inside each frame: `window.__states` = [{state, callId, t}] of the root element. */
function recordStates() {
  if (!location.pathname.startsWith('/softphone')) return;
  const states = (window.__states = []);
  const note = () => {
    const root = document.documentElement;
    if (!root) return;
    const state = root.getAttribute('data-state');
    const callId = root.getAttribute('data-call-id');
    const last = states[states.length - 1];
    if (!last || last.state !== state || last.callId !== callId) {
      states.push({ state, callId, t: Date.now() });
    }
  };
  // The root element may not exist yet: watch the whole document until it does.
  new MutationObserver(note).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['data-state', 'data-call-id'],
  });
  note();
}

/** Logs the page's console and errors to stderr; keeps uncaught errors in `errors`. */
export function watch(page, name) {
  const errors = [];
  page.on('console', (m) => log(`${name} console.${m.type()}:`, m.text()));
  page.on('pageerror', (e) => {
    errors.push(String(e.stack || e));
    log(`${name} page error:`, e.stack || e);
  });
  return errors;
}

/** The protocol with the Rust test. */
export class Test {
  constructor() {
    this.next = 1;
    this.waiting = new Map();
    readline.createInterface({ input: process.stdin }).on('line', (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        log('ignoring a line from the test:', line);
        return;
      }
      const w = this.waiting.get(msg.id);
      if (w) {
        this.waiting.delete(msg.id);
        w(msg);
      }
    });
  }

  send(obj) {
    process.stdout.write(`@@ ${JSON.stringify(obj)}\n`);
  }

  /** Asks the test to do `what`; resolves with its answer (fails if it reports an error). */
  async need(what, details = {}, timeoutMs = 60_000) {
    const id = this.next++;
    const answer = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`the test did not answer "${what}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, (msg) => {
        clearTimeout(timer);
        if (msg.error) reject(new Error(`the test could not ${what}: ${msg.error}`));
        else resolve(msg);
      });
    });
    this.send({ type: 'need', id, what, ...details });
    return answer;
  }

  result(scenario, data) {
    this.send({ type: 'result', scenario, ...data });
  }
}

/** Polls `probe` (async, returns a truthy value when done) until `timeoutMs`. */
export async function until(what, timeoutMs, probe, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      // A frame that navigates away mid-probe: try again.
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    }
    await sleep(everyMs);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The softphone page's frame in `page` (by its URL), once it exists. */
export async function softphoneFrame(page, adapterUrl, timeoutMs = 30_000) {
  const prefix = new URL(adapterUrl);
  return until('the softphone frame', timeoutMs, () =>
    page.frames().find((f) => {
      try {
        const u = new URL(f.url());
        return u.origin === prefix.origin && u.pathname.startsWith(prefix.pathname);
      } catch {
        return false;
      }
    }),
  );
}

/** The root element's state and call id in `frame`. */
export async function rootState(frame) {
  return frame.evaluate(() => ({
    state: document.documentElement.getAttribute('data-state'),
    callId: document.documentElement.getAttribute('data-call-id'),
  }));
}

/** Waits until the frame's root is in `state` (and, if given, for call `callId`). */
export async function waitState(frame, state, callId, timeoutMs = 20_000) {
  return until(`data-state=${state}${callId ? ` for call ${callId}` : ''}`, timeoutMs, async () => {
    const s = await rootState(frame);
    if (s.state === state && (!callId || s.callId === callId)) return s;
    return false;
  });
}

/** When the frame's document first showed `state` for `callId` (from window.__states). */
export async function stateTime(frame, state, callId) {
  return frame.evaluate(
    ([state, callId]) =>
      (window.__states || []).find((s) => s.state === state && (!callId || s.callId === callId))?.t ??
      null,
    [state, callId],
  );
}

/** Every state the frame's current document went through. */
export async function stateLog(frame) {
  return frame.evaluate(() => window.__states || []);
}

/** Clicks the visible `[data-action=action]` button. */
export async function click(frame, action) {
  await frame.locator(`[data-action="${action}"]:visible`).first().click({ timeout: 10_000 });
}

/** The console's test state (GET /__test/state). */
export async function consoleState(consoleUrl) {
  const res = await fetch(new URL('/__test/state', consoleUrl));
  if (!res.ok) throw new Error(`console state: HTTP ${res.status}`);
  return res.json();
}

/** Saves a screenshot of `locator` (or the page) as DIR/NAME.png. */
export async function shot(target, dir, name) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await target.screenshot({ path: file, timeout: 15_000 });
  log('screenshot', file);
  return file;
}
