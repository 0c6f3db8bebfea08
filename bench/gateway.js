/*
 * The gateway's HS256 JWT check written in njs, for bench/gateway.pl only:
 * the comparison that cartbot_jwt is measured against.  Not part of
 * Cartbot and not shipped.  Needs njs 0.7 or later (Debian 12's
 * libnginx-mod-http-js is 0.7.9).
 *
 *     js_import  gateway from /path/to/bench/gateway.js;
 *     js_set     $njs_jwt_ok  gateway.verify;     # "1" or "0"
 *     js_var     $njs_jwt_sub;                    # the token's sub
 *
 *     location = /njs {
 *         if ($njs_jwt_ok != 1) { return 401; }
 *         add_header X-Sub $njs_jwt_sub;
 *         ...
 *     }
 *
 * njs 0.7.9 has no access-phase directive: js_set evaluated by "if" runs
 * in the rewrite phase, which is as early and costs no subrequest (the
 * alternative, auth_request to a js_content location, would be slower).
 *
 * It makes the checks cartbot_jwt makes for an HS256 key bound with
 * alg=HS256 and the settings of conf/cartbot/services.conf: the token
 * from "Authorization: Bearer", at most 8192 bytes, three base64url
 * parts, a JSON object header with alg HS256 (none, other algorithms and
 * "crit" refused, kid and typ strings when present), the HMAC-SHA256
 * signature compared in constant time, then a JSON object payload with a
 * numeric exp (required) and nbf (when present) checked with 30 s of
 * leeway, and iss "cartbot".  It does not refuse repeated names in the
 * JSON (JSON.parse keeps the last), which cartbot_jwt does: if anything
 * that makes the njs side do less work.
 *
 * The secret is read once, when nginx loads the configuration (the
 * top-level code runs in the master and every request's VM is a clone),
 * from the file named by the CARTBOT_BENCH_JWT_KEY environment variable.
 */

import crypto from 'crypto';
import fs from 'fs';

const KEY_FILE = process.env.CARTBOT_BENCH_JWT_KEY;

if (!KEY_FILE) {
    throw new Error('CARTBOT_BENCH_JWT_KEY must name the HS256 key file');
}

const KEY = fs.readFileSync(KEY_FILE);

const MAX_LEN = 8192;
const LEEWAY = 30;
const ISSUERS = ['cartbot'];

const B64URL = /^[A-Za-z0-9_-]+$/;

/* "Authorization: Bearer <token>", as cartbot_jwt takes it */

function bearer(r) {
    const h = r.headersIn.Authorization;

    if (!h || h.length < 7 || h.slice(0, 7).toLowerCase() !== 'bearer ') {
        return '';
    }

    return h.slice(7).trim();
}

/* a base64url part (no padding) to a JSON object, or null */

function jsonObject(part) {
    if (!B64URL.test(part)) {
        return null;
    }

    let v;

    try {
        v = JSON.parse(Buffer.from(part, 'base64url').toString());

    } catch (e) {
        return null;
    }

    return (v !== null && typeof v === 'object' && !Array.isArray(v))
           ? v : null;
}

function equal(a, b) {
    if (a.length !== b.length) {
        return false;
    }

    let d = 0;

    for (let i = 0; i < a.length; i++) {
        d |= a[i] ^ b[i];
    }

    return d === 0;
}

function numericDate(v) {
    return typeof v === 'number' && isFinite(v);
}

/* the claims when the token is valid, else null */

function check(token) {
    if (token.length === 0 || token.length > MAX_LEN) {
        return null;
    }

    const parts = token.split('.');

    if (parts.length !== 3 || parts[0].length === 0
        || parts[1].length === 0 || !B64URL.test(parts[2]))
    {
        return null;
    }

    const header = jsonObject(parts[0]);

    if (header === null || header.alg !== 'HS256' || 'crit' in header
        || ('kid' in header && typeof header.kid !== 'string')
        || ('typ' in header && typeof header.typ !== 'string'))
    {
        return null;
    }

    const mac = crypto.createHmac('sha256', KEY)
                .update(parts[0] + '.' + parts[1]).digest();

    if (!equal(mac, Buffer.from(parts[2], 'base64url'))) {
        return null;
    }

    const claims = jsonObject(parts[1]);

    if (claims === null) {
        return null;
    }

    const now = Math.floor(Date.now() / 1000);

    if (!numericDate(claims.exp) || now - LEEWAY >= claims.exp) {
        return null;
    }

    if ('nbf' in claims
        && (!numericDate(claims.nbf) || claims.nbf > now + LEEWAY))
    {
        return null;
    }

    if (typeof claims.iss !== 'string' || !ISSUERS.includes(claims.iss)) {
        return null;
    }

    return claims;
}

/* js_set $njs_jwt_ok: "1" for a valid token; sets $njs_jwt_sub */

function verify(r) {
    const claims = check(bearer(r));

    if (claims === null) {
        return '0';
    }

    if (typeof claims.sub === 'string') {
        r.variables.njs_jwt_sub = claims.sub;
    }

    return '1';
}

/* js_set $njs_version: for the benchmark's report */

function version(r) {
    return njs.version;
}

export default { verify, version };
