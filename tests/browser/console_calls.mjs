// The softphone page inside the stand-in Salesforce console, with the real agent behind it
// (run by tests/browser_page.rs, which starts Kamailio, the agent, SIPp and the console and
// answers this script's "need" lines: see lib.mjs).
//
//   node tests/browser/console_calls.mjs --console URL --adapter URL --shots DIR --rings N
//
// Scenarios, in order, in one Chromium: an inbound carrier call answered and hung up by
// clicking; click-to-dial of a Lead; a console reload mid-call; N inbound rings declined
// (timing of ringing and screen pop); the agent stopped (the Local Network Access banner).
// Each prints a result line; the Rust test asserts on them and on the console's state.

import {
  Test,
  args,
  click,
  consoleState,
  launch,
  log,
  rootState,
  shot,
  sleep,
  softphoneFrame,
  stateLog,
  stateTime,
  until,
  waitState,
  watch,
} from './lib.mjs';

const LEAD = '00Q000000000001AAA';
const TALK_MS = 3000;

const opts = args();
const test = new Test();
const consoleUrl = opts.console;
const adapter = opts.adapter;
const shots = opts.shots;
const rings = Number(opts.rings || 20);

const { context, close } = await launch();
const page = await context.newPage();
const pageErrors = watch(page, 'console page');
let frame;
let scenario = 'setup';

/** The softphone iframe element (its panel opened if the console keeps it closed). */
async function softphone() {
  const element = await frame.frameElement();
  if (!(await element.isVisible())) {
    // The console's utility item opens the panel, as an agent would click it.
    const item = page.locator('[data-utility-item]').first();
    if (await item.count()) await item.click();
    await until('the softphone panel to be visible', 10_000, () => element.isVisible());
  }
  return element;
}

async function load(how) {
  const started = Date.now();
  if (how === 'reload') await page.reload();
  else await page.goto(consoleUrl);
  frame = await softphoneFrame(page, adapter);
  return started;
}

/** Hangs up by clicking; waits for the page to leave `connected`. Returns when that was. */
async function hangUp(callId) {
  await softphone();
  await click(frame, 'hangup');
  await until(`call ${callId} to end in the page`, 20_000, async () => {
    const s = await rootState(frame);
    return s.state !== 'connected' || s.callId !== callId;
  });
  const states = await stateLog(frame);
  const connected = states.findIndex((s) => s.state === 'connected' && s.callId === callId);
  const after = states.slice(connected + 1).find((s) => s.state !== 'connected');
  return { connectedAt: states[connected]?.t ?? null, endedAt: after?.t ?? null, states };
}

/** Waits until the console holds a Task for `callId`, then a little longer for duplicates. */
async function taskSaved(callId) {
  await until(`a Task for call ${callId}`, 20_000, async () => {
    const s = await consoleState(consoleUrl);
    return s.tasks.some((t) => t.CallObject === callId);
  });
  await sleep(1500);
}

async function setup() {
  await load('goto');
  await until('the page to show Registered', 30_000, async () =>
    /\bRegistered\b/.test(await frame.locator('[data-field="registration"]').first().innerText()),
  );
  await until('Open CTI initialised with click-to-dial', 20_000, async () => {
    const s = await consoleState(consoleUrl);
    return s.initialized && s.clickToDialEnabled;
  });
  const idle = await rootState(frame);
  const banner = await frame.locator('[data-banner="lna"]').first();
  const bannerVisible = (await banner.count()) > 0 && (await banner.isVisible());
  await shot(await softphone(), shots, 'idle');
  await shot(page, shots, 'console-idle');
  test.result('setup', { state: idle.state, bannerVisible });
}

async function inbound() {
  const before = await consoleState(consoleUrl);
  await test.need('call', { key: 'inbound', scenario: 'answered' });
  const ring = await waitState(frame, 'ringing', null, 30_000);
  const callId = ring.callId;
  const remote = await frame.locator('[data-field="remote"]').first().innerText();
  await until('the screen pop', 15_000, async () => {
    const s = await consoleState(consoleUrl);
    return s.screenPops.length > before.screenPops.length;
  });
  await shot(await softphone(), shots, 'ringing');
  await shot(page, shots, 'console-ringing');
  await click(frame, 'answer');
  await waitState(frame, 'connected', callId);
  await sleep(1500); // the call timer shows talk time
  await shot(await softphone(), shots, 'in-call');
  await shot(page, shots, 'console-in-call');
  await sleep(TALK_MS - 1500);
  const talk = await hangUp(callId);
  await taskSaved(callId);
  await shot(await softphone(), shots, 'after-call');
  await shot(page, shots, 'console-after-call');
  test.result('inbound', {
    callId,
    remote,
    talkMs: talk.endedAt - talk.connectedAt,
    states: talk.states,
  });
}

async function clickToDial() {
  const known = new Set((await stateLog(frame)).map((s) => s.callId));
  await softphone();
  await page.locator(`a[data-click-to-dial][data-record-id="${LEAD}"]`).first().click();
  const up = await until('the dialled call to connect', 30_000, async () => {
    const s = await rootState(frame);
    return s.state === 'connected' && !known.has(s.callId) && s;
  });
  const callId = up.callId;
  await sleep(1000);
  const talk = await hangUp(callId);
  await taskSaved(callId);
  test.result('click_to_dial', { callId, states: talk.states });
}

async function reload() {
  await test.need('call', { key: 'reload', scenario: 'answered' });
  const ring = await waitState(frame, 'ringing', null, 30_000);
  const callId = ring.callId;
  await click(frame, 'answer');
  await waitState(frame, 'connected', callId);
  await sleep(500);
  const started = await load('reload');
  await waitState(frame, 'connected', callId, 20_000);
  const shownAt = await stateTime(frame, 'connected', callId);
  const sipp = await test.need('sipp_status', { key: 'reload' });
  await sleep(500);
  await hangUp(callId);
  await taskSaved(callId);
  test.result('reload', {
    callId,
    shownMs: shownAt - started,
    statesAfterReload: await stateLog(frame),
    sippRunning: sipp.running,
    sippSawBye: sipp.bye,
  });
}

async function ringTimes() {
  const seen = new Set((await stateLog(frame)).map((s) => s.callId));
  const out = [];
  for (let k = 1; k <= rings; k++) {
    const key = `ring${k}`;
    await test.need('call', { key, scenario: 'declined' });
    const ring = await until(`ring ${k} in the page`, 30_000, async () => {
      const s = await rootState(frame);
      return s.state === 'ringing' && !seen.has(s.callId) && s;
    });
    seen.add(ring.callId);
    const ringingAt = await stateTime(frame, 'ringing', ring.callId);
    await softphone();
    await click(frame, 'decline');
    await until(`ring ${k} to stop`, 15_000, async () => {
      const s = await rootState(frame);
      return !(s.state === 'ringing' && s.callId === ring.callId);
    });
    await test.need('sipp_wait', { key });
    out.push({ key, callId: ring.callId, ringingAt });
  }
  test.result('rings', { rings: out });
}

async function agentStopped() {
  await test.need('stop_agent');
  const banner = frame.locator('[data-banner="lna"]').first();
  await until('the Local Network Access banner', 30_000, () => banner.isVisible());
  const text = await banner.innerText();
  await shot(await softphone(), shots, 'blocked');
  await shot(page, shots, 'console-blocked');
  test.result('agent_stopped', { text });
}

try {
  for (const [name, run] of [
    ['setup', setup],
    ['inbound', inbound],
    ['click_to_dial', clickToDial],
    ['reload', reload],
    ['rings', ringTimes],
    ['agent_stopped', agentStopped],
  ]) {
    scenario = name;
    log(`--- ${name}`);
    await run();
  }
  test.result('done', { pageErrors });
  await close();
  process.exit(0);
} catch (e) {
  log(`${scenario} failed:`, e.stack || e);
  try {
    await shot(page, shots, `failure-${scenario}`);
    if (frame) log('softphone page HTML:\n', await frame.content());
    log('softphone states:', JSON.stringify(frame ? await stateLog(frame) : []));
  } catch (e2) {
    log('could not collect the failure details:', e2);
  }
  test.result('failed', { failedScenario: scenario, error: String(e.stack || e), pageErrors });
  await close();
  process.exit(1);
}
