// The softphone page against a bridge that misbehaves (run by tests/browser_page.rs):
//
//   node tests/browser/page_faults.mjs --web bridge/web --shots DIR
//
// bad_input: a fake bridge sends an unknown event type, broken JSON and events of the wrong
//   shape, then a good incoming call whose caller display name is an HTML payload. The page
//   must ignore the bad ones without an uncaught error, stay usable (registration shown,
//   number field takes typing, Answer reaches the bridge) and show the name as text.
// blocked: the page hosted on one origin, its bridge a closed loopback port: every request
//   fails the way a browser blocking loopback access (Local Network Access) makes it fail;
//   the page must show its guidance banner, naming the browser policies.

import net from 'node:net';
import path from 'node:path';
import { fakeBridge } from './fake_bridge.mjs';
import { Test, args, click, launch, log, rootState, shot, sleep, until, waitState, watch } from './lib.mjs';

/** The size of Salesforce's softphone panel in the utility bar. */
const UTILITY_BAR = { width: 400, height: 760 };
const XSS_NAME = '<img src=x onerror="window.__xss=1">Mallory';

const opts = args();
const web = path.resolve(opts.web);
const shots = opts.shots;
const test = new Test();
const { context, close } = await launch();
let scenario = 'bad_input';
let page;

async function badInput() {
  const bridge = await fakeBridge({ web, mode: 'scripted' });
  page = await context.newPage();
  await page.setViewportSize(UTILITY_BAR);
  const pageErrors = watch(page, 'page');
  await page.goto(`${bridge.origin}/softphone/?bridge=${encodeURIComponent(bridge.origin)}`);
  const registration = page.locator('[data-field="registration"]').first();
  await until('the snapshot shown (Registered)', 20_000, async () =>
    /\bRegistered\b/.test(await registration.innerText()),
  );
  await until('the event socket', 10_000, () => bridge.connections() > 0);

  for (const frame of [
    JSON.stringify({ event: 'weather_report', seq: 2, forecast: 'sunny' }),
    '{"event": "call", "seq": 3, "call": {',
    'not json at all',
    '42',
    'null',
    JSON.stringify([1, 2, 3]),
    JSON.stringify({ event: 'call', seq: 3 }),
    JSON.stringify({ event: 'registration', seq: 3, registration: 'nonsense' }),
  ]) {
    bridge.send(frame);
  }
  await sleep(500);
  const afterBad = await registration.innerText();
  const number = page.locator('[data-field="number"]').first();
  await number.fill('');
  await number.pressSequentially('5550103000');
  const typed = await number.inputValue();

  const call = {
    id: 'fake-c1',
    direction: 'inbound',
    state: 'ringing',
    remote: { number: '+15550109999', display_name: XSS_NAME, uri: 'sip:+15550109999@carrier.test' },
    started_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    answered_at: null,
    ended_at: null,
    muted: false,
    on_hold_by_remote: false,
    end_reason: null,
    quality: null,
  };
  bridge.status.calls = [call];
  bridge.seq = 4;
  bridge.send(JSON.stringify({ event: 'incoming', seq: 4, call }));
  const ringing = await waitState(page.mainFrame(), 'ringing', 'fake-c1', 10_000).catch(() => null);
  const remote = await page.locator('[data-field="remote"]').first().innerText();
  const injectedImages = await page.evaluate(
    () => document.querySelectorAll('img[onerror], img[src="x"]').length,
  );
  const xssRan = await page.evaluate(() => window.__xss === 1);
  await shot(page, shots, 'bad-input');
  if (ringing) {
    await click(page.mainFrame(), 'answer');
    await until('the answer command', 10_000, () =>
      bridge.commands.some((c) => c.endsWith('/answer')),
    );
  }
  test.result('bad_input', {
    registration: afterBad,
    typed,
    state: (await rootState(page.mainFrame())).state,
    remote,
    injectedImages,
    xssRan,
    commands: bridge.commands,
    pageErrors,
  });
  await page.close();
  await bridge.close();
}

async function blocked() {
  // The page hosted elsewhere (as on Salesforce), its bridge on another loopback port that
  // refuses every connection: what a Local Network Access block looks like to the page.
  const host = await fakeBridge({ web, mode: 'blocked', base: '/adapter/' });
  const closed = await closedPort();
  page = await context.newPage();
  await page.setViewportSize(UTILITY_BAR);
  watch(page, 'page');
  const bridge = `http://127.0.0.1:${closed}`;
  await page.goto(`${host.origin}/adapter/?bridge=${encodeURIComponent(bridge)}`);
  const banner = page.locator('[data-banner="lna"]').first();
  const visible = await until('the Local Network Access banner', 20_000, () => banner.isVisible())
    .then(() => true)
    .catch(() => false);
  const text = visible ? await banner.innerText() : '';
  await shot(page, shots, 'blocked-lna');
  test.result('blocked', { visible, text });
  await page.close();
  await host.close();
}

/** A loopback port nobody listens on (bound, then released). */
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

try {
  for (const [name, run] of [
    ['bad_input', badInput],
    ['blocked', blocked],
  ]) {
    scenario = name;
    log(`--- ${name}`);
    await run();
  }
  await close();
  process.exit(0);
} catch (e) {
  log(`${scenario} failed:`, e.stack || e);
  try {
    if (page) {
      await shot(page, shots, `failure-${scenario}`);
      log('page HTML:\n', await page.content());
    }
  } catch (e2) {
    log('could not collect the failure details:', e2);
  }
  test.result('failed', { failedScenario: scenario, error: String(e.stack || e) });
  await close();
  process.exit(1);
}
