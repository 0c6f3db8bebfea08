// The embedded SurrealDB 3 engine (@surrealdb/node) driven through the `surrealdb`
// JS SDK, with one engine-side RPC session per HTTP request.
//
// SurrealDB 3's RPC layer keeps a map of sessions (`attach`/`detach` with a UUID,
// the mechanism behind the SDK's `newSession()`/`forkSession()`); every method call
// names the session it runs in. Each HTTP request leases a session of its own that
// carries exactly the auth / namespace / database its headers ask for, so concurrent
// requests can never see each other's state. A query never changes its session (the
// engine executes with a read-only borrow of it), so a session may be handed to a
// later request that presents the *same* credentials and headers (see SessionPool).

import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Surreal, Uuid as SdkUuid, CborCodec } from 'surrealdb';
import { createNodeEngines } from '@surrealdb/node';
import { decode as cborDecode } from './cbor.mjs';

export const RAW = Symbol('raw-cbor');

export class RpcError extends Error {
  constructor(err) {
    const get = (k) => (err instanceof Map ? err.get(k) : err?.[k]);
    const message = get('message');
    super(typeof message === 'string' ? message : 'Unknown error');
    this.code = get('code');
    this.kind = get('kind');
    this.details = get('details');
  }
}

// An authentication failure: answered with 401 and `message` as plain text.
export class AuthError extends Error {}

const INTERNAL_NS = 'surreal_dev_internal';
const ANON_ACCESS = 'anonymous';

function b64urlJson(obj) {
  return Buffer.from(JSON.stringify(obj)).toString('base64url');
}

// Claims of a JWT, without verification (routing only; the engine verifies).
export function peekClaims(token) {
  try {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const c = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return c && typeof c === 'object' ? c : null;
  } catch {
    return null;
  }
}

// SurrealQL identifier, back-ticked and escaped (for USE / DEFINE USER names)
export function sqlIdent(s) {
  return '`' + String(s).replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

// SurrealQL string literal for the few places the grammar takes no $parameter
// (DEFINE USER ... PASSWORD '...'). Every character that could end or alter the
// literal is escaped, so the value cannot escape the string.
export function sqlString(s) {
  let out = "'";
  for (const c of String(s)) {
    const cp = c.codePointAt(0);
    if (c === "'") out += "\\'";
    else if (c === '\\') out += '\\\\';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += `\\u{${cp.toString(16)}}`;
    else out += c;
  }
  return out + "'";
}

export function newSessionId(uuidString) {
  return new SdkUuid(uuidString ?? randomUUID());
}

// ---------------------------------------------------------------------------

class Lease {
  constructor(pool, key, sid, createdAt, pooled, verifiedAt = 0, gen = -1) {
    this.pool = pool;
    this.key = key;
    this.sid = sid;
    this.createdAt = createdAt;
    this.pooled = pooled; // may go back to the pool
    this.verifiedAt = verifiedAt; // last time the engine verified its token
    this.gen = gen; // Engine.authGeneration at that time
    this.done = false;
  }

  // ok=false: the session state is uncertain, drop it
  release(ok = true) {
    if (this.done) return;
    this.done = true;
    this.pool.giveBack(this, ok);
  }
}

class SessionPool {
  constructor(engine, { maxIdlePerKey = 32, maxIdle = 1024, idleMs = 30000, maxAgeMs = 120000 } = {}) {
    this.engine = engine;
    this.idle = new Map(); // key -> [{sid, createdAt, idleSince}]
    this.idleCount = 0;
    this.maxIdlePerKey = maxIdlePerKey;
    this.maxIdle = maxIdle;
    this.idleMs = idleMs;
    this.maxAgeMs = maxAgeMs;
    this.timer = setInterval(() => this.sweep(), 5000);
    this.timer.unref();
  }

  take(key) {
    const list = this.idle.get(key);
    if (!list) return null;
    const now = Date.now();
    while (list.length) {
      const e = list.pop();
      this.idleCount--;
      if (now - e.createdAt < this.maxAgeMs) {
        if (!list.length) this.idle.delete(key);
        return new Lease(this, key, e.sid, e.createdAt, true, e.verifiedAt, e.gen);
      }
      this.engine.detach(e.sid);
    }
    this.idle.delete(key);
    return null;
  }

  lease(key, sid, pooled) {
    return new Lease(this, key, sid, Date.now(), pooled);
  }

  giveBack(lease, ok) {
    const now = Date.now();
    if (!ok || !lease.pooled || this.closed || now - lease.createdAt >= this.maxAgeMs || this.idleCount >= this.maxIdle) {
      this.engine.detach(lease.sid);
      return;
    }
    let list = this.idle.get(lease.key);
    if (!list) { list = []; this.idle.set(lease.key, list); }
    if (list.length >= this.maxIdlePerKey) {
      this.engine.detach(lease.sid);
      return;
    }
    list.push({ sid: lease.sid, createdAt: lease.createdAt, idleSince: now, verifiedAt: lease.verifiedAt, gen: lease.gen });
    this.idleCount++;
  }

  sweep(filter) {
    const now = Date.now();
    for (const [key, list] of this.idle) {
      const keep = [];
      for (const e of list) {
        const drop = (filter ? filter(key) : false) || now - e.idleSince >= this.idleMs || now - e.createdAt >= this.maxAgeMs;
        if (drop) { this.engine.detach(e.sid); this.idleCount--; } else keep.push(e);
      }
      if (keep.length) this.idle.set(key, keep); else this.idle.delete(key);
    }
  }

  flush(prefix) {
    this.sweep((key) => key.startsWith(prefix));
  }

  close() {
    this.closed = true;
    clearInterval(this.timer);
    this.sweep(() => true);
  }
}

// ---------------------------------------------------------------------------

export class Engine {
  constructor(db, eng, { unauthenticated = false, log } = {}) {
    this.db = db;
    this.eng = eng;
    this.unauthenticated = unauthenticated;
    this.log = log ?? (() => {});
    this.pool = new SessionPool(this);
    this.basicTokens = new Map(); // credential hash -> { token, expMs }
    this.basicInflight = new Map(); // credential hash -> Promise<token>
    this.anonToken = null;
    this.authGeneration = 0; // bumped whenever users / access methods may have changed
    this.reverifyMs = 5000;
    this.anonSetup = null;
    this.versionString = null;
    this.closed = false;
    this.closing = false;
    this.inflight = 0;
    this.drained = null;
  }

  // endpoint: 'mem://' | 'surrealkv:///abs/path' | 'surrealkv+versioned:///abs' | 'rocksdb:///abs'
  static async open(endpoint, opts = {}) {
    let eng = null;
    const factories = createNodeEngines();
    const engines = {};
    for (const [scheme, make] of Object.entries(factories)) {
      engines[scheme] = (ctx) => (eng = make(ctx));
    }
    // Requests are encoded by the SDK's own CBOR codec; responses are decoded by
    // ours, which keeps int/float, NONE/NULL and key order for faithful JSON.
    const sdkCodec = new CborCodec({});
    const codec = {
      encode: (data) => sdkCodec.encode(data),
      decode: (bytes) => {
        const v = cborDecode(bytes);
        if (Array.isArray(v)) v[RAW] = bytes;
        return v;
      },
    };
    const db = new Surreal({ engines, codecs: { cbor: () => codec } });
    await db.connect(endpoint);
    if (!eng) throw new Error('embedded engine did not start');
    const engine = new Engine(db, eng, opts);
    engine.versionString = String(await engine.call('version'));
    if (!engine.unauthenticated) await engine.setupAnonymous();
    return engine;
  }

  // One RPC call. Resolves with the decoded result, rejects with RpcError.
  async call(method, params, session) {
    // A call still inside the native engine when it is freed aborts the whole
    // process (the addon unwraps a None): close() waits for in-flight calls.
    if (this.closing) throw new Error('the engine is shutting down');
    const req = { method };
    if (params !== undefined) req.params = params;
    if (session !== undefined) req.session = session;
    this.inflight++;
    let res;
    try {
      res = await this.eng.send(req);
    } finally {
      this.inflight--;
      if (this.closing && this.inflight === 0 && this.drained) this.drained();
    }
    if (res instanceof Map && res.has('error') && res.size === 1) throw new RpcError(res.get('error'));
    return res;
  }

  attach(sid) {
    return this.call('attach', undefined, sid);
  }

  detach(sid) {
    if (this.closing) return; // the whole engine is going away
    this.call('detach', undefined, sid).catch((e) => this.log('debug', `detach failed: ${e.message}`));
  }

  async freshSession(explicitId) {
    if (explicitId) {
      const sid = newSessionId(explicitId);
      try {
        await this.attach(sid);
        return sid;
      } catch {
        // already in use by a concurrent request: fall back to a random id
      }
    }
    const sid = newSessionId();
    await this.attach(sid);
    return sid;
  }

  // Runs fn(sid) in a throw-away session. Sessions that never authenticate run
  // with the embedded engine's full rights (it has no auth switch), so this is
  // for the server's own housekeeping only.
  async internal(fn) {
    const sid = newSessionId();
    await this.attach(sid);
    try {
      return await fn(sid);
    } finally {
      this.detach(sid);
    }
  }

  async internalQuery(sql, vars, ns, db) {
    return this.internal(async (sid) => {
      if (ns) await this.call('use', [ns, db ?? null], sid);
      const res = await this.call('query', vars ? [sql, vars] : [sql], sid);
      for (const r of res) {
        if (r.get('status') !== 'OK') throw new Error(`${sql.slice(0, 60)}: ${r.get('result')}`);
      }
      return res.map((r) => r.get('result'));
    });
  }

  // `surreal start --user U --pass P`: creates the root user when there is none.
  async initialiseCredentials(user, pass) {
    const [info] = await this.internalQuery('INFO FOR ROOT');
    const users = info instanceof Map ? info.get('users') : null;
    if (users instanceof Map && users.size > 0) {
      this.log('warn', `Credentials were provided, but existing root users were found. The root user '${user}' will not be created`);
      return false;
    }
    // The grammar takes no $parameter after PASSWORD: the values are escaped.
    await this.internalQuery(`DEFINE USER IF NOT EXISTS ${sqlIdent(user)} ON ROOT PASSWORD ${sqlString(pass)} ROLES OWNER`);
    this.log('info', `Credentials were provided, and no root users were found. The root user '${user}' will be created`);
    return true;
  }

  // The embedded engine runs without authentication (anonymous = everything).
  // A real server with auth enabled evaluates anonymous requests with no roles:
  // table PERMISSIONS apply with $auth = NONE, every DEFINE/REMOVE/INFO is refused.
  // That actor is reproduced with a namespace-level JWT access method holding a
  // random key (rotated at every start) and tokens with an empty role list.
  async setupAnonymous() {
    const key = randomBytes(48).toString('base64url');
    await this.internalQuery(
      `DEFINE ACCESS OVERWRITE ${ANON_ACCESS} ON NAMESPACE TYPE JWT ALGORITHM HS512 KEY $key DURATION FOR SESSION NONE`,
      { key }, INTERNAL_NS,
    );
    const now = Math.floor(Date.now() / 1000);
    const head = b64urlJson({ typ: 'JWT', alg: 'HS512' });
    const body = b64urlJson({ iat: now, nbf: now - 60, exp: now + 10 * 365 * 86400, iss: 'SurrealDB', NS: INTERNAL_NS, AC: ANON_ACCESS, RL: [] });
    const sig = createHmac('sha512', key).update(`${head}.${body}`).digest('base64url');
    this.anonToken = `${head}.${body}.${sig}`;
    this.pool.flush('A|');
  }

  async use(sid, ns, db) {
    // null unsets; never send a db without a namespace (the engine would panic)
    const n = ns ?? null;
    const d = n === null ? null : (db ?? null);
    // USE also makes sure the namespace/database exist (a catalog write), which
    // can hit a write conflict when concurrent requests name the same new one.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.call('use', [n, d], sid);
        return;
      } catch (e) {
        if (!(e instanceof RpcError) || !/can be retried|conflict/i.test(e.message) || attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 1 + Math.random() * 5 * (attempt + 1)));
      }
    }
  }

  // ---- per-request sessions ------------------------------------------------

  // ctx: { ns, db, sessionId }
  async acquireAnonymous(ctx) {
    const key = `A|${ctx.ns ?? ''}\u0000${ctx.db ?? ''}|${ctx.ns === undefined ? 0 : 1}${ctx.db === undefined ? 0 : 1}`;
    if (!ctx.sessionId) {
      const l = this.pool.take(key);
      if (l) return l;
    }
    const sid = await this.freshSession(ctx.sessionId);
    const lease = this.pool.lease(key, sid, !ctx.sessionId);
    try {
      if (!this.unauthenticated) {
        try {
          await this.call('authenticate', [this.anonToken], sid);
        } catch (e) {
          // someone removed the internal access method: define it again
          this.log('warn', `anonymous access method missing (${e.message}); defining it again`);
          await (this.anonSetup ??= this.setupAnonymous().finally(() => { this.anonSetup = null; }));
          await this.call('authenticate', [this.anonToken], sid);
        }
      }
      await this.use(sid, ctx.ns, ctx.db);
      return lease;
    } catch (e) {
      lease.release(false);
      throw e;
    }
  }

  async acquireBearer(token, ctx) {
    const key = `T|${token}|${ctx.ns ?? ''}\u0000${ctx.db ?? ''}|${ctx.ns === undefined ? 0 : 1}${ctx.db === undefined ? 0 : 1}`;
    const claims = peekClaims(token);
    let lease = ctx.sessionId ? null : this.pool.take(key);
    if (lease && this.stillVerified(lease, claims)) return lease;
    let fresh = false;
    if (!lease) {
      const sid = await this.freshSession(ctx.sessionId);
      lease = this.pool.lease(key, sid, !ctx.sessionId);
      fresh = true;
    }
    try {
      if (fresh) {
        // The server builds the session from surreal-ns/db, then the token's
        // NS/DB claims override them. Skip the USE when the claims decide both.
        const decided = claims && typeof claims.NS === 'string' && typeof claims.DB === 'string';
        if (!decided && claims) await this.use(lease.sid, ctx.ns, ctx.db);
      }
    } catch (e) {
      lease.release(false);
      throw e;
    }
    const gen = this.authGeneration;
    try {
      // the engine verifies signature, expiry, access method and AUTHENTICATE clause
      await this.call('authenticate', [token], lease.sid);
    } catch (e) {
      lease.release(false);
      if (e instanceof RpcError) throw new AuthError(e.message);
      throw e;
    }
    lease.verifiedAt = Date.now();
    lease.gen = gen;
    return lease;
  }

  // A pooled session whose token the engine verified less than `reverifyMs` ago
  // may skip the verification, provided no query has touched users or access
  // methods since (authGeneration) and the token's own time window still holds.
  stillVerified(lease, claims) {
    if (lease.gen !== this.authGeneration || Date.now() - lease.verifiedAt >= this.reverifyMs) return false;
    if (!claims) return false;
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp === 'number' && claims.exp < now) return false;
    if (typeof claims.nbf === 'number' && claims.nbf > now) return false;
    return true;
  }

  basicHash(user, pass, authNs, authDb) {
    return createHash('sha256').update(JSON.stringify([user, pass, authNs ?? null, authDb ?? null])).digest('base64url');
  }

  // Basic auth of a system user (root, or NS/DB level via surreal-auth-ns/db).
  // The password is checked with argon2 by the engine's signin on first use; the
  // resulting token then authenticates further sessions for the same credentials
  // (cache dropped whenever a query touches USER/ACCESS definitions).
  async acquireBasic(user, pass, authNs, authDb, ctx) {
    if (authNs === undefined && authDb !== undefined) {
      throw new AuthError('There was a problem with authentication');
    }
    const h = this.basicHash(user, pass, authNs, authDb);
    const key = `B|${h}|${ctx.ns ?? ''}\u0000${ctx.db ?? ''}|${ctx.ns === undefined ? 0 : 1}${ctx.db === undefined ? 0 : 1}`;
    if (!ctx.sessionId) {
      const l = this.pool.take(key);
      if (l) return l;
    }
    const sid = await this.freshSession(ctx.sessionId);
    const lease = this.pool.lease(key, sid, !ctx.sessionId);
    try {
      let authed = false;
      const cached = this.basicTokens.get(h);
      if (cached && cached.expMs - Date.now() > 60000) {
        try {
          await this.call('authenticate', [cached.token], sid);
          authed = true;
        } catch {
          this.basicTokens.delete(h);
        }
      }
      if (!authed) {
        const inflight = this.basicInflight.get(h);
        if (inflight) {
          const token = await inflight; // throws AuthError if that signin failed
          await this.call('authenticate', [token], sid);
        } else {
          const p = this.basicSignin(sid, user, pass, authNs, authDb, h);
          this.basicInflight.set(h, p);
          try { await p; } finally { this.basicInflight.delete(h); }
        }
      }
      // Basic auth keeps surreal-ns/surreal-db (signin may have moved them)
      await this.use(sid, ctx.ns, ctx.db);
      return lease;
    } catch (e) {
      lease.release(false);
      throw e;
    }
  }

  async basicSignin(sid, user, pass, authNs, authDb, h) {
    const params = { user, pass };
    if (authNs !== undefined) params.ns = authNs;
    if (authDb !== undefined) params.db = authDb;
    let token;
    try {
      token = await this.call('signin', [params], sid);
    } catch (e) {
      if (!(e instanceof RpcError)) throw e;
      throw new AuthError(await this.basicFailureMessage(user, authNs, authDb));
    }
    if (typeof token === 'string') {
      const c = peekClaims(token);
      const expMs = c && typeof c.exp === 'number' ? c.exp * 1000 : Date.now() + 300000;
      this.basicTokens.set(h, { token, expMs });
    }
    return token;
  }

  // The server's Basic check (iam::verify::basic) reports *why* it failed, while
  // the RPC signin hides everything behind InvalidAuth. Rebuild its message.
  async basicFailureMessage(user, authNs, authDb) {
    const invalidAuth = 'There was a problem with authentication';
    try {
      if (authNs === undefined) {
        const [info] = await this.internalQuery('INFO FOR ROOT');
        return info.get('users')?.has(user) ? 'The password did not verify' : invalidAuth;
      }
      const [root] = await this.internalQuery('INFO FOR ROOT');
      if (!root.get('namespaces')?.has(authNs)) return `The namespace '${authNs}' does not exist`;
      if (authDb === undefined) {
        const res = await this.internalQuery(`USE NS ${sqlIdent(authNs)}; INFO FOR NS`);
        return res[1].get('users')?.has(user) ? 'The password did not verify' : invalidAuth;
      }
      const res = await this.internalQuery(`USE NS ${sqlIdent(authNs)}; INFO FOR NS`);
      if (!res[1].get('databases')?.has(authDb)) return `The database '${authDb}' does not exist`;
      const r2 = await this.internalQuery(`USE NS ${sqlIdent(authNs)} DB ${sqlIdent(authDb)}; INFO FOR DB`);
      return r2[1].get('users')?.has(user) ? 'The password did not verify' : invalidAuth;
    } catch {
      return invalidAuth;
    }
  }

  // A query that may have changed users or access methods: cached Basic
  // verifications must be made again.
  definitionsMayHaveChanged() {
    this.authGeneration++;
    this.basicTokens.clear();
    this.pool.flush('B|');
  }

  async signin(params) {
    return this.internal((sid) => this.call('signin', [params], sid));
  }

  async health() {
    // a read through the storage engine
    await this.call('query', ['INFO FOR ROOT']);
  }

  async close({ timeoutMs = 10000 } = {}) {
    if (this.closing) return;
    this.closing = true;
    this.pool.close();
    if (this.inflight > 0) {
      await new Promise((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, timeoutMs).unref();
      });
    }
    this.closed = true;
    await this.db.close();
  }
}

