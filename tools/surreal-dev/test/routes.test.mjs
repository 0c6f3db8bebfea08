import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, request, rootAuth } from './helpers.mjs';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('routes', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv?.stop(); });

  it('prints the real port when bound to port 0', () => {
    assert.ok(srv.port > 0 && srv.port !== 8000);
    assert.equal(srv.label, 'memory');
  });

  it('GET /status is an empty 200 with identification headers', async () => {
    const r = await request(srv, 'GET', '/status');
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
    assert.equal(r.headers.server, 'SurrealDB');
    assert.equal(r.headers['surreal-version'], 'surrealdb/3.0.2');
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.equal(r.headers['content-type'], undefined);
    assert.match(r.headers['x-request-id'], UUID_RE, 'a request id is generated when none is sent');
  });

  it('echoes x-request-id', async () => {
    const r = await request(srv, 'GET', '/status', { headers: { 'x-request-id': 'req-42' } });
    assert.equal(r.headers['x-request-id'], 'req-42');
  });

  it('GET /health is an empty 200', async () => {
    const r = await request(srv, 'GET', '/health');
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
  });

  it('GET /version answers with the engine version as text', async () => {
    const r = await request(srv, 'GET', '/version');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'surrealdb-3.0.2');
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
  });

  it('HEAD on a GET route has headers but no body', async () => {
    const r = await request(srv, 'HEAD', '/version');
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
    assert.equal(r.headers['content-length'], '15');
  });

  it('unknown paths are 404 with an empty body', async () => {
    for (const p of ['/nope', '/rpc2', '/sql/x', '/SQL']) {
      const r = await request(srv, 'GET', p);
      assert.equal(r.status, 404, p);
      assert.equal(r.body, '');
    }
  });

  it('a wrong method is 405 with an allow header', async () => {
    let r = await request(srv, 'POST', '/status', { body: 'x' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET,HEAD');
    r = await request(srv, 'PUT', '/sql', { body: 'x' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'OPTIONS,GET,HEAD,POST');
    r = await request(srv, 'GET', '/signin');
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'OPTIONS,POST');
  });

  it('GET /sql without a WebSocket upgrade is rejected like axum does', async () => {
    const r = await request(srv, 'GET', '/sql');
    assert.equal(r.status, 400);
    assert.equal(r.body, "Connection header did not include 'upgrade'");
  });

  it('OPTIONS is answered by the CORS layer', async () => {
    const r = await request(srv, 'OPTIONS', '/sql', { headers: { origin: 'http://x', 'access-control-request-method': 'POST' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-methods'], 'GET,PUT,POST,PATCH,DELETE,OPTIONS');
    assert.match(r.headers['access-control-allow-headers'], /surreal-ns,surreal-db,surreal-id,surreal-auth-ns,surreal-auth-db/);
    assert.equal(r.headers['access-control-max-age'], '86400');
  });

  it('GET / redirects to Surrealist', async () => {
    const r = await request(srv, 'GET', '/');
    assert.equal(r.status, 307);
    assert.equal(r.headers.location, 'https://surrealdb.com/surrealist');
  });

  it('authentication runs before routing: a bad password fails even /status', async () => {
    const r = await request(srv, 'GET', '/status', { headers: { authorization: 'Basic ' + Buffer.from('root:nope').toString('base64'), 'x-request-id': 'r1' } });
    assert.equal(r.status, 401);
    assert.equal(r.body, 'The password did not verify');
    assert.equal(r.headers.server, undefined, 'the auth layer sits outside the identification headers');
    assert.equal(r.headers['x-request-id'], 'r1');
    const ok = await request(srv, 'GET', '/status', { headers: rootAuth() });
    assert.equal(ok.status, 200);
  });

  it('an invalid surreal-id header is refused by the auth layer', async () => {
    const r = await request(srv, 'GET', '/status', { headers: { 'surreal-id': 'not-a-uuid' } });
    assert.equal(r.status, 401);
    assert.equal(r.body, 'The request body contains invalid data');
  });
});
