#!/usr/bin/env node
// surreal-dev: the real SurrealDB 3 engine (@surrealdb/node) behind the subset of
// SurrealDB's HTTP API that Cartbot uses. CLI shaped like `surreal start`.
//
//   node server.mjs start [--bind 127.0.0.1:8000] [--user root] [--pass root]
//                         [--log info|warn|error|debug] [--unauthenticated]
//                         [--no-identification-headers] [memory | surrealkv://PATH]

import http from 'node:http';
import path from 'node:path';
import { Engine } from './lib/engine.mjs';
import { createHandler } from './lib/http.mjs';

const USAGE = `Usage: surreal-dev start [OPTIONS] [PATH]

Start the SurrealDB 3 engine behind SurrealDB's HTTP API (/status /health /version /sql /signin)

Arguments:
  [PATH]  memory | surrealkv://PATH | surrealkv+versioned://PATH | rocksdb://PATH
          (relative paths are relative to the working directory) [env: SURREAL_PATH] [default: memory]

Options:
  -b, --bind <HOST:PORT>          listen address, port 0 = any free port [env: SURREAL_BIND] [default: 127.0.0.1:8000]
  -u, --user <USER>               root user created when no root user exists [env: SURREAL_USER]
  -p, --pass <PASS>               its password [env: SURREAL_PASS]
  -l, --log <LEVEL>               error | warn | info | debug | trace [env: SURREAL_LOG] [default: info]
      --unauthenticated           anonymous requests get full rights (like surreal start --unauthenticated)
      --no-identification-headers do not send the server / surreal-version headers
  -h, --help                      print this help
`;

const LEVELS = { none: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5, full: 5 };

function parseArgs(argv) {
  const env = process.env;
  const o = {
    bind: env.SURREAL_BIND || '127.0.0.1:8000',
    user: env.SURREAL_USER || undefined,
    pass: env.SURREAL_PASS || undefined,
    log: env.SURREAL_LOG || 'info',
    unauthenticated: /^(1|true|yes)$/i.test(env.SURREAL_UNAUTHENTICATED || ''),
    noIdentificationHeaders: /^(1|true|yes)$/i.test(env.SURREAL_NO_IDENTIFICATION_HEADERS || ''),
    path: env.SURREAL_PATH || 'memory',
  };
  const args = [...argv];
  if (args[0] === 'start') args.shift();
  else if (args[0] === '-h' || args[0] === '--help' || args[0] === 'help') return { help: true };
  else if (args.length && !args[0].startsWith('-')) throw new Error(`unknown command '${args[0]}' (only 'start' is supported)`);
  let positional = null;
  for (let i = 0; i < args.length; i++) {
    let a = args[i];
    let val = null;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    if (eq > 0) { val = a.slice(eq + 1); a = a.slice(0, eq); }
    const next = () => {
      if (val !== null) return val;
      if (i + 1 >= args.length) throw new Error(`missing value for ${a}`);
      return args[++i];
    };
    switch (a) {
      case '-b': case '--bind': o.bind = next(); break;
      case '-u': case '--user': case '--username': o.user = next(); break;
      case '-p': case '--pass': case '--password': o.pass = next(); break;
      case '-l': case '--log': o.log = next(); break;
      case '--unauthenticated': o.unauthenticated = true; break;
      case '--no-identification-headers': o.noIdentificationHeaders = true; break;
      case '-h': case '--help': return { help: true };
      default:
        if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
        if (positional !== null) throw new Error(`unexpected argument ${a}`);
        positional = a;
    }
  }
  if (positional !== null) o.path = positional;
  if (!(o.log in LEVELS)) throw new Error(`invalid log level '${o.log}'`);
  if ((o.user === undefined) !== (o.pass === undefined)) throw new Error('--user and --pass must be given together');
  return o;
}

function parseBind(bind) {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(bind);
  if (!m) throw new Error(`invalid --bind '${bind}' (expected HOST:PORT)`);
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  if (!host || port > 65535) throw new Error(`invalid --bind '${bind}'`);
  return { host, port };
}

// memory | mem:// | surrealkv://PATH | surrealkv+versioned://PATH | rocksdb://PATH
function parseStorage(p) {
  if (p === 'memory' || p === 'mem://' || p === 'mem:') return { endpoint: 'mem://', label: 'memory' };
  const m = /^(surrealkv\+versioned|surrealkv|rocksdb):(?:\/\/)?(.+)$/.exec(p);
  if (!m) throw new Error(`unsupported storage path '${p}' (use memory or surrealkv://PATH)`);
  const abs = path.resolve(m[2]);
  // the SDK parses the endpoint as a URL: keep the path free of characters a URL would rewrite
  if (/[\s%?#\\]/.test(abs)) throw new Error(`storage path '${abs}' must not contain spaces, '%', '?', '#' or '\\'`);
  return { endpoint: `${m[1]}://${abs}`, label: `${m[1]}://${abs}` };
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`error: ${e.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (o.help) {
    process.stdout.write(USAGE);
    return;
  }
  const level = LEVELS[o.log];
  const log = (lvl, msg) => {
    if (LEVELS[lvl] <= level) process.stderr.write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} surreal-dev: ${msg}\n`);
  };

  let bind;
  let storage;
  try {
    bind = parseBind(o.bind);
    storage = parseStorage(o.path);
  } catch (e) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(2);
  }

  const engine = await Engine.open(storage.endpoint, { unauthenticated: o.unauthenticated, log });
  log('info', `engine ${engine.versionString} started (${storage.label})`);
  if (o.user !== undefined) await engine.initialiseCredentials(o.user, o.pass);
  else if (!o.unauthenticated) log('warn', 'no --user/--pass given: only existing users can authenticate');

  const server = http.createServer({ keepAlive: true }, createHandler(engine, { log, noIdentificationHeaders: o.noIdentificationHeaders }));
  // hyper keeps idle keep-alive connections open; so do we (nginx upstream keepalive)
  server.keepAliveTimeout = 0;
  server.headersTimeout = 60000;
  server.requestTimeout = 0;
  server.on('upgrade', (req, socket) => {
    socket.end('HTTP/1.1 501 Not Implemented\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\ncontent-length: 53\r\n\r\nsurreal-dev does not implement the WebSocket protocol');
  });
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const hostShown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  process.stderr.write(`surreal-dev listening on ${hostShown}:${addr.port} (${storage.label})\n`);

  let stopping = false;
  const stop = async (sig) => {
    if (stopping) {
      log('warn', `${sig} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log('info', `${sig} received: shutting down`);
    server.close();
    server.closeAllConnections();
    try {
      await engine.close();
    } catch (e) {
      log('error', `closing the engine failed: ${e.message}`);
      process.exit(1);
    }
    log('info', 'stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e) => {
  process.stderr.write(`surreal-dev: fatal: ${e.stack || e.message}\n`);
  process.exit(1);
});
