// Test helpers (node builtins only): start surreal-dev as a child process on a
// free port and talk HTTP to it.

import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SERVER = path.resolve(here, '..', 'server.mjs');

export const ROOT = { user: 'root', pass: 'root-pw' };

// Starts `node server.mjs start -b 127.0.0.1:0 ...`; resolves once the
// "surreal-dev listening on HOST:PORT (...)" line has been printed.
export function startServer({ args = [], user = ROOT.user, pass = ROOT.pass, storage = 'memory', env = {}, cwd, bind = '127.0.0.1:0' } = {}) {
  const argv = [SERVER, 'start', '--log', 'warn'];
  if (bind !== null) argv.push('--bind', bind);
  if (user !== null) argv.push('--user', user, '--pass', pass);
  argv.push(...args);
  if (storage !== null) argv.push(storage);
  const child = spawn(process.execPath, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`server did not start:\n${stderr}`)); }, 30000);
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = /surreal-dev listening on 127\.0\.0\.1:(\d+) \((.*)\)/.exec(stderr);
      if (m && !child.port) {
        clearTimeout(timer);
        child.port = Number(m[1]);
        resolve({
          child,
          port: child.port,
          label: m[2],
          base: `http://127.0.0.1:${child.port}`,
          stderr: () => stderr,
          exited,
          async stop(signal = 'SIGTERM') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
    child.stdout.on('data', () => {});
    exited.then(({ code }) => { clearTimeout(timer); if (!child.port) reject(new Error(`server exited (${code}):\n${stderr}`)); });
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

// request(srv, 'POST', '/sql', { headers, body, query }) -> { status, headers, body (string), raw (Buffer) }
export function request(srv, method, pathname, { headers = {}, body, query } = {}) {
  let p = pathname;
  if (query) p += '?' + new URLSearchParams(query).toString();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, method, path: p, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, raw, body: raw.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body); else req.end();
  });
}

export function basic(user, pass) {
  return 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
}

export const rootAuth = () => ({ authorization: basic(ROOT.user, ROOT.pass) });

// POST /sql, JSON, returns { status, headers, body, json }
export async function sql(srv, text, { headers = {}, query, ns = 'test', db = 'test', accept = 'application/json' } = {}) {
  const h = { ...headers };
  if (accept !== null) h.accept = accept;
  if (ns !== null) h['surreal-ns'] = ns;
  if (db !== null) h['surreal-db'] = db;
  const r = await request(srv, 'POST', '/sql', { headers: h, body: text, query });
  let json;
  try { json = JSON.parse(r.body); } catch { json = undefined; }
  return { ...r, json };
}

// Runs statements as root and fails if any statement failed.
export async function rootSql(srv, text, opts = {}) {
  const r = await sql(srv, text, { ...opts, headers: { ...rootAuth(), ...(opts.headers ?? {}) } });
  if (r.status !== 200 || !Array.isArray(r.json)) throw new Error(`root query failed: ${r.status} ${r.body}`);
  const bad = r.json.filter((e) => e.status !== 'OK');
  if (bad.length) throw new Error(`root query had errors: ${JSON.stringify(bad)}`);
  return r.json;
}

export const TIME_RE = /^(\d+(\.\d+)?(ns|µs|ms|s|m|h|d|w|y))+$/;

// The verified schema pattern (shared/reference/surrealdb-3-schema-verified.surql),
// reduced to what the access tests need.
export const SERVICE_SCHEMA = `
DEFINE TABLE OVERWRITE service_account SCHEMAFULL PERMISSIONS NONE;
DEFINE FIELD OVERWRITE name   ON service_account TYPE string ASSERT $value IN ["chat", "cart", "product", "session", "recommend"];
DEFINE FIELD OVERWRITE secret ON service_account TYPE string;
DEFINE INDEX OVERWRITE service_account_name ON service_account FIELDS name UNIQUE;
DEFINE ACCESS IF NOT EXISTS service ON DATABASE TYPE RECORD
    SIGNIN (SELECT * FROM service_account WHERE name = $user AND crypto::argon2::compare(secret, $pass))
    DURATION FOR TOKEN 1h, FOR SESSION 24h;
DEFINE ACCESS IF NOT EXISTS service_key ON DATABASE TYPE BEARER FOR RECORD
    DURATION FOR GRANT 365d, FOR TOKEN 1h, FOR SESSION 24h;
DEFINE TABLE OVERWRITE product SCHEMAFULL
    PERMISSIONS
        FOR select FULL
        FOR create, update, delete WHERE $auth = service_account:product
            OR { THROW 'permission denied: ' + <string> $auth + ' may not write table product' };
DEFINE FIELD OVERWRITE name  ON product TYPE string;
DEFINE FIELD OVERWRITE price ON product TYPE float ASSERT $value >= 0;
DEFINE TABLE OVERWRITE cart SCHEMAFULL
    PERMISSIONS
        FOR select FULL
        FOR create, update, delete WHERE $auth = service_account:cart
            OR { THROW 'permission denied: ' + <string> $auth + ' may not write table cart' };
DEFINE FIELD OVERWRITE quantity ON cart TYPE int DEFAULT 1 ASSERT $value > 0;
UPSERT service_account:cart SET name = 'cart', secret = crypto::argon2::generate('cart-secret');
UPSERT service_account:product SET name = 'product', secret = crypto::argon2::generate('product-secret');
UPSERT product:tee_blue SET name = 'Blue Tee', price = 19.5;
`;

export async function signinToken(srv, user, pass, { ns = 'production', db = 'chatbot' } = {}) {
  const r = await request(srv, 'POST', '/signin', {
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify({ ns, db, ac: 'service', user, pass }),
  });
  if (r.status !== 200) throw new Error(`signin failed: ${r.status} ${r.body}`);
  return JSON.parse(r.body).token;
}
