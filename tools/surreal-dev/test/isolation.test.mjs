import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sql, rootSql, rootAuth, SERVICE_SCHEMA, signinToken } from './helpers.mjs';

const NSDB = { ns: 'production', db: 'chatbot' };

describe('session isolation', () => {
  let srv;
  let tokens;
  before(async () => {
    srv = await startServer();
    await rootSql(srv, SERVICE_SCHEMA, NSDB);
    tokens = {
      cart: await signinToken(srv, 'cart', 'cart-secret'),
      product: await signinToken(srv, 'product', 'product-secret'),
    };
  });
  after(async () => { await srv?.stop(); });

  it('100 concurrent requests (x3 rounds) with different credentials and variables each see only their own', async () => {
    const kinds = ['cart', 'product', 'root', 'anonymous'];
    const QUERY = `LET $before = $v;
      SLEEP 15ms;
      RETURN { auth: $auth, access: $access, ns: $session.ns, db: $session.db, v: $v, before: $before };
      UPDATE product:tee_blue SET name = 'Blue Tee' RETURN VALUE name;`;
    // three rounds, so that later requests run on engine sessions that earlier
    // requests (with other credentials) have used and given back
    for (let round = 0; round < 3; round++) {
    const jobs = [];
    for (let i = 0; i < 100; i++) {
      const kind = kinds[(i + round) % kinds.length];
      const v = `req-${round}-${i}-${kind}`;
      let headers = {};
      let ns = NSDB.ns;
      let db = NSDB.db;
      if (kind === 'cart' || kind === 'product') {
        headers = { authorization: `Bearer ${tokens[kind]}` };
        // the token's NS/DB win over whatever the headers say
        ns = 'elsewhere';
        db = 'ignored';
      } else if (kind === 'root') {
        headers = rootAuth();
      }
      jobs.push(sql(srv, QUERY, { headers, ns, db, query: { v } }).then((r) => ({ i, kind, v, r })));
    }
    const results = await Promise.all(jobs);
    const seen = new Set();
    for (const { i, kind, v, r } of results) {
      assert.equal(r.status, 200, `request ${i} (${kind}): ${r.body}`);
      const info = r.json[2].result;
      assert.equal(info.v, v, `request ${i} sees its own $v`);
      assert.equal(info.before, v);
      assert.equal(info.ns, 'production');
      assert.equal(info.db, 'chatbot');
      const write = r.json[3];
      switch (kind) {
        case 'cart':
          assert.equal(info.auth, 'service_account:cart', `request ${i}`);
          assert.equal(info.access, 'service');
          assert.equal(write.status, 'ERR');
          assert.equal(write.result, 'An error occurred: permission denied: service_account:cart may not write table product');
          break;
        case 'product':
          assert.equal(info.auth, 'service_account:product', `request ${i}`);
          assert.equal(info.access, 'service');
          assert.equal(write.status, 'OK');
          assert.deepEqual(write.result, ['Blue Tee']);
          break;
        case 'root':
          assert.equal(info.auth, null, `request ${i}`);
          assert.equal(write.status, 'OK', 'root bypasses table permissions');
          break;
        default:
          assert.equal(info.auth, null, `request ${i}`);
          assert.equal(write.status, 'ERR');
          assert.equal(write.result, 'An error occurred: permission denied: NONE may not write table product');
      }
      seen.add(kind);
    }
    assert.equal(seen.size, 4);
    }
  });

  it('requests with different surreal-ns/surreal-db headers stay apart under concurrency', async () => {
    await Promise.all([0, 1, 2].map((k) => rootSql(srv, `CREATE marker:only SET db = 'iso${k}'`, { ns: 'iso', db: `iso${k}` })));
    const jobs = [];
    for (let i = 0; i < 60; i++) {
      const k = i % 3;
      jobs.push(sql(srv, 'SLEEP 5ms; SELECT VALUE db FROM marker:only', { headers: rootAuth(), ns: 'iso', db: `iso${k}` }).then((r) => ({ k, r })));
    }
    for (const { k, r } of await Promise.all(jobs)) {
      assert.deepEqual(r.json[1].result, [`iso${k}`]);
    }
  });

  it('requests overlap in the engine (no global lock)', async () => {
    const t0 = Date.now();
    const jobs = Array.from({ length: 8 }, () => sql(srv, 'SLEEP 200ms; RETURN 1', { headers: rootAuth() }));
    const rs = await Promise.all(jobs);
    const elapsed = Date.now() - t0;
    for (const r of rs) assert.equal(r.json[1].result, 1);
    assert.ok(elapsed < 8 * 200, `8 x SLEEP 200ms took ${elapsed} ms`);
  });
});
