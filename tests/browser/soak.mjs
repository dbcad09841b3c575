// The call-records soak (tests/browser_tabs.rs, `soak_...`, ignored by default): one console
// tab with the softphone page stays connected while the test runs N calls through SIPp and the
// auto-answering agent; the script then waits until the console holds a Task for each.
//
//   node tests/browser/soak.mjs --console URL --adapter URL --calls N

import { Test, args, consoleState, launch, log, softphoneFrame, sleep, until, watch } from './lib.mjs';

const opts = args();
const test = new Test();
const calls = Number(opts.calls || 200);
const { context, close } = await launch();
try {
  const page = await context.newPage();
  const errors = watch(page, 'soak');
  await page.goto(opts.console);
  const frame = await softphoneFrame(page, opts.adapter);
  await until('the page to be ready', 30_000, async () => {
    const reg = await frame.locator('[data-field="registration"]').first().innerText();
    const cti = await frame.locator('[data-field="cti-status"]').first().innerText();
    return /\bRegistered\b/.test(reg) && /Connected to Salesforce/.test(cti);
  });
  await test.need('soak', {}, 900_000);
  const started = Date.now();
  await until(`${calls} Tasks`, Math.max(120_000, calls * 600), async () => (await consoleState(opts.console)).tasks.length >= calls, 500);
  const allSavedMs = Date.now() - started;
  await sleep(2000);
  const s = await consoleState(opts.console);
  const objects = new Set(s.tasks.map((t) => t.CallObject));
  test.result('soak', { tasks: s.tasks.length, distinct: objects.size, allSavedMs, pageErrors: errors });
} catch (e) {
  log('failed:', e.stack || e);
  test.result('failed', { error: String(e.stack || e) });
} finally {
  await close();
  process.exit(0);
}
