// The stand-in console's server, as the softphone page reaches it: Open CTI calls recorded through
// POST /__test/record, and the test hooks. Run: `node --test tests/browser/console/` (from
// tests/stand_in_console.rs in `cargo test`). Node.js built-ins only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createServer } from './server.mjs';

const SERVER = fileURLToPath(new URL('./server.mjs', import.meta.url));
const ADA = '003000000000001AAA';
const ACME = '001000000000001AAA';

// A console on a free port of 127.0.0.1; `stop` closes it.
async function startConsole(opts = {}) {
  const { server } = createServer({ adapterUrl: 'http://127.0.0.1:18088/softphone/', bridgePort: null, ...opts });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${server.address().port}`;
  const post = async (path, body) => {
    const r = await fetch(base + path, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
    assert.equal(r.status, 200, `${path}: ${r.status}`);
    return r.json();
  };
  return {
    // One Open CTI call as the console page forwards it; answers {success, returnValue, errors}.
    call: async (methodName, args) => (await post('/__test/record', { methodName, args, at: 1000, context: {} })).response,
    state: async () => (await fetch(`${base}/__test/state`)).json(),
    post,
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

// What the page sends: the fields it would give saveLog, as the contract's query string.
const upsert = (callId, fields) => ({
  apexClass: 'SoftphoneCallLog',
  methodName: 'upsertTask',
  methodParams: `callObject=${encodeURIComponent(callId)}&fields=${encodeURIComponent(JSON.stringify(fields))}`,
});

const ended = (callId) => ({
  Subject: 'Inbound call +1 555-010-2000 & co',
  Status: 'Completed',
  Type: 'Call',
  CallType: 'Inbound',
  CallDurationInSeconds: 42,
  CallDisposition: 'Answered',
  CallObject: callId,
  Description: 'Talked 42 s; 50% of it on hold = fine',
  WhoId: ADA,
});

test('with --apex-upsert the settings name the class and one call upserts one Task', async (t) => {
  const c = await startConsole({ apexUpsert: true });
  t.after(c.stop);
  const settings = await c.call('getCallCenterSettings', {});
  assert.equal(settings.success, true);
  assert.equal(settings.returnValue['/softphoneLogging/apexUpsertClass'], 'SoftphoneCallLog');

  const first = await c.call('runApex', upsert('7-3', ended('7-3')));
  assert.deepEqual(first, { success: true, returnValue: { runApex: '00T000000000001AAA' }, errors: null });
  // A retry after the answer was lost, then the after-call work: the same Task both times.
  const retry = await c.call('runApex', upsert('7-3', ended('7-3')));
  assert.equal(retry.returnValue.runApex, '00T000000000001AAA');
  const wrapUp = await c.call('runApex', upsert('7-3', { CallDisposition: 'Sale', Description: 'Ordered 3' }));
  assert.equal(wrapUp.returnValue.runApex, '00T000000000001AAA');
  // Another call: another Task, numbered like saveLog's.
  const other = await c.call('runApex', upsert('7-4', { ...ended('7-4'), WhoId: undefined, WhatId: ACME }));
  assert.equal(other.returnValue.runApex, '00T000000000002AAA');

  const s = await c.state();
  assert.equal(s.tasks.length, 2);
  const [task] = s.tasks;
  assert.equal(task.Id, '00T000000000001AAA');
  assert.equal(task.CallObject, '7-3');
  assert.equal(task.Subject, 'Inbound call +1 555-010-2000 & co');
  assert.equal(task.Description, 'Ordered 3');
  assert.equal(task.CallDisposition, 'Sale');
  assert.equal(task.CallDurationInSeconds, 42);
  assert.equal(task.WhoId, ADA);
  assert.equal(task.createdAt, 1000);
  assert.equal(task.updatedAt, 1000);
  assert.equal(s.tasks[1].WhatId, ACME);
  assert.deepEqual(
    s.calls.map((x) => x.methodName),
    ['getCallCenterSettings', 'runApex', 'runApex', 'runApex', 'runApex'],
  );
  assert.equal(s.calls[1].args.methodParams, upsert('7-3', ended('7-3')).methodParams);
});

test('a Task saved by saveLog is found and updated by the upsert', async (t) => {
  const c = await startConsole({ apexUpsert: true });
  t.after(c.stop);
  const saved = await c.call('saveLog', { value: { entityApiName: 'Task', ...ended('9-1') } });
  assert.equal(saved.returnValue.recordId, '00T000000000001AAA');
  const up = await c.call('runApex', upsert('9-1', { CallDisposition: 'Callback' }));
  assert.equal(up.returnValue.runApex, '00T000000000001AAA');
  const s = await c.state();
  assert.equal(s.tasks.length, 1);
  assert.equal(s.tasks[0].CallDisposition, 'Callback');
});

test('the upsert checks fields as saveLog does and as the class does, saving nothing', async (t) => {
  const c = await startConsole({ apexUpsert: true });
  t.after(c.stop);
  const cases = [
    [{ ...ended('1'), WhoId: ACME }, 'FIELD_INTEGRITY_EXCEPTION'],
    [{ ...ended('1'), CallType: 'Sideways' }, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST'],
    [{ ...ended('1'), Subject: 'x'.repeat(256) }, 'STRING_TOO_LONG'],
    [{ ...ended('1'), CallDurationInSeconds: 'long' }, 'INVALID_TYPE_ON_FIELD_IN_RECORD'],
    // saveLog's own keys and Task fields the class does not accept.
    [{ ...ended('1'), entityApiName: 'Task' }, 'INVALID_FIELD'],
    [{ ...ended('1'), Id: '00T000000000001AAA' }, 'INVALID_FIELD'],
    [{ ...ended('1'), Priority: 'High' }, 'INVALID_FIELD'],
  ];
  for (const [fields, code] of cases) {
    const r = await c.call('runApex', upsert('1', fields));
    assert.equal(r.success, false, JSON.stringify(fields).slice(0, 80));
    assert.equal(r.errors[0].code, code, JSON.stringify(r.errors));
  }
  const tooLongCall = await c.call('runApex', upsert('c'.repeat(256), { Subject: 'x' }));
  assert.equal(tooLongCall.errors[0].code, 'STRING_TOO_LONG');
  for (const methodParams of [
    `fields=${encodeURIComponent('{}')}`,
    `callObject=&fields=${encodeURIComponent('{}')}`,
    'callObject=1&fields=%7Bnot%20json',
    `callObject=1&fields=${encodeURIComponent('[1]')}`,
    'callObject=1',
  ]) {
    const r = await c.call('runApex', { apexClass: 'SoftphoneCallLog', methodName: 'upsertTask', methodParams });
    assert.equal(r.success, false, methodParams);
    assert.equal(r.errors[0].code, 'SERVER_ERROR', methodParams);
  }
  const wrongMethod = await c.call('runApex', { ...upsert('1', ended('1')), methodName: 'insertTask' });
  assert.equal(wrongMethod.errors[0].code, 'SERVER_ERROR');
  const otherClass = await c.call('runApex', { ...upsert('1', ended('1')), apexClass: 'AccountRetrieval' });
  assert.match(otherClass.errors[0].description, /Could not load Apex class: AccountRetrieval/);
  assert.deepEqual((await c.state()).tasks, []);
});

test('fail-next-savelog fails the next upsert or saveLog, once', async (t) => {
  const c = await startConsole({ apexUpsert: true });
  t.after(c.stop);
  await c.post('/__test/fail-next-savelog');
  const failed = await c.call('runApex', upsert('5', ended('5')));
  assert.equal(failed.success, false);
  assert.equal(failed.errors[0].code, 'FIELD_INTEGRITY_EXCEPTION');
  assert.deepEqual((await c.state()).tasks, []);
  // Used up: the retry saves.
  assert.equal((await c.call('runApex', upsert('5', ended('5')))).returnValue.runApex, '00T000000000001AAA');
  // Either path consumes it.
  await c.post('/__test/fail-next-savelog');
  const log = await c.call('saveLog', { value: { entityApiName: 'Task', ...ended('6') } });
  assert.equal(log.errors[0].code, 'FIELD_INTEGRITY_EXCEPTION');
  assert.equal((await c.call('runApex', upsert('6', ended('6')))).success, true);
  assert.equal((await c.state()).tasks.length, 2);
});

test('reset keeps the Apex class and forgets the Tasks', async (t) => {
  const c = await startConsole({ apexUpsert: true });
  t.after(c.stop);
  await c.call('runApex', upsert('8', ended('8')));
  await c.post('/__test/reset');
  assert.deepEqual((await c.state()).tasks, []);
  assert.equal((await c.call('runApex', upsert('8', ended('8')))).returnValue.runApex, '00T000000000001AAA');
});

test('without --apex-upsert there is no class and the setting is empty', async (t) => {
  const c = await startConsole();
  t.after(c.stop);
  const settings = await c.call('getCallCenterSettings', {});
  assert.equal(settings.returnValue['/softphoneLogging/apexUpsertClass'], '');
  const r = await c.call('runApex', upsert('1', ended('1')));
  assert.equal(r.success, false);
  assert.equal(r.errors[0].code, 'SERVER_ERROR');
  assert.match(r.errors[0].description, /Could not load Apex class: SoftphoneCallLog/);
  assert.deepEqual((await c.state()).tasks, []);
});

test('server.mjs takes --apex-upsert from the command line', async (t) => {
  const child = spawn(process.execPath, [SERVER, '--port', '0', '--apex-upsert', '--adapter-url', 'http://127.0.0.1:18088/softphone/'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill());
  let out = '';
  child.stdout.setEncoding('utf8');
  const url = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^console listening on (http:\/\/localhost:\d+\/)\n/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`server.mjs exited (${code}) before listening: ${out}`)));
  });
  const base = url.replace('localhost', '127.0.0.1');
  const config = await (await fetch(`${base}__console/config`)).json();
  assert.equal(config.apexUpsert, true);
  const r = await fetch(`${base}__test/record`, {
    method: 'POST',
    body: JSON.stringify({ methodName: 'runApex', args: upsert('2', ended('2')), at: 1, context: {} }),
  });
  assert.equal((await r.json()).response.returnValue.runApex, '00T000000000001AAA');
});
