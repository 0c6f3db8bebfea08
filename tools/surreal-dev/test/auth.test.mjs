import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startServer, request, sql, rootSql, rootAuth, basic, SERVICE_SCHEMA, signinToken, ROOT } from './helpers.mjs';

const NSDB = { ns: 'production', db: 'chatbot' };
const INVALID_AUTH = 'There was a problem with authentication';

function bearer(token) {
  return { authorization: `Bearer ${token}` };
}

function forge(claims, key = 'not-the-key') {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = enc({ typ: 'JWT', alg: 'HS512' });
  const body = enc(claims);
  return `${head}.${body}.${createHmac('sha512', key).update(`${head}.${body}`).digest('base64url')}`;
}

describe('authentication', () => {
  let srv;
  let cartToken;
  before(async () => {
    srv = await startServer();
    await rootSql(srv, SERVICE_SCHEMA, NSDB);
    cartToken = await signinToken(srv, 'cart', 'cart-secret');
  });
  after(async () => { await srv?.stop(); });

  describe('Basic (system users)', () => {
    it('authenticates the root user created from --user/--pass', async () => {
      const r = await sql(srv, 'INFO FOR ROOT', { headers: rootAuth() });
      assert.equal(r.status, 200);
      assert.equal(r.json[0].status, 'OK');
      assert.ok(Object.keys(r.json[0].result.users).includes(ROOT.user));
    });

    it('answers a wrong password with a plain-text 401', async () => {
      const r = await sql(srv, 'RETURN 1', { headers: { authorization: basic(ROOT.user, 'wrong') } });
      assert.equal(r.status, 401);
      assert.equal(r.body, 'The password did not verify');
      assert.equal(r.headers['content-type'], undefined, 'the auth layer sends a bare body');
      assert.equal(r.json, undefined);
    });

    it('answers an unknown user with a plain-text 401', async () => {
      const r = await sql(srv, 'RETURN 1', { headers: { authorization: basic('nobody', 'x') } });
      assert.equal(r.status, 401);
      assert.equal(r.body, INVALID_AUTH);
    });

    it('stops accepting a password once it is changed', async () => {
      await rootSql(srv, `DEFINE USER OVERWRITE ops ON ROOT PASSWORD 'old-pw' ROLES VIEWER`);
      let r = await sql(srv, 'RETURN 1', { headers: { authorization: basic('ops', 'old-pw') } });
      assert.equal(r.status, 200);
      await rootSql(srv, `DEFINE USER OVERWRITE ops ON ROOT PASSWORD 'new-pw' ROLES VIEWER`);
      r = await sql(srv, 'RETURN 1', { headers: { authorization: basic('ops', 'old-pw') } });
      assert.equal(r.status, 401);
      r = await sql(srv, 'RETURN 1', { headers: { authorization: basic('ops', 'new-pw') } });
      assert.equal(r.status, 200);
    });

    it('authenticates database users with surreal-auth-ns / surreal-auth-db and keeps surreal-ns/db', async () => {
      await rootSql(srv, `DEFINE USER OVERWRITE dbv ON DATABASE PASSWORD 'dbv-pw' ROLES VIEWER`, NSDB);
      const headers = { authorization: basic('dbv', 'dbv-pw'), 'surreal-auth-ns': 'production', 'surreal-auth-db': 'chatbot' };
      const r = await sql(srv, 'RETURN [$session.ns, $session.db]; SELECT VALUE name FROM product:tee_blue; CREATE product:nope SET name = "x", price = 1', { headers, ...NSDB });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json[0].result, ['production', 'chatbot']);
      assert.deepEqual(r.json[1].result, ['Blue Tee']);
      assert.equal(r.json[2].status, 'ERR', 'a VIEWER write goes through the table PERMISSIONS');
      const noAuthNs = await sql(srv, 'RETURN 1', { headers: { authorization: basic('dbv', 'dbv-pw') }, ...NSDB });
      assert.equal(noAuthNs.status, 401, 'without surreal-auth-ns the server looks for a root user');
    });
  });

  describe('record access', () => {
    it('POST /signin returns a JWT for a RECORD access method', async () => {
      const r = await request(srv, 'POST', '/signin', {
        headers: { accept: 'application/json' },
        body: JSON.stringify({ NS: 'production', DB: 'chatbot', AC: 'service', user: 'cart', pass: 'cart-secret' }),
      });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/json');
      const j = JSON.parse(r.body);
      assert.deepEqual(Object.keys(j), ['code', 'details', 'token']);
      assert.equal(j.code, 200);
      assert.equal(j.details, 'Authentication succeeded');
      const claims = JSON.parse(Buffer.from(j.token.split('.')[1], 'base64url').toString());
      assert.equal(claims.ID, 'service_account:cart');
      assert.equal(claims.AC, 'service');
      assert.equal(claims.NS, 'production');
      assert.equal(claims.iss, 'SurrealDB');
      assert.equal(claims.exp - claims.iat, 3600);
    });

    it('/signin with Accept text/plain returns the bare token; without Accept an empty body', async () => {
      const body = JSON.stringify({ ns: 'production', db: 'chatbot', ac: 'service', user: 'cart', pass: 'cart-secret' });
      const text = await request(srv, 'POST', '/signin', { headers: { accept: 'text/plain' }, body });
      assert.equal(text.status, 200);
      assert.match(text.body, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
      const none = await request(srv, 'POST', '/signin', { body });
      assert.equal(none.status, 200);
      assert.equal(none.body, '');
      assert.equal(none.headers['content-length'], '0');
    });

    it('/signin failures: wrong secret (400 No record was returned), wrong root password (401 JSON), bad body (400)', async () => {
      let r = await request(srv, 'POST', '/signin', { headers: { accept: 'application/json' }, body: JSON.stringify({ ns: 'production', db: 'chatbot', ac: 'service', user: 'cart', pass: 'nope' }) });
      assert.equal(r.status, 400);
      assert.equal(JSON.parse(r.body).information, 'No record was returned');
      r = await request(srv, 'POST', '/signin', { headers: { accept: 'application/json' }, body: JSON.stringify({ user: ROOT.user, pass: 'nope' }) });
      assert.equal(r.status, 401);
      assert.deepEqual(JSON.parse(r.body), { code: 401, details: 'Authentication failed', description: 'Your authentication details are invalid. Reauthenticate using valid authentication parameters.', information: INVALID_AUTH });
      r = await request(srv, 'POST', '/signin', { headers: { accept: 'application/json' }, body: '[1,2]' });
      assert.equal(r.status, 400);
      assert.equal(JSON.parse(r.body).information, 'The request body contains invalid data');
    });

    it('root can sign in through /signin with user/pass only', async () => {
      const r = await request(srv, 'POST', '/signin', { headers: { accept: 'application/json' }, body: JSON.stringify({ user: ROOT.user, pass: ROOT.pass }) });
      assert.equal(r.status, 200);
      const token = JSON.parse(r.body).token;
      const q = await sql(srv, 'INFO FOR ROOT', { headers: bearer(token) });
      assert.equal(q.json[0].status, 'OK');
    });

    it('Bearer requests run as the record user; ns/db come from the token', async () => {
      const r = await sql(srv, 'RETURN [$auth, $access, $session.ns, $session.db]; SELECT VALUE name FROM product', { headers: bearer(cartToken), ns: null, db: null });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json[0].result, ['service_account:cart', 'service', 'production', 'chatbot']);
      assert.deepEqual(r.json[1].result, ['Blue Tee']);
    });

    it('a refused write with THROW is an ERR entry; the owner may write', async () => {
      const r = await sql(srv, 'UPDATE product:tee_blue SET price = 0.01; UPSERT cart:c1 SET quantity = 2', { headers: bearer(cartToken) });
      assert.equal(r.status, 200);
      assert.equal(r.json[0].status, 'ERR');
      assert.equal(r.json[0].kind, 'Thrown');
      assert.equal(r.json[0].result, 'An error occurred: permission denied: service_account:cart may not write table product');
      assert.equal(r.json[1].status, 'OK');
      const productToken = await signinToken(srv, 'product', 'product-secret');
      const p = await sql(srv, 'UPDATE product:tee_blue SET price = 21.0 RETURN VALUE price', { headers: bearer(productToken) });
      assert.deepEqual(p.json[0].result, [21]);
      assert.match(p.body, /"result":\[21\.0\]/);
    });

    it('a record user cannot define things (NotAllowed)', async () => {
      const r = await sql(srv, 'DEFINE TABLE hack', { headers: bearer(cartToken) });
      assert.equal(r.json[0].status, 'ERR');
      assert.equal(r.json[0].kind, 'NotAllowed');
      assert.equal(r.json[0].result, 'IAM error: Not enough permissions to perform this action');
    });

    it('rejects forged, garbage and expired tokens with a plain-text 401', async () => {
      const now = Math.floor(Date.now() / 1000);
      const forged = forge({ iat: now, nbf: now, exp: now + 3600, iss: 'SurrealDB', NS: 'production', DB: 'chatbot', AC: 'service', ID: 'service_account:product' });
      let r = await sql(srv, 'RETURN $auth', { headers: bearer(forged) });
      assert.equal(r.status, 401);
      assert.equal(r.body, INVALID_AUTH);
      assert.equal(r.headers['content-type'], undefined);
      // a valid token with one flipped signature character
      const parts = cartToken.split('.');
      const sig = parts[2];
      const flipped = `${parts[0]}.${parts[1]}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
      r = await sql(srv, 'RETURN $auth', { headers: bearer(flipped) });
      assert.equal(r.status, 401);
      assert.equal(r.body, INVALID_AUTH);
      r = await sql(srv, 'RETURN $auth', { headers: bearer('garbage') });
      assert.equal(r.status, 401);
      assert.equal(r.body, 'InvalidToken', 'jsonwebtoken\'s error text, as the server prints it');
      const expired = forge({ iat: now - 7200, nbf: now - 7200, exp: now - 3600, iss: 'SurrealDB', NS: 'production', DB: 'chatbot', AC: 'service', ID: 'service_account:cart' });
      r = await sql(srv, 'RETURN $auth', { headers: bearer(expired) });
      assert.equal(r.status, 401);
      assert.equal(r.body, 'The token has expired');
      r = await sql(srv, 'RETURN $auth', { headers: bearer(cartToken) });
      assert.equal(r.status, 200, 'the genuine token still works');
    });

    it('bearer keys: grant, sign in, revoke (and the 3.0.2 limit of their JWTs)', async () => {
      const g = await rootSql(srv, 'ACCESS service_key ON DATABASE GRANT FOR RECORD service_account:cart', NSDB);
      const { id, key } = g[0].result.grant;
      assert.match(key, /^surreal-bearer-/);
      const body = JSON.stringify({ ns: 'production', db: 'chatbot', ac: 'service_key', key });
      let r = await request(srv, 'POST', '/signin', { headers: { accept: 'application/json' }, body });
      assert.equal(r.status, 200);
      const token = JSON.parse(r.body).token;
      const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
      assert.equal(claims.ID, 'service_account:cart');
      // iam::verify::token accepts record-claim tokens only from RECORD access
      // methods: the JWT of a BEARER access cannot authenticate a later request.
      const q = await sql(srv, 'RETURN $auth', { headers: bearer(token) });
      assert.equal(q.status, 401);
      assert.equal(q.body, 'The access method cannot be used in the requested operation');
      await rootSql(srv, `ACCESS service_key ON DATABASE REVOKE GRANT ${id}`, NSDB);
      r = await request(srv, 'POST', '/signin', { headers: { accept: 'application/json' }, body });
      assert.equal(r.status, 401);
      assert.equal(JSON.parse(r.body).information, INVALID_AUTH);
    });

    it('re-defining the access method (new key) invalidates issued tokens at once', async () => {
      const token = await signinToken(srv, 'cart', 'cart-secret');
      assert.equal((await sql(srv, 'RETURN 1', { headers: bearer(token) })).status, 200);
      await rootSql(srv, `DEFINE ACCESS OVERWRITE service ON DATABASE TYPE RECORD
        SIGNIN (SELECT * FROM service_account WHERE name = $user AND crypto::argon2::compare(secret, $pass))
        DURATION FOR TOKEN 1h, FOR SESSION 24h`, NSDB);
      const r = await sql(srv, 'RETURN 1', { headers: bearer(token) });
      assert.equal(r.status, 401);
      cartToken = await signinToken(srv, 'cart', 'cart-secret');
    });
  });

  describe('token lifetime', () => {
    it('a token that expires between two requests is refused (401 The token has expired)', async () => {
      await rootSql(srv, `DEFINE ACCESS OVERWRITE short ON DATABASE TYPE RECORD
        SIGNIN (SELECT * FROM service_account WHERE name = $user AND crypto::argon2::compare(secret, $pass))
        DURATION FOR TOKEN 2s, FOR SESSION 1h`, NSDB);
      const r0 = await request(srv, 'POST', '/signin', { headers: { accept: 'text/plain' }, body: JSON.stringify({ ns: 'production', db: 'chatbot', ac: 'short', user: 'cart', pass: 'cart-secret' }) });
      assert.equal(r0.status, 200);
      const token = r0.body;
      const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp;
      let r = await sql(srv, 'RETURN $auth', { headers: bearer(token) });
      assert.equal(r.status, 200);
      assert.equal(r.json[0].result, 'service_account:cart');
      // the server compares whole seconds: expired once exp < now
      const wait = (exp + 1) * 1000 - Date.now() + 50;
      await new Promise((res) => setTimeout(res, Math.max(0, wait)));
      r = await sql(srv, 'RETURN $auth', { headers: bearer(token) });
      assert.equal(r.status, 401);
      assert.equal(r.body, 'The token has expired');
    });
  });

  describe('anonymous requests (no Authorization)', () => {
    it('are evaluated without any role: reads follow PERMISSIONS, writes and definitions are refused', async () => {
      const r = await sql(srv, `RETURN $auth; SELECT VALUE name FROM product:tee_blue; SELECT * FROM service_account;
        CREATE product:anon SET name = 'x', price = 1; DEFINE TABLE anon_table; INFO FOR DB; RETURN 1 + 1`, NSDB);
      assert.equal(r.status, 200);
      const [auth, visible, hidden, write, define, info, plain] = r.json;
      assert.equal(auth.result, null);
      assert.deepEqual(visible.result, ['Blue Tee']);
      assert.deepEqual(hidden.result, [], 'PERMISSIONS NONE hides the table');
      assert.equal(write.status, 'ERR');
      assert.equal(write.result, 'An error occurred: permission denied: NONE may not write table product');
      assert.equal(define.kind, 'NotAllowed');
      assert.equal(info.kind, 'NotAllowed');
      assert.equal(plain.result, 2);
      const check = await sql(srv, 'SELECT * FROM product:anon', { headers: rootAuth(), ...NSDB });
      assert.deepEqual(check.json[0].result, []);
    });

    it('cannot create root users', async () => {
      const r = await sql(srv, `DEFINE USER evil ON ROOT PASSWORD 'x' ROLES OWNER`);
      assert.equal(r.json[0].status, 'ERR');
      const check = await sql(srv, 'RETURN (INFO FOR ROOT).users', { headers: rootAuth() });
      assert.equal(check.json[0].result.evil, undefined);
    });

    it('an unknown Authorization scheme is treated as anonymous, like the server', async () => {
      const r = await sql(srv, 'RETURN $auth; DEFINE TABLE x2', { headers: { authorization: 'Token abc' } });
      assert.equal(r.status, 200);
      assert.equal(r.json[1].kind, 'NotAllowed');
    });
  });
});
