// Round-trip benchmark for surreal-dev (node builtins only; loopback only).
//   node tools/surreal-dev/bench.mjs [--seq 1000] [--conc 32] [--total 5000]
// Starts its own server on a free port, then measures trivial POST /sql requests
// over keep-alive connections: sequential latency and concurrent throughput,
// for a record user (Bearer JWT, the modules' path), root (Basic) and anonymous.

import http from 'node:http';
import { startServer, rootSql, SERVICE_SCHEMA, signinToken, rootAuth } from './test/helpers.mjs';
import { Engine, newSessionId } from './lib/engine.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SEQ = arg('seq', 1000);
const CONC = arg('conc', 32);
const TOTAL = arg('total', 5000);

const srv = await startServer();
await rootSql(srv, SERVICE_SCHEMA, { ns: 'production', db: 'chatbot' });
const token = await signinToken(srv, 'cart', 'cart-secret');

function post(agent, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, method: 'POST', path: '/sql?v=1', agent, headers }, (res) => {
      let n = 0;
      res.on('data', (c) => { n += c.length; });
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const pct = (a, p) => a[Math.min(a.length - 1, Math.floor(a.length * p))];

async function run(label, headers, body, print = true) {
  const h = { accept: 'application/json', 'surreal-ns': 'production', 'surreal-db': 'chatbot', ...headers };
  const agent1 = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 50; i++) await post(agent1, h, body); // warm-up
  const lat = [];
  for (let i = 0; i < SEQ; i++) {
    const t = process.hrtime.bigint();
    await post(agent1, h, body);
    lat.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
  lat.sort((a, b) => a - b);
  const agentN = new http.Agent({ keepAlive: true, maxSockets: CONC });
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (next++ < TOTAL) await post(agentN, h, body);
  }));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  agent1.destroy();
  agentN.destroy();
  if (print) console.log(`${label.padEnd(34)} sequential x${SEQ}: median ${(pct(lat, 0.5) / 1000).toFixed(3)} ms, p90 ${(pct(lat, 0.9) / 1000).toFixed(3)} ms, p99 ${(pct(lat, 0.99) / 1000).toFixed(3)} ms | ${CONC} concurrent x${TOTAL}: ${(TOTAL / secs).toFixed(0)} req/s`);
}

try {
  await run('warm-up', { authorization: `Bearer ${token}` }, 'RETURN 1', false); // JIT warm-up
  await run('RETURN 1, Bearer (record user)', { authorization: `Bearer ${token}` }, 'RETURN 1');
  await run('RETURN 1, Basic root', rootAuth(), 'RETURN 1');
  await run('RETURN 1, anonymous', {}, 'RETURN 1');
  await run('SELECT by id, Bearer (record user)', { authorization: `Bearer ${token}` }, 'SELECT * FROM product:tee_blue');
} finally {
  await srv.stop();
}

// Baseline without HTTP: the same query straight into the engine (in this process).
{
  const engine = await Engine.open('mem://', {});
  await engine.internalQuery(SERVICE_SCHEMA, undefined, 'production', 'chatbot');
  const tok = await engine.signin({ ns: 'production', db: 'chatbot', ac: 'service', user: 'cart', pass: 'cart-secret' });
  const sessions = [];
  for (let i = 0; i < CONC; i++) {
    const sid = newSessionId();
    await engine.attach(sid);
    await engine.call('authenticate', [tok], sid);
    sessions.push(sid);
  }
  for (let i = 0; i < 500; i++) await engine.call('query', ['RETURN 1', { v: '1' }], sessions[0]);
  const lat = [];
  for (let i = 0; i < SEQ; i++) {
    const t = process.hrtime.bigint();
    await engine.call('query', ['RETURN 1', { v: '1' }], sessions[0]);
    lat.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
  lat.sort((a, b) => a - b);
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(sessions.map(async (sid) => {
    while (next++ < TOTAL) await engine.call('query', ['RETURN 1', { v: '1' }], sid);
  }));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${'engine only (no HTTP), record user'.padEnd(34)} sequential x${SEQ}: median ${(pct(lat, 0.5) / 1000).toFixed(3)} ms, p90 ${(pct(lat, 0.9) / 1000).toFixed(3)} ms, p99 ${(pct(lat, 0.99) / 1000).toFixed(3)} ms | ${CONC} concurrent x${TOTAL}: ${(TOTAL / secs).toFixed(0)} req/s`);
  await engine.close();
}
process.exit(0);
