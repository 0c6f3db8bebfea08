// The subset of SurrealDB 3.0.2's HTTP API (surrealdb/server/src/ntw/*) that the
// Cartbot nginx modules use, answered by the embedded engine.
//
// Layer order of the real server (outermost first): request id set/propagate,
// compression, ..., authentication, `server` header, `surreal-version` header, CORS,
// router. So a failed authentication is a bare 401 (no server/CORS headers), and
// everything else gets all of them.

import { randomUUID } from 'node:crypto';
import zlib from 'node:zlib';
import { AuthError, RpcError, RAW } from './engine.mjs';
import { toJson } from './render.mjs';
import { encode as cborEncode } from './cbor.mjs';

const SQL_BODY_LIMIT = 1 << 20; // SURREAL_HTTP_MAX_SQL_BODY_SIZE
const SIGNIN_BODY_LIMIT = 1 << 10; // the signin router uses HTTP_MAX_SIGNUP_BODY_SIZE (1 KiB)
const APP_ENDPOINT = 'https://surrealdb.com/surrealist';

const CORS_ALLOW_METHODS = 'GET,PUT,POST,PATCH,DELETE,OPTIONS';
const CORS_ALLOW_HEADERS = 'accept,accept-encoding,authorization,content-type,origin,surreal-ns,surreal-db,surreal-id,surreal-auth-ns,surreal-auth-db';
const CORS_VARY = 'origin, access-control-request-method, access-control-request-headers';

const JSON_CT = 'application/json';
const TEXT_UTF8_CT = 'text/plain; charset=utf-8';

const ACCEPT = {
  '*/*': 'json',
  'application/json': 'json',
  'text/plain': 'text',
  'application/cbor': 'cbor',
  'application/octet-stream': 'octet',
  'application/vnd.surrealdb.flatbuffers': 'flatbuffers',
};

const ROUTES = {
  '/': { allow: 'GET,HEAD' },
  '/status': { allow: 'GET,HEAD' },
  '/health': { allow: 'GET,HEAD' },
  '/version': { allow: 'GET,HEAD' },
  '/sql': { allow: 'OPTIONS,GET,HEAD,POST' },
  '/signin': { allow: 'OPTIONS,POST' },
};

const ZSTD = typeof zlib.zstdCompressSync === 'function';

// Statements that can change system users or access methods (and so what a
// cached credential check would say). False positives only cost a cache flush.
const DEFINITIONS_RE = /\b(?:DEFINE|REMOVE|ALTER)\s+(?:USER|ACCESS|NAMESPACE|NS|DATABASE|DB)\b|\bACCESS\s+\S+\s+ON\b/i;

// ---------------------------------------------------------------------------
// error bodies (server/src/ntw/error.rs ErrorMessage; field order as serialised)

function errorBody(code, details, description, information) {
  const o = { code, details };
  if (description !== undefined) o.description = description;
  if (information !== undefined) o.information = information;
  return JSON.stringify(o);
}

const MSG = {
  invalidType: () => errorBody(415, 'Unsupported media type', 'The request needs to adhere to certain constraints. Refer to the documentation for supported content types.'),
  unauthorized: () => errorBody(401, 'Authentication failed', 'Your authentication details are invalid. Reauthenticate using valid authentication parameters.', 'There was a problem with authentication'),
  forbidden: (info) => errorBody(403, 'Forbidden', 'Not allowed to do this.', info),
  badRequest: (info) => errorBody(400, 'Request problems dectected', 'There is a problem with your request. Refer to the documentation for further information.', info),
  health: () => errorBody(500, 'Health check failed', 'The database health check for this instance failed. There was an issue with the underlying storage engine.', 'There was a problem connecting with the storage engine'),
};

// ResponseError::into_response for errors known only by their text
function classify(message) {
  const l = message.toLowerCase();
  if (l.includes('authentication') || l.includes('invalidauth')) return [401, MSG.unauthorized()];
  if (l.includes('notallowed') || l.includes('not allowed') || l.includes('forbidden') || l.includes('not enough permissions')) {
    return [403, MSG.forbidden(message)];
  }
  return [400, MSG.badRequest(message)];
}

// ---------------------------------------------------------------------------
// header helpers

// http::HeaderValue::to_str accepts visible ASCII, space and tab only
const VISIBLE = /^[\t\x20-\x7e]*$/;

function firstHeader(req, name) {
  const v = req.headersDistinct[name];
  return v === undefined ? undefined : v[0];
}

class HeaderError extends Error {}

function typedHeader(req, name) {
  const v = firstHeader(req, name);
  if (v === undefined) return undefined;
  if (!VISIBLE.test(v)) throw new HeaderError(`There was a problem parsing the header ${name}: invalid HTTP header (${name})`);
  return v;
}

const UUID_RE = /^(?:urn:uuid:)?(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}|[0-9a-f]{32})$/i;

function normaliseUuid(s) {
  const hex = s.replace(/^urn:uuid:/i, '').replace(/[{}-]/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// headers::Authorization<Basic|Bearer>
function parseAuthorization(value) {
  if (value === undefined) return null;
  const sp = value.indexOf(' ');
  if (sp <= 0) return null;
  const scheme = value.slice(0, sp).toLowerCase();
  if (scheme === 'basic' && sp === 5) {
    const rest = value.slice(6).replace(/^ +/, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(rest) || rest.length % 4 !== 0) return null;
    let decoded;
    try {
      decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(rest, 'base64'));
    } catch {
      return null;
    }
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    return { kind: 'basic', user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
  }
  if (scheme === 'bearer' && sp === 6) {
    if (!VISIBLE.test(value)) return null;
    return { kind: 'bearer', token: value.slice(7) };
  }
  return null;
}

function parseAccept(req) {
  const v = firstHeader(req, 'accept');
  if (v === undefined) return { kind: null };
  if (!VISIBLE.test(v)) return { invalid: true };
  const kind = ACCEPT[v.split(';')[0]];
  if (!kind) return { invalid: true };
  return { kind };
}

// tower-http compression: q-values, ties broken zstd > br > gzip > deflate
const ENC_RANK = { identity: 0, deflate: 1, gzip: 2, br: 3, zstd: 4 };

function chooseEncoding(req) {
  const values = req.headersDistinct['accept-encoding'];
  if (!values) return 'identity';
  let best = null;
  for (const hv of values) {
    for (const part of hv.split(',')) {
      const [rawName, rawQ] = part.split(';', 2);
      let name = rawName.trim().toLowerCase();
      if (name === 'x-gzip') name = 'gzip';
      if (!(name in ENC_RANK)) continue;
      if (name === 'zstd' && !ZSTD) continue;
      let q = 1000;
      if (rawQ !== undefined) {
        const m = /^[qQ]=(0(\.\d{0,3})?|1(\.0{0,3})?)$/.exec(rawQ.trim());
        if (!m) continue;
        q = Math.round(parseFloat(m[1]) * 1000);
      }
      if (q <= 0) continue;
      if (!best || q > best.q || (q === best.q && ENC_RANK[name] > ENC_RANK[best.name])) best = { name, q };
    }
  }
  return best ? best.name : 'identity';
}

function compress(name, body) {
  switch (name) {
    case 'gzip': return zlib.gzipSync(body);
    case 'deflate': return zlib.deflateSync(body);
    case 'br': return zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } });
    case 'zstd': return zlib.zstdCompressSync(body);
    default: return body;
  }
}

// ---------------------------------------------------------------------------

class BodyTooLarge extends Error {
  constructor(early) { super('length limit exceeded'); this.early = early; }
}

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const cl = req.headers['content-length'];
    if (cl !== undefined && /^\d+$/.test(cl) && Number(cl) > limit) {
      reject(new BodyTooLarge(true));
      return;
    }
    const chunks = [];
    let size = 0;
    let failed = false;
    req.on('data', (c) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(new BodyTooLarge(false));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => { if (!failed) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)); });
    req.on('error', (e) => { if (!failed) { failed = true; reject(e); } });
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(buf) {
  try {
    return utf8.decode(buf);
  } catch {
    return null;
  }
}

// axum Query<BTreeMap<String, String>> (form-urlencoded, '+' = space, last wins)
function queryVars(rawUrl) {
  const q = rawUrl.indexOf('?');
  const vars = {};
  if (q < 0) return vars;
  const params = new URLSearchParams(rawUrl.slice(q + 1));
  for (const [k, v] of params) vars[k] = v;
  return vars;
}

// ---------------------------------------------------------------------------

export function createHandler(engine, opts = {}) {
  const log = opts.log ?? (() => {});
  const identify = !opts.noIdentificationHeaders;
  const versionString = engine.versionString; // e.g. "surrealdb-3.0.2"
  const dash = versionString.indexOf('-');
  const versionHeader = dash > 0 ? `${versionString.slice(0, dash)}/${versionString.slice(dash + 1)}` : versionString;

  // ---- response writers ----

  function send(ctx, status, headers, body) {
    const { req, res } = ctx;
    const h = { ...headers };
    if (ctx.decorate) {
      // router-level responses: CORS, surreal-version and server headers
      h['access-control-allow-origin'] = '*';
      h.vary = CORS_VARY;
      if (identify) {
        h['surreal-version'] = versionHeader;
        h.server = 'SurrealDB';
      }
    }
    h['x-request-id'] = ctx.requestId;
    let payload = body ?? '';
    if (typeof payload === 'string') payload = Buffer.from(payload, 'utf8');
    // CompressionLayer::compress_when(SizeAbove(512).and(not grpc/images))
    const ct = String(h['content-type'] ?? '');
    if (payload.length >= 512 && !ct.startsWith('application/grpc') && !(ct.startsWith('image/') && !ct.startsWith('image/svg+xml'))) {
      h.vary = h.vary ? `${h.vary}, accept-encoding` : 'accept-encoding';
      const enc = chooseEncoding(req);
      if (enc !== 'identity') {
        payload = compress(enc, payload);
        h['content-encoding'] = enc;
      }
    }
    h['content-length'] = String(payload.length);
    res.writeHead(status, h);
    res.end(req.method === 'HEAD' ? undefined : payload);
    ctx.status = status;
  }

  const sendJson = (ctx, status, body) => send(ctx, status, { 'content-type': JSON_CT }, body);

  function sendAuthFailure(ctx, message) {
    // the authorization layer's own 401: plain body, no content-type, outside the
    // layers that add CORS / server headers
    ctx.decorate = false;
    send(ctx, 401, {}, message);
  }

  // ---- authentication (server/src/ntw/auth.rs check_auth) ----

  async function authenticate(ctx) {
    const { req } = ctx;
    const id = typedHeader(req, 'surreal-id');
    if (id !== undefined && !UUID_RE.test(id)) throw new AuthError('The request body contains invalid data');
    ctx.sessionId = id !== undefined ? normaliseUuid(id) : undefined;
    ctx.ns = typedHeader(req, 'surreal-ns');
    ctx.db = typedHeader(req, 'surreal-db');
    const authNs = typedHeader(req, 'surreal-auth-ns');
    const authDb = typedHeader(req, 'surreal-auth-db');
    const auth = parseAuthorization(firstHeader(req, 'authorization'));
    if (!auth) return null; // anonymous (also for unknown schemes, like the server)
    const sctx = { ns: ctx.ns, db: ctx.db, sessionId: ctx.sessionId };
    if (auth.kind === 'basic') return engine.acquireBasic(auth.user, auth.pass, authNs, authDb, sctx);
    return engine.acquireBearer(auth.token, sctx);
  }

  // ---- routes ----

  async function handleSql(ctx) {
    const { req } = ctx;
    let body;
    try {
      body = await readBody(req, SQL_BODY_LIMIT);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        if (e.early) return send(ctx, 413, { 'content-type': TEXT_UTF8_CT }, 'length limit exceeded');
        // extractor order: Accept, Query, then the body
        const acc = parseAccept(req);
        if (acc.invalid) return send(ctx, 400, { 'content-type': TEXT_UTF8_CT }, 'invalid HTTP header (accept)');
        return send(ctx, 413, { 'content-type': TEXT_UTF8_CT }, 'Failed to buffer the request body: length limit exceeded');
      }
      throw e;
    }
    const accept = parseAccept(req);
    if (accept.invalid) return send(ctx, 400, { 'content-type': TEXT_UTF8_CT }, 'invalid HTTP header (accept)');
    const vars = queryVars(req.url);
    const sql = decodeUtf8(body);
    if (sql === null) return sendJson(ctx, 400, MSG.badRequest('Non UTF-8 request body'));

    if (!ctx.lease) ctx.lease = await engine.acquireAnonymous({ ns: ctx.ns, db: ctx.db, sessionId: ctx.sessionId });
    let results;
    try {
      results = await engine.call('query', [sql, vars], ctx.lease.sid);
    } catch (e) {
      if (e instanceof RpcError) {
        const [status, b] = classify(e.message);
        return sendJson(ctx, status, b);
      }
      if (/^Unsupported value type/.test(e.message)) {
        // The engine ran the statements but cannot put the result on its CBOR
        // channel (regex values); a real server would render them as "/.../".
        log('warn', `result not transferable from the engine: ${e.message}`);
        return sendJson(ctx, 500, errorBody(500, 'surreal-dev cannot return this result',
          'The statements ran, but the embedded engine cannot encode the result (regex values cannot cross its RPC channel).', e.message));
      }
      throw e;
    } finally {
      if (DEFINITIONS_RE.test(sql)) engine.definitionsMayHaveChanged();
    }
    if (!Array.isArray(results)) throw new Error('unexpected query result');
    const changed = await rewriteRealtime(ctx, results);

    // the statements have run whatever the Accept header says (sql.rs post_handler)
    switch (accept.kind) {
      case null:
      case 'json': {
        let out = '[';
        for (let i = 0; i < results.length; i++) {
          if (i) out += ',';
          out += toJson(results[i]);
        }
        return sendJson(ctx, 200, out + ']');
      }
      case 'cbor': {
        const bytes = !changed && results[RAW] ? Buffer.from(results[RAW]) : cborEncode(results);
        return send(ctx, 200, { 'content-type': 'application/cbor' }, bytes);
      }
      default:
        // text/plain, octet-stream (and flatbuffers, which surreal-dev cannot produce)
        return sendJson(ctx, 415, MSG.invalidType());
    }
  }

  // HTTP sessions have no realtime support: LIVE and KILL statements fail with
  // "Unable to perform the realtime query". The embedded engine's RPC sessions do
  // support them, so undo any live query and report what the server reports.
  async function rewriteRealtime(ctx, results) {
    let changed = false;
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      if (!(r instanceof Map)) continue;
      const t = r.get('type');
      if (t !== 'live' && t !== 'kill') continue;
      if (t === 'live' && r.get('status') === 'OK') {
        try {
          await engine.call('query', ['KILL $id', { id: r.get('result') }], ctx.lease.sid);
        } catch (e) {
          log('debug', `could not kill live query: ${e.message}`);
        }
      }
      const time = r.get('time');
      results[i] = new Map([
        ['details', new Map([['kind', 'LiveQueryNotSupported']])],
        ['kind', 'Configuration'],
        ['result', 'Unable to perform the realtime query'],
        ['status', 'ERR'],
        ['time', time],
        ['type', t],
      ]);
      changed = true;
    }
    return changed;
  }

  async function handleSignin(ctx) {
    const { req } = ctx;
    let body;
    try {
      body = await readBody(req, SIGNIN_BODY_LIMIT);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        if (e.early) return send(ctx, 413, { 'content-type': TEXT_UTF8_CT }, 'length limit exceeded');
        const acc = parseAccept(req);
        if (acc.invalid) return send(ctx, 400, { 'content-type': TEXT_UTF8_CT }, 'invalid HTTP header (accept)');
        return send(ctx, 413, { 'content-type': TEXT_UTF8_CT }, 'Failed to buffer the request body: length limit exceeded');
      }
      throw e;
    }
    const accept = parseAccept(req);
    if (accept.invalid) return send(ctx, 400, { 'content-type': TEXT_UTF8_CT }, 'invalid HTTP header (accept)');
    const text = decodeUtf8(body);
    if (text === null) return sendJson(ctx, 400, MSG.badRequest('Non UTF-8 request body'));
    let vars;
    try {
      vars = JSON.parse(text);
    } catch {
      vars = undefined;
    }
    if (!vars || typeof vars !== 'object' || Array.isArray(vars)) {
      return sendJson(ctx, 400, MSG.badRequest('The request body contains invalid data'));
    }
    let token;
    try {
      token = await engine.signin(vars);
    } catch (e) {
      if (e instanceof RpcError) {
        const [status, b] = classify(e.message);
        return sendJson(ctx, status, b);
      }
      throw e;
    }
    switch (accept.kind) {
      case 'json':
        return sendJson(ctx, 200, `{"code":200,"details":"Authentication succeeded","token":${toJson(token)}}`);
      case 'cbor':
        return send(ctx, 200, { 'content-type': 'application/cbor' },
          cborEncode(new Map([['code', 200], ['details', 'Authentication succeeded'], ['token', token]])));
      case 'text': {
        const t = token instanceof Map ? token.get('access') : token;
        return send(ctx, 200, { 'content-type': 'text/plain' }, typeof t === 'string' ? t : '');
      }
      case null:
        return send(ctx, 200, {}, '');
      default:
        return sendJson(ctx, 415, MSG.invalidType());
    }
  }

  async function handleHealth(ctx) {
    try {
      await engine.health();
    } catch (e) {
      log('error', `Health check failed: ${e.message}`);
      return sendJson(ctx, 500, MSG.health());
    }
    return send(ctx, 200, {}, '');
  }

  function handleWebSocketGet(ctx) {
    // axum's WebSocketUpgrade extractor rejections
    const h = ctx.req.headers;
    const text = (msg) => send(ctx, 400, { 'content-type': TEXT_UTF8_CT }, msg);
    if (!String(h.connection ?? '').toLowerCase().split(',').some((t) => t.trim() === 'upgrade')) {
      return text("Connection header did not include 'upgrade'");
    }
    if (String(h.upgrade ?? '').toLowerCase() !== 'websocket') return text("`Upgrade` header did not include 'websocket'");
    if (h['sec-websocket-version'] !== '13') return text("`Sec-WebSocket-Version` header did not include '13'");
    if (!h['sec-websocket-key']) return text('`Sec-WebSocket-Key` header missing');
    return send(ctx, 426, { 'content-type': TEXT_UTF8_CT }, "WebSocket request couldn't be upgraded since no upgrade state was present");
  }

  async function route(ctx) {
    const { req } = ctx;
    const method = req.method;
    const q = req.url.indexOf('?');
    const path = q < 0 ? req.url : req.url.slice(0, q);

    // CORS layer answers every OPTIONS request itself
    if (method === 'OPTIONS') {
      return send(ctx, 200, {
        'access-control-allow-methods': CORS_ALLOW_METHODS,
        'access-control-allow-headers': CORS_ALLOW_HEADERS,
        'access-control-max-age': '86400',
      }, '');
    }
    const r = ROUTES[path];
    if (!r) return send(ctx, 404, {}, '');
    const isGet = method === 'GET' || method === 'HEAD';
    switch (path) {
      case '/':
        if (isGet) return send(ctx, 307, { location: APP_ENDPOINT }, '');
        break;
      case '/status':
        if (isGet) return send(ctx, 200, {}, '');
        break;
      case '/health':
        if (isGet) return handleHealth(ctx);
        break;
      case '/version':
        if (isGet) return send(ctx, 200, { 'content-type': TEXT_UTF8_CT }, versionString);
        break;
      case '/sql':
        if (method === 'POST') return handleSql(ctx);
        if (isGet) return handleWebSocketGet(ctx);
        break;
      case '/signin':
        if (method === 'POST') return handleSignin(ctx);
        break;
      default:
        break;
    }
    return send(ctx, 405, { allow: r.allow }, '');
  }

  return async function handler(req, res) {
    const started = process.hrtime.bigint();
    const ctx = {
      req, res,
      requestId: firstHeader(req, 'x-request-id') ?? randomUUID(),
      decorate: true,
      lease: null,
      status: 0,
    };
    try {
      try {
        ctx.lease = await authenticate(ctx);
      } catch (e) {
        if (e instanceof AuthError || e instanceof HeaderError) return sendAuthFailure(ctx, e.message);
        throw e;
      }
      await route(ctx);
      if (ctx.lease) ctx.lease.release(true);
      ctx.lease = null;
    } catch (e) {
      log('error', `${req.method} ${req.url}: ${e.stack || e.message}`);
      if (ctx.lease) ctx.lease.release(false);
      ctx.lease = null;
      if (!res.headersSent) {
        try { send(ctx, 500, {}, ''); } catch { res.destroy(); }
      } else res.destroy();
    } finally {
      if (!req.complete) req.resume();
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log('debug', `${req.method} ${req.url} -> ${ctx.status || res.statusCode} ${ms.toFixed(2)}ms`);
    }
  };
}

