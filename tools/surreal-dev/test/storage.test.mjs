import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, request, sql, rootSql, rootAuth, basic, SERVER } from './helpers.mjs';

describe('storage and process', () => {
  it('surrealkv:// keeps data (and the root user) across a restart', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'surreal-dev-test-'));
    const dbPath = path.join(dir, 'data');
    try {
      let srv = await startServer({ storage: `surrealkv://${dbPath}` });
      assert.equal(srv.label, `surrealkv://${dbPath}`);
      await rootSql(srv, `CREATE product:kept SET name = 'kept', n = 42`);
      let exit = await srv.stop('SIGTERM');
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(existsSync(dbPath));

      // restarted without --user/--pass: the stored root user still signs in
      srv = await startServer({ storage: `surrealkv://${dbPath}`, user: null });
      const r = await sql(srv, 'SELECT name, n FROM product:kept', { headers: rootAuth() });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json[0].result, [{ n: 42, name: 'kept' }]);
      exit = await srv.stop('SIGINT');
      assert.deepEqual(exit, { code: 0, signal: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('relative surrealkv paths are resolved against the working directory', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'surreal-dev-rel-'));
    try {
      const srv = await startServer({ storage: 'surrealkv://rel-data', cwd: dir });
      assert.equal(srv.label, `surrealkv://${path.join(dir, 'rel-data')}`);
      await srv.stop();
      assert.ok(existsSync(path.join(dir, 'rel-data')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SIGTERM ends the process with exit code 0', async () => {
    const srv = await startServer();
    const r = await request(srv, 'GET', '/status');
    assert.equal(r.status, 200);
    const exit = await srv.stop('SIGTERM');
    assert.equal(exit.code, 0);
    assert.equal(exit.signal, null);
  });

  it('the password given with --pass is stored safely, whatever it contains', async () => {
    const pass = `it's "quoted" \\ and ; REMOVE USER root; --`;
    const srv = await startServer({ user: 'admin', pass });
    try {
      let r = await sql(srv, 'RETURN 1', { headers: { authorization: basic('admin', pass) } });
      assert.equal(r.status, 200);
      r = await sql(srv, 'RETURN object::keys((INFO FOR ROOT).users)', { headers: { authorization: basic('admin', pass) } });
      assert.deepEqual(r.json[0].result, ['admin']);
      r = await sql(srv, 'RETURN 1', { headers: { authorization: basic('admin', 'it') } });
      assert.equal(r.status, 401);
    } finally {
      await srv.stop();
    }
  });

  it('rejects bad command lines with exit code 2', () => {
    for (const args of [['start', '--bogus'], ['start', '--bind', 'nonsense'], ['start', 'postgres://x'], ['frobnicate']]) {
      const r = spawnSync(process.execPath, [SERVER, ...args], { encoding: 'utf8', timeout: 20000 });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /error:/);
    }
  });

  it('honours SURREAL_BIND / SURREAL_USER / SURREAL_PASS / SURREAL_PATH', async () => {
    const srv = await startServer({ user: null, bind: null, storage: null, env: { SURREAL_BIND: '127.0.0.1:0', SURREAL_USER: 'envroot', SURREAL_PASS: 'envpw', SURREAL_PATH: 'memory' } });
    try {
      assert.equal(srv.label, 'memory');
      const r = await sql(srv, 'RETURN 1', { headers: { authorization: basic('envroot', 'envpw') } });
      assert.equal(r.status, 200);
    } finally {
      await srv.stop();
    }
  });
});
