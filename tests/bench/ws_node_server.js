'use strict';
// The peer of dmanalyticsd's WebSocket fan-out in tests/bench/ws.sh: a Node
// `ws` broadcast server speaking the same protocol (DESIGN 9) on the same
// path. A client sends {"type":"subscribe","dashboard":NAME} and gets a
// snapshot at once; every POST /trigger?dashboard=NAME (body ignored)
// publishes an update of that dashboard to all its subscribers. Each message
// is {"type","dashboard","seq","ts","data"} padded to --payload-bytes with
// `ts` the send instant in microseconds since the epoch. As a Node server
// written for speed would: the message is serialised once into a Buffer and
// that Buffer is sent to every subscriber (no per-client encoding), no
// compression.
//
//   node ws_node_server.js --port PORT --payload-bytes N
// Prints "listening on 127.0.0.1:PORT" when ready. Needs `ws` on NODE_PATH.

const http = require('http');
const { performance } = require('perf_hooks');
const { WebSocketServer, WebSocket } = require('ws');

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at > 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}
const port = Number(option('--port', '0'));
const payloadBytes = Number(option('--payload-bytes', '2048'));
const path = option('--path', '/ws/dashboard');

const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const subscribers = new Map(); // dashboard -> Set of sockets
const seqs = new Map(); // dashboard -> latest seq

function message(type, dashboard, seq) {
  const head = JSON.stringify({ type, dashboard, seq, ts: nowUs() }).slice(0, -1) + ',"data":{"pad":"';
  const tail = '"}}';
  return head + 'x'.repeat(Math.max(0, payloadBytes - head.length - tail.length)) + tail;
}

function publish(dashboard) {
  const seq = (seqs.get(dashboard) || 0) + 1;
  seqs.set(dashboard, seq);
  const set = subscribers.get(dashboard);
  if (!set || set.size === 0) return 0;
  const buffer = Buffer.from(message('update', dashboard, seq));
  let sent = 0;
  for (const ws of set) {
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(buffer, { binary: false });
      ++sent;
    }
  }
  return sent;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  req.resume();
  req.on('end', () => {
    if (req.method === 'POST' && url.pathname === '/trigger') {
      const sent = publish(url.searchParams.get('dashboard') || 'system_performance');
      const body = JSON.stringify({ sent });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    } else if (url.pathname === '/healthz') {
      res.writeHead(200, { 'Content-Length': 0 });
      res.end();
    } else {
      res.writeHead(404, { 'Content-Length': 0 });
      res.end();
    }
  });
});
server.keepAliveTimeout = 0;
server.maxConnections = 100000;

const wss = new WebSocketServer({ server, path, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  const mine = new Set();
  ws.on('message', (data) => {
    let m;
    try {
      m = JSON.parse(data);
    } catch (e) {
      ws.send(JSON.stringify({ type: 'error', code: 'invalid_request', message: 'not JSON' }));
      return;
    }
    const dashboard = typeof m.dashboard === 'string' ? m.dashboard : '';
    if (m.type === 'subscribe' && dashboard) {
      if (!subscribers.has(dashboard)) subscribers.set(dashboard, new Set());
      subscribers.get(dashboard).add(ws);
      mine.add(dashboard);
      ws.send(message('snapshot', dashboard, seqs.get(dashboard) || 0));
    } else if (m.type === 'unsubscribe' && dashboard) {
      const set = subscribers.get(dashboard);
      if (set) set.delete(ws);
      mine.delete(dashboard);
    } else {
      ws.send(JSON.stringify({ type: 'error', code: 'invalid_request', message: 'expected subscribe or unsubscribe' }));
    }
  });
  ws.on('close', () => {
    for (const d of mine) subscribers.get(d).delete(ws);
  });
  ws.on('error', () => {});
});

server.listen(port, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
