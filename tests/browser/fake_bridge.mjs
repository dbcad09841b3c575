// A stand-in for the agent's bridge, for page tests the real agent cannot stage: it serves
// the page's files (bridge/web/) at /softphone/ like the agent (or at another `base`, as a
// page hosted elsewhere), and then either
//   mode "scripted": answers /api/v1/status, records commands, and hands the test the
//                    event WebSocket to send anything at all (unknown events, broken JSON);
//   mode "blocked":  resets every /api/ connection, as a browser blocking loopback access
//                    (Local Network Access) or a dead agent looks to the page.
// Node built-ins only; the WebSocket server side (RFC 6455) is the few lines it needs.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export const REGISTERED = {
  state: 'registered',
  aor: 'sip:1001@pbx.test',
  server: 'pbx.test:5060',
  transport: 'udp',
  expires: 600,
};

/** Starts a fake bridge on 127.0.0.1 (a free port); resolves when it listens. */
export async function fakeBridge({ web, mode, base = '/softphone/' }) {
  const sockets = new Set();
  const commands = [];
  const status = { version: '0.0.0-fake', registration: REGISTERED, calls: [] };
  // What a (re)connecting page gets: the status as of the last event sent.
  const fake = { seq: 1 };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname.startsWith('/api/')) {
      if (mode === 'blocked') return req.socket.destroy();
      if (req.method === 'GET' && url.pathname === '/api/v1/status') {
        return reply(res, 200, status);
      }
      if (req.method === 'POST') {
        commands.push(url.pathname);
        req.resume();
        if (url.pathname === '/api/v1/calls') return reply(res, 201, { id: 'fake-dialled' });
        return reply(res, 200, { ok: true });
      }
      return reply(res, 404, { error: { code: 'not_found', message: url.pathname } });
    }
    if (!url.pathname.startsWith(base)) return reply(res, 404, { error: { code: 'not_found' } });
    let file = url.pathname.slice(base.length);
    file = path.join(web, file || 'index.html');
    if (!file.startsWith(web) || !fs.existsSync(file)) {
      return reply(res, 404, { error: { code: 'not_found' } });
    }
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
      'Cache-Control': 'no-store',
    });
    res.end(fs.readFileSync(file));
  });
  server.on('upgrade', (req, socket) => {
    if (mode === 'blocked' || !req.url.startsWith('/api/v1/events')) return socket.destroy();
    const accept = crypto
      .createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => sockets.delete(socket));
    socket.on('data', () => {}); // the page sends nothing we need (pongs, close)
    sendText(socket, JSON.stringify({ event: 'snapshot', seq: fake.seq, instance: 'fake', status }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(fake, {
    origin: `http://127.0.0.1:${server.address().port}`,
    commands,
    status,
    /** Sends one text frame (anything: it need not be JSON) to every open socket. */
    send(text) {
      for (const s of sockets) sendText(s, text);
      return sockets.size;
    },
    connections: () => sockets.size,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(resolve);
        // The browser keeps idle HTTP connections open: close() alone would wait for them.
        server.closeAllConnections();
      }),
  });
}

function reply(res, code, body) {
  res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** One unmasked, final text frame (server to client). */
function sendText(socket, text) {
  const payload = Buffer.from(text, 'utf8');
  let head;
  if (payload.length < 126) {
    head = Buffer.from([0x81, payload.length]);
  } else if (payload.length < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x81;
    head[1] = 126;
    head.writeUInt16BE(payload.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x81;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  socket.write(Buffer.concat([head, payload]));
}
