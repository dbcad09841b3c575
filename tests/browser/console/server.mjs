#!/usr/bin/env node
// A stand-in Salesforce Lightning console for demos and browser tests (development only).
//
//   node tests/browser/console/server.mjs --port P --adapter-url URL [--bridge-port N] [--apex-upsert]
//
// Listens on 127.0.0.1 only and prints one line: `console listening on http://localhost:<port>/`
// (the console's origin is http://localhost:<port>, never the agent's http://127.0.0.1:<port>).
// Node.js built-ins only. See README.md beside this file for the pages and test hooks.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Org } from './org.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAX_BODY = 1 << 20;

function usage(message) {
  if (message) console.error(`console: ${message}`);
  console.error('usage: node server.mjs --port P --adapter-url URL [--bridge-port N] [--apex-upsert]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 0, adapterUrl: null, bridgePort: null, apexUpsert: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--help' || flag === '-h') usage();
    // The org has the SoftphoneCallLog Apex class and the Call Center names it (server-wide).
    if (flag === '--apex-upsert') {
      opts.apexUpsert = true;
      continue;
    }
    if (value === undefined) usage(`${flag} needs a value`);
    i++;
    if (flag === '--port') opts.port = port(flag, value, true);
    else if (flag === '--bridge-port') opts.bridgePort = port(flag, value, false);
    else if (flag === '--adapter-url') opts.adapterUrl = httpUrl(flag, value);
    else usage(`unknown flag ${flag}`);
  }
  if (!opts.adapterUrl) usage('--adapter-url is required');
  return opts;
}

function port(flag, value, zeroOk) {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535 || (!zeroOk && n === 0)) usage(`${flag}: not a port: ${value}`);
  return n;
}

function httpUrl(flag, value) {
  let u;
  try {
    u = new URL(value);
  } catch {
    usage(`${flag}: not a URL: ${value}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') usage(`${flag}: must be http(s): ${value}`);
  return u.href;
}

const STATIC = {
  '/': ['console.html', 'text/html; charset=utf-8'],
  '/console.js': ['console.js', 'text/javascript; charset=utf-8'],
  '/console.css': ['console.css', 'text/css; charset=utf-8'],
  '/support/api/66.0/lightning/opencti_min.js': ['opencti_min.js', 'text/javascript; charset=utf-8'],
};

function send(res, status, type, body, extra = {}) {
  res.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...extra,
  });
  res.end(body);
}

const json = (res, status, value) => send(res, status, 'application/json', JSON.stringify(value));

function readJson(req) {
  return new Promise((resolve) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (chunks.length === 0) return resolve(null);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve(undefined);
      }
    });
    req.on('error', () => resolve(undefined));
  });
}

// The console page may frame any http(s) adapter (`?adapter=` overrides --adapter-url).
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  'frame-src http: https:',
  "frame-ancestors 'none'",
].join('; ');

export function createServer(opts) {
  const org = new Org({ adapterUrl: opts.adapterUrl, bridgePort: opts.bridgePort, apexUpsert: opts.apexUpsert });
  const server = http.createServer(async (req, res) => {
    let url;
    try {
      url = new URL(req.url, 'http://localhost');
    } catch {
      return json(res, 400, { error: 'bad request target' });
    }
    const route = `${req.method} ${url.pathname}`;
    try {
      if ((req.method === 'GET' || req.method === 'HEAD') && Object.hasOwn(STATIC, url.pathname)) {
        const [file, type] = STATIC[url.pathname];
        const body = fs.readFileSync(path.join(HERE, file));
        const extra = url.pathname === '/' ? { 'Content-Security-Policy': CSP } : {};
        return send(res, 200, type, body, extra);
      }
      switch (route) {
        case 'GET /__console/config':
          return json(res, 200, {
            adapterUrl: opts.adapterUrl,
            bridgePort: opts.bridgePort,
            apexUpsert: Boolean(opts.apexUpsert),
          });
        case 'GET /__test/state':
          return json(res, 200, org.state);
        case 'POST /__test/fail-next-savelog':
          org.failNextSaveLog = true;
          return json(res, 200, { ok: true });
        case 'POST /__test/reset':
          org.reset();
          return json(res, 200, { ok: true });
        case 'POST /__test/record': {
          // One Open CTI method call the console page received from the softphone.
          const body = await readJson(req);
          if (!body || typeof body !== 'object' || typeof body.methodName !== 'string') {
            return json(res, 400, { error: 'expected {methodName, args, at, context}' });
          }
          const context = body.context && typeof body.context === 'object' ? body.context : {};
          const response = org.call(body.methodName, body.args, body.at, context);
          return json(res, 200, { response, state: org.state });
        }
        case 'POST /__test/ui': {
          const body = await readJson(req);
          if (!org.ui(body)) return json(res, 400, { error: 'unknown console action' });
          return json(res, 200, { state: org.state });
        }
      }
      if (url.pathname === '/favicon.ico') return send(res, 204, 'text/plain', '');
      return json(res, 404, { error: `not found: ${url.pathname}` });
    } catch (e) {
      // A bug here must not take the console down in the middle of a test run.
      console.error(`console: ${route}: ${e.stack || e}`);
      if (!res.headersSent) json(res, 500, { error: String(e.message || e) });
    }
  });
  return { server, org };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const opts = parseArgs(process.argv.slice(2));
  const { server } = createServer(opts);
  server.on('error', (e) => {
    console.error(`console: cannot listen on 127.0.0.1:${opts.port}: ${e.message}`);
    process.exit(1);
  });
  server.listen(opts.port, '127.0.0.1', () => {
    process.stdout.write(`console listening on http://localhost:${server.address().port}/\n`);
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
}
