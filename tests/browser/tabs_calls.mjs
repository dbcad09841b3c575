// Many Salesforce tabs, one agent: every call is popped at most once and logged exactly once
// while tabs are closed, reloaded and brought to front at random, during ringing too; a call
// that ends while no page is open is logged when one opens; a call cut short by killing the
// agent is logged as interrupted after the agent restarts (run by tests/browser_tabs.rs,
// which starts Kamailio, the agent, SIPp and the console and answers this script's "need"
// lines: see lib.mjs).
//
//   node tests/browser/tabs_calls.mjs --console URL --adapter URL --shots DIR --calls N --seed S
//
// Each scenario prints a result line; the Rust test asserts on them and on the console's
// state (Tasks and screen pops are counted by the console's server, not in a tab).

import { Test, args, consoleState, launch, log, rootState, shot, sleep, softphoneFrame, until, watch } from './lib.mjs';

const opts = args();
const test = new Test();
const consoleUrl = opts.console;
const adapter = opts.adapter;
const shots = opts.shots;
const calls = Number(opts.calls || 50);
let seed = Number(opts.seed || 1) >>> 0;

// A small seeded generator (mulberry32), so a failing run can be replayed with its seed.
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(random() * list.length)];

const { context, close } = await launch();
const pageErrors = [];
const tabs = []; // {page, frame, name}
let opened = 0;
const actions = [];

async function openTab() {
  const page = await context.newPage();
  const name = `tab${++opened}`;
  const errors = watch(page, name);
  const tab = { page, frame: null, name, errors };
  await page.goto(consoleUrl);
  tab.frame = await softphoneFrame(page, adapter);
  tabs.push(tab);
  return tab;
}

/** Waits until `tab`'s page is connected to the agent and to Open CTI. */
async function ready(tab, timeoutMs = 30_000) {
  await until(`${tab.name} to be ready`, timeoutMs, async () => {
    const reg = await tab.frame.locator('[data-field="registration"]').first().innerText();
    const cti = await tab.frame.locator('[data-field="cti-status"]').first().innerText();
    return /\bRegistered\b/.test(reg) && /Connected to Salesforce/.test(cti);
  });
}

async function reload(tab) {
  await tab.page.reload();
  tab.frame = await softphoneFrame(tab.page, adapter);
}

async function closeTab(tab) {
  tabs.splice(tabs.indexOf(tab), 1);
  pageErrors.push(...tab.errors);
  await tab.page.close();
}

/** One random thing a user does to their tabs; keeps `count` tabs open. */
async function chaos(count, when) {
  const r = random();
  const tab = pick(tabs);
  if (r < 0.3) {
    actions.push(`${when}: reload ${tab.name}`);
    await reload(tab);
  } else if (r < 0.5) {
    actions.push(`${when}: close ${tab.name}`);
    await closeTab(tab);
  } else if (r < 0.75) {
    actions.push(`${when}: front ${tab.name}`);
    await tab.page.bringToFront();
  }
  while (tabs.length < count) {
    const t = await openTab();
    actions.push(`${when}: open ${t.name}`);
  }
}

/** A tab whose page shows `state` (for `callId` when given), opening its panel if closed. */
async function tabShowing(state, callId, timeoutMs = 20_000) {
  return until(`a tab showing ${state}`, timeoutMs, async () => {
    for (const tab of [...tabs]) {
      try {
        const s = await rootState(tab.frame);
        if (s.state === state && (!callId || s.callId === callId)) return { tab, callId: s.callId };
      } catch {
        // a tab mid-reload
      }
    }
    return false;
  });
}

/** A tab showing the after-call work form. */
async function tabShowingWrapup() {
  return until('a tab showing the wrap-up', 20_000, async () => {
    for (const tab of [...tabs]) {
      try {
        if (await tab.frame.locator('[data-ui="wrapup"]').first().isVisible()) return tab;
      } catch {
        // a tab mid-reload
      }
    }
    return false;
  });
}

/** Done in whichever tab shows the wrap-up, until the agent is available again. On a
 * loaded machine a click in a tab reloaded a moment before was seen lost now and then (the
 * agent stayed in wrap-up); an agent whose click did nothing clicks again, and so does this,
 * saying so in the log. */
async function wrapupDone(what) {
  for (let attempt = 1; ; attempt++) {
    const wrap = await tabShowingWrapup();
    await clickOn(wrap, '[data-ui="wrapup-done"]');
    const available = async () =>
      (await wrap.frame.locator('[data-field="presence"]').first().getAttribute('data-agent-state')) === 'available';
    try {
      await until('available again', attempt < 3 ? 5_000 : 10_000, available);
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      log(`${what}: Done in ${wrap.name} left the agent in wrap-up; Done again`);
    }
  }
}

/** Clicks `action` in `tab` as the agent would. */
async function clickIn(tab, action) {
  await clickOn(tab, `[data-action="${action}"]:visible`);
}

/** Clicks `selector` in `tab`'s softphone: the tab in front, its panel open. */
async function clickOn(tab, selector) {
  await tab.page.bringToFront();
  const element = await tab.frame.frameElement();
  // The utility item toggles the panel, which the page may be opening itself (a screen pop
  // calls setSoftphonePanelVisibility): click, look, and click again if it is still closed.
  for (let i = 0; i < 5 && !(await element.isVisible()); i++) {
    const item = tab.page.locator('[data-utility-item]').first();
    if (await item.count()) await item.click();
    await until('the softphone panel to be visible', 2_000, () => element.isVisible()).catch(() => {});
  }
  const target = tab.frame.locator(selector).first();
  try {
    await target.click({ timeout: 8_000 });
  } catch (e) {
    // On a loaded machine a tab may get no animation frames for a while, and the click
    // never sees the button "stable". It is there and visible: press it as the DOM does.
    if (!(await target.isVisible())) throw e;
    log(`${tab.name}: click on ${selector} timed out (${e.message.split('\n')[0]}); dispatching it`);
    await target.dispatchEvent('click');
  }
}

/** The Tasks whose CallObject is `callId`, once at least one exists. */
async function tasksOf(callId, timeoutMs = 30_000) {
  return until(`a Task for call ${callId}`, timeoutMs, async () => {
    const s = await consoleState(consoleUrl);
    const found = s.tasks.filter((t) => t.CallObject === callId);
    return found.length ? found : false;
  });
}

// ---------------------------------------------------------------- scenarios

/** N calls through 2 and then 3 tabs with random closes, reloads and focus changes. */
async function manyTabs() {
  const ids = [];
  for (let n = 1; n <= calls; n++) {
    const count = n <= calls / 2 ? 2 : 3;
    while (tabs.length < count) await openTab();
    await Promise.all(tabs.map((t) => ready(t)));
    const caller = `+1555099${String(n).padStart(4, '0')}`;
    await test.need('call', { key: `tabs${n}`, caller, talkMs: 600 });
    const ring = await tabShowing('ringing');
    if (random() < 0.4) await chaos(count, `call ${n} ringing`);
    // Whoever shows the ringing call answers it (a reloaded tab shows it again).
    const shown = await tabShowing('ringing', ring.callId);
    await clickIn(shown.tab, 'answer');
    if (random() < 0.4) await chaos(count, `call ${n} talking`);
    await test.need('sipp_wait', { key: `tabs${n}` });
    if (random() < 0.4) await chaos(count, `call ${n} ended`);
    // The agent is in wrap-up after each answered call; Done (in whichever tab shows it, as
    // every tab does) makes them available for the next.
    await wrapupDone(`call ${n}`);
    ids.push({ callId: ring.callId, caller });
  }
  // Every call's Task arrives, through whichever tab leads now.
  await until(`${calls} Tasks`, 60_000, async () => {
    const s = await consoleState(consoleUrl);
    return ids.every(({ callId }) => s.tasks.some((t) => t.CallObject === callId));
  });
  await sleep(2000); // time for a duplicate to show up, if one were coming
  test.result('tabs', { calls: ids, actions });
}

/** The page is closed mid-call, the far end hangs up, a page opens later: one Task then. */
async function closedPage() {
  while (tabs.length > 1) await closeTab(tabs[tabs.length - 1]);
  const tab = tabs[0];
  await ready(tab);
  await test.need('call', { key: 'closed', caller: '+15550102000', talkMs: 3000 });
  const ring = await tabShowing('ringing');
  await clickIn(tab, 'answer');
  await tabShowing('connected', ring.callId);
  await closeTab(tab);
  const closedAt = Date.now();
  await test.need('sipp_wait', { key: 'closed' });
  await sleep(3000);
  const before = (await consoleState(consoleUrl)).tasks.filter((t) => t.CallObject === ring.callId).length;
  const reopenedAt = Date.now();
  const again = await openTab();
  await ready(again);
  const found = await tasksOf(ring.callId);
  await sleep(2000);
  // The page opened during the agent's wrap-up shows it too; Done ends it.
  const wrap = await tabShowingWrapup();
  await wrap.page.bringToFront();
  await shot(wrap.page, shots, 'tabs-reopened');
  await clickOn(wrap, '[data-ui="wrapup-done"]');
  test.result('closed_page', { callId: ring.callId, closedAt, reopenedAt, tasksWhileClosed: before, tasks: found });
}

/** Wrap-up after an answered call: the chosen result and notes reach the call's Task; the
 * status the agent picks in the page turns calls away and shows on the utility item. */
async function wrapupAndStatus() {
  const tab = tabs[0];
  await ready(tab);
  await test.need('call', { key: 'wrapup', caller: '+15550102000', talkMs: 600 });
  const ring = await tabShowing('ringing');
  await clickIn(tab, 'answer');
  await test.need('sipp_wait', { key: 'wrapup' });
  const f = tab.frame;
  await until('the after-call work form', 15_000, () => f.locator('[data-ui="wrapup"]').first().isVisible());
  const codes = await f.locator('[data-field="disposition"] option').allInnerTexts();
  const presence = await until('the wrap-up status', 10_000, async () => {
    const s = await f.locator('[data-field="presence"]').first().getAttribute('data-agent-state');
    return s === 'after_call_work' ? s : false;
  });
  const labelInWrapup = await until('the utility item to show the wrap-up', 10_000, async () => {
    const l = (await consoleState(consoleUrl)).itemLabel;
    return /^Wrap-up/.test(l || '') ? l : false;
  }).catch(async () => (await consoleState(consoleUrl)).itemLabel);
  await f.locator('[data-field="disposition"]').first().selectOption('Escalated');
  await f.locator('[data-field="notes"]').first().fill('Asked for a supervisor about the refund.');
  await tab.page.bringToFront();
  await shot(f.locator('body'), shots, 'wrapup');
  await clickOn(tab, '[data-ui="wrapup-save"]');
  const task = await until('the Task updated with the wrap-up', 20_000, async () => {
    const found = (await consoleState(consoleUrl)).tasks.filter((t) => t.CallObject === ring.callId);
    return found.length && found[0].CallDisposition === 'Escalated' ? found : false;
  });
  await clickOn(tab, '[data-ui="wrapup-done"]');
  await until('available again', 10_000, async () =>
    (await f.locator('[data-field="presence"]').first().getAttribute('data-agent-state')) === 'available');

  await f.locator('[data-field="agent-status"]').first().selectOption('dnd');
  await until('do not disturb', 10_000, async () =>
    (await f.locator('[data-field="presence"]').first().getAttribute('data-agent-state')) === 'dnd');
  const labelDnd = await until('the utility item to say so', 10_000, async () => {
    const l = (await consoleState(consoleUrl)).itemLabel;
    return /disturb/i.test(l || '') ? l : false;
  });
  await shot(f.locator('body'), shots, 'status-dnd');
  const rejected = await test.need('call_turned_away', { caller: '+15550104000' });
  const turnedAway = await until('a Task for the call turned away', 20_000, async () => {
    const s = await consoleState(consoleUrl);
    return s.tasks.find((t) => /5550104000/.test(t.Subject || '') || /5550104000/.test(t.Description || ''));
  });
  await f.locator('[data-field="agent-status"]').first().selectOption('available');
  // The next scenario's call must not reach the agent before it is available again.
  await until('available after do not disturb', 10_000, async () =>
    (await f.locator('[data-field="presence"]').first().getAttribute('data-agent-state')) === 'available');
  test.result('wrapup', {
    callId: ring.callId,
    codes,
    presence,
    labelInWrapup,
    labelDnd,
    tasks: task,
    rejected,
    turnedAway,
  });
}

/** The agent is killed mid-call and restarted: the call is logged as interrupted. */
async function killed() {
  const tab = tabs[0];
  await ready(tab);
  await test.need('call', { key: 'killed', caller: '+15550103000', talkMs: 120000 });
  const ring = await tabShowing('ringing');
  await clickIn(tab, 'answer');
  await tabShowing('connected', ring.callId);
  const answeredAt = Date.now();
  await sleep(3000);
  const { killedAt } = await test.need('kill_and_restart_agent');
  await ready(tab, 60_000);
  const found = await tasksOf(ring.callId, 60_000);
  await sleep(2000);
  const all = (await consoleState(consoleUrl)).tasks.filter((t) => t.CallObject === ring.callId);
  await tab.page.bringToFront();
  await shot(tab.frame.locator('body'), shots, 'tabs-after-restart');
  test.result('killed', { callId: ring.callId, answeredAt, killedAt, tasks: all, firstSeen: found.length });
}

try {
  await openTab();
  await manyTabs();
  await closedPage();
  await wrapupAndStatus();
  await killed();
  for (const t of tabs) pageErrors.push(...t.errors);
  test.result('done', { pageErrors });
} catch (e) {
  log('failed:', e.stack || e);
  test.result('failed', { error: String(e.stack || e), actions });
} finally {
  await close();
  process.exit(0);
}
