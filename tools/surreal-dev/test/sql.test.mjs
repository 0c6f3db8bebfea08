import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { startServer, request, sql, rootSql, rootAuth, TIME_RE } from './helpers.mjs';

const PARSE_DESCRIPTION = 'There is a problem with your request. Refer to the documentation for further information.';

describe('POST /sql', () => {
  let srv;
  before(async () => {
    srv = await startServer();
    await rootSql(srv, 'DEFINE TABLE product SCHEMALESS; CREATE product:p1 SET name = "one";');
  });
  after(async () => { await srv?.stop(); });

  it('answers one entry per statement with result/status/time/type', async () => {
    const r = await sql(srv, 'RETURN 1; RETURN "two"', { headers: rootAuth() });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.json.length, 2);
    for (const e of r.json) {
      assert.deepEqual(Object.keys(e), ['result', 'status', 'time', 'type']);
      assert.equal(e.status, 'OK');
      assert.equal(e.type, null);
      assert.match(e.time, TIME_RE);
    }
    assert.equal(r.json[0].result, 1);
    assert.equal(r.json[1].result, 'two');
    assert.match(r.body, /^\[\{"result":1,"status":"OK","time":"[^"]+","type":null\},/);
  });

  it('reports failing statements as ERR entries with kind and details', async () => {
    const r = await sql(srv, 'THROW "boom"; SELECT * FROM nosuch; CREATE person:1; CREATE person:1;', { headers: rootAuth() });
    assert.equal(r.status, 200);
    const [thrown, notFound, created, exists] = r.json;
    assert.deepEqual(Object.keys(thrown), ['kind', 'result', 'status', 'time', 'type']);
    assert.equal(thrown.kind, 'Thrown');
    assert.equal(thrown.result, 'An error occurred: boom');
    assert.equal(thrown.status, 'ERR');
    assert.equal(thrown.type, null);
    assert.deepEqual(notFound.details, { details: { name: 'nosuch' }, kind: 'Table' });
    assert.equal(notFound.kind, 'NotFound');
    assert.equal(notFound.result, "The table 'nosuch' does not exist");
    assert.equal(created.status, 'OK');
    assert.deepEqual(created.result, [{ id: 'person:1' }]);
    assert.equal(exists.kind, 'AlreadyExists');
    assert.deepEqual(exists.details, { details: { id: 'person:1' }, kind: 'Record' });
    assert.equal(exists.result, 'Database record `person:1` already exists');
  });

  it('keeps the transaction result quirks of the engine', async () => {
    let r = await sql(srv, 'BEGIN; CREATE t:5; COMMIT;', { headers: rootAuth() });
    assert.equal(r.json.length, 3);
    assert.deepEqual(r.json.map((e) => e.status), ['OK', 'OK', 'OK']);
    assert.equal(r.json[0].result, null);
    r = await sql(srv, 'BEGIN; RETURN 1; THROW "x"; RETURN 2; COMMIT;', { headers: rootAuth() });
    assert.deepEqual(r.json.map((e) => e.result), [null, 1, null]);
  });

  it('answers a parse error with the 400 JSON object', async () => {
    const r = await sql(srv, 'RETURN 1 1', { headers: rootAuth() });
    assert.equal(r.status, 400);
    assert.deepEqual(Object.keys(r.json), ['code', 'details', 'description', 'information']);
    assert.equal(r.json.code, 400);
    assert.equal(r.json.details, 'Request problems dectected');
    assert.equal(r.json.description, PARSE_DESCRIPTION);
    assert.match(r.json.information, /^Parse error: Unexpected token `a number`, expected Eof\n --> \[1:10\]/);
  });

  it('answers Accept: text/plain with 415, after running the statements like the server', async () => {
    const r = await sql(srv, 'CREATE product:via_text SET name = "t"', { headers: rootAuth(), accept: 'text/plain' });
    assert.equal(r.status, 415);
    assert.equal(r.body, '{"code":415,"details":"Unsupported media type","description":"The request needs to adhere to certain constraints. Refer to the documentation for supported content types."}');
    const check = await sql(srv, 'SELECT VALUE name FROM product:via_text', { headers: rootAuth() });
    assert.deepEqual(check.json[0].result, ['t']);
  });

  it('treats Accept */* and a missing Accept as JSON; rejects an unparsable Accept', async () => {
    for (const accept of ['*/*', null, 'application/json; charset=utf-8']) {
      const r = await sql(srv, 'RETURN 7', { headers: rootAuth(), accept });
      assert.equal(r.status, 200, String(accept));
      assert.equal(r.json[0].result, 7);
    }
    const bad = await sql(srv, 'RETURN 7', { headers: rootAuth(), accept: 'application/xml' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body, 'invalid HTTP header (accept)');
  });

  it('binds every URL parameter as a string variable', async () => {
    const r = await sql(srv, 'RETURN [type::of($s), type::of($n)]; RETURN [$s, $n, $sp]', { headers: rootAuth(), query: { s: 'x', n: '5', sp: 'a b' } });
    assert.deepEqual(r.json[0].result, ['string', 'string']);
    assert.deepEqual(r.json[1].result, ['x', '5', 'a b']);
    const plus = await request(srv, 'POST', '/sql?q=a+b%2Bc', { headers: { ...rootAuth(), accept: 'application/json' }, body: 'RETURN $q' });
    assert.deepEqual(JSON.parse(plus.body)[0].result, 'a b+c', 'form-urlencoded: + is a space');
  });

  it('never interprets parameter values as SurrealQL', async () => {
    const values = { a: "'; DELETE product; --", b: 'product:p1', c: '$other', d: '2024-01-01T00:00:00Z', e: '{"x":1}' };
    const r = await sql(srv, 'RETURN [$a, $b, $c, $d, $e]; RETURN [type::of($b), type::of($d)]; SELECT VALUE name FROM product:p1', { headers: rootAuth(), query: values, ns: 'test', db: 'test' });
    assert.deepEqual(r.json[0].result, Object.values(values));
    assert.deepEqual(r.json[1].result, ['string', 'string']);
    assert.deepEqual(r.json[2].result, ['one'], 'product table untouched');
    const cast = await sql(srv, 'RETURN [<int>$n + 1, type::record($p)]', { headers: rootAuth(), query: { n: '41', p: 'product:p1' } });
    assert.deepEqual(cast.json[0].result, [42, 'product:p1']);
  });

  it('refuses protected variable names like the server (400)', async () => {
    const r = await sql(srv, 'RETURN $auth', { headers: rootAuth(), query: { auth: 'x' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.information, "'auth' is a protected variable and cannot be set");
  });

  it('renders values like the server JSON (floats, ids, datetimes, uuids, durations, decimals, bytes, geometry)', async () => {
    const r = await sql(srv, `RETURN [1, 1.0, 39f, 0.1, 1e16f, 1.5e-7f, -0.0f, 1.5dec, NONE, NULL, 1h30m, 90s, <bytes>"ab",
      d"2024-01-02T03:04:05.120Z", d"2024-01-02T03:04:05Z", u"0191c7b6-0000-7000-8000-000000000000", (1, 2),
      product:tee_blue, cart:[user_session:s1, product:p1], user_session:\`a1b2-c3\`, user_session:\`42\`, user_session:42,
      x:u"0191c7b6-0000-7000-8000-000000000000", t:{ a: 1, b: 'q' }, t:['x y', 1.5f, 2dec], 1..3, person:1..5, <set>[3,1]]`, { headers: rootAuth() });
    assert.equal(r.status, 200);
    const text = r.body.slice(r.body.indexOf('"result":') + 9, r.body.indexOf(',"status"'));
    assert.equal(text, '[1,1.0,39.0,0.1,1e+16,1.5e-7,-0.0,"1.5",null,null,"1h30m","1m30s",[97,98],'
      + '"2024-01-02T03:04:05.120Z","2024-01-02T03:04:05Z","0191c7b6-0000-7000-8000-000000000000",{"coordinates":[1.0,2.0],"type":"Point"},'
      + '"product:tee_blue","cart:[user_session:s1, product:p1]","user_session:`a1b2-c3`","user_session:`42`","user_session:42",'
      + `"x:u'0191c7b6-0000-7000-8000-000000000000'","t:{ a: 1, b: 'q' }","t:['x y', 1.5f, 2dec]","1..3","person:1..5",[1,3]]`);
  });

  it('keeps object keys in the engine (sorted) order', async () => {
    const r = await sql(srv, 'RETURN { b: 1, a: 2, "10": 3, "2": 4 }', { headers: rootAuth() });
    assert.match(r.body, /"result":\{"10":3,"2":4,"a":2,"b":1\}/);
  });

  it('refuses LIVE and KILL like an HTTP session does', async () => {
    const r = await sql(srv, 'LIVE SELECT * FROM product; RETURN 1', { headers: rootAuth() });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json[0].details, { kind: 'LiveQueryNotSupported' });
    assert.equal(r.json[0].kind, 'Configuration');
    assert.equal(r.json[0].result, 'Unable to perform the realtime query');
    assert.equal(r.json[0].type, 'live');
    assert.equal(r.json[1].result, 1);
  });

  it('fails statements without a namespace like the server', async () => {
    const r = await sql(srv, 'SELECT * FROM product', { headers: rootAuth(), ns: null, db: null });
    assert.equal(r.status, 200);
    assert.equal(r.json[0].status, 'ERR');
    assert.equal(r.json[0].result, 'Specify a namespace to use');
  });

  it('limits the body to 1 MiB (413)', async () => {
    const big = 'RETURN 1;' + ' '.repeat(1 << 20);
    const r = await request(srv, 'POST', '/sql', { headers: { ...rootAuth(), accept: 'application/json' }, body: big });
    assert.equal(r.status, 413);
    assert.equal(r.body, 'length limit exceeded');
  });

  it('rejects a body that is not UTF-8', async () => {
    const r = await request(srv, 'POST', '/sql', { headers: { ...rootAuth(), accept: 'application/json' }, body: Buffer.from([0x52, 0xff, 0xfe]) });
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body).information, 'Non UTF-8 request body');
  });

  it('answers Accept: application/cbor with CBOR', async () => {
    const r = await sql(srv, 'RETURN 1; RETURN 2', { headers: rootAuth(), accept: 'application/cbor' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/cbor');
    assert.equal(r.raw[0], 0x82, 'a CBOR array of two entries');
    assert.ok(r.raw.includes(Buffer.from('status')));
  });

  it('compresses bodies of 512 bytes and more when asked to', async () => {
    const q = 'RETURN array::repeat("abcdefgh", 200)';
    const plain = await sql(srv, q, { headers: rootAuth() });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.match(plain.headers.vary, /accept-encoding/);
    const gz = await sql(srv, q, { headers: { ...rootAuth(), 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    const unzipped = JSON.parse(zlib.gunzipSync(gz.raw).toString());
    assert.equal(unzipped[0].result.length, 200);
    assert.deepEqual(unzipped[0].result, plain.json[0].result);
    const small = await sql(srv, 'RETURN 1', { headers: { ...rootAuth(), 'accept-encoding': 'gzip' } });
    assert.equal(small.headers['content-encoding'], undefined);
  });
});
