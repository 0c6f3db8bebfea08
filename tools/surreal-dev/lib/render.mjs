// Renders decoded SurrealDB values (lib/cbor.mjs) exactly like SurrealDB 3.0.2's
// HTTP JSON output: `Value::into_json_value()` (surrealdb/types/src/value/into_json.rs)
// serialised by serde_json 1.0.149 (floats through zmij 1.0.16), plus the
// SurrealQL text form (`ToSql`) used for record ids, ranges and files.

import {
  NONE, F64, Table, RecordId, Uuid, Decimal, Datetime, Duration, Range, Bound,
  File, SetV, Geometry, Tagged,
} from './cbor.mjs';

// ---------------------------------------------------------------------------
// Floating point formatting

// Shortest round-trip decimal digits and the decimal exponent of the first digit.
function shortest(x) {
  // toExponential() without an argument yields the shortest round-trip digits
  const s = Math.abs(x).toExponential();
  const e = s.indexOf('e');
  const mant = s.slice(0, e);
  const exp = Number(s.slice(e + 1));
  const digits = mant.length > 1 ? mant[0] + mant.slice(2) : mant;
  return { digits, exp };
}

// serde_json 1.0.149 -> zmij 1.0.16 `format_finite` (non-finite -> JSON null)
export function jsonFloat(x) {
  if (!Number.isFinite(x)) return 'null';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const { digits, exp } = shortest(x);
  const len = digits.length;
  if (exp >= -5 && exp <= 15) {
    if (len - 1 <= exp) return sign + digits + '0'.repeat(exp - len + 1) + '.0';
    if (exp >= 0) return sign + digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
    return sign + '0.' + '0'.repeat(-exp - 1) + digits;
  }
  const m = len > 1 ? digits[0] + '.' + digits.slice(1) : digits;
  return sign + m + 'e' + (exp >= 0 ? '+' : '-') + Math.abs(exp);
}

// Rust `impl Display for f64` (never uses an exponent; "1" for 1.0, "-0" for -0.0)
export function rustFloat(x) {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  const { digits, exp } = shortest(x);
  const len = digits.length;
  if (exp >= len - 1) return sign + digits + '0'.repeat(exp - len + 1);
  if (exp >= 0) return sign + digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
  return sign + '0.' + '0'.repeat(-exp - 1) + digits;
}

// ---------------------------------------------------------------------------
// Datetime / duration / uuid

function pad(n, w) {
  const s = String(n);
  return s.length >= w ? s : '0'.repeat(w - s.length) + s;
}

// chrono `to_rfc3339_opts(SecondsFormat::AutoSi, true)`
export function datetimeString(dt) {
  if (dt.str !== null && dt.str !== undefined) return dt.str;
  const secs = Number(dt.secs);
  const nanos = dt.nanos | 0;
  const d = new Date(secs * 1000);
  if (Number.isNaN(d.getTime())) return String(dt.secs);
  const y = d.getUTCFullYear();
  let ys;
  if (y >= 0 && y <= 9999) ys = pad(y, 4);
  else ys = (y < 0 ? '-' : '+') + pad(Math.abs(y), 4);
  let frac = '';
  if (nanos !== 0) {
    if (nanos % 1000000 === 0) frac = '.' + pad(nanos / 1000000, 3);
    else if (nanos % 1000 === 0) frac = '.' + pad(nanos / 1000, 6);
    else frac = '.' + pad(nanos, 9);
  }
  return `${ys}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}${frac}Z`;
}

const SECONDS_PER_YEAR = 365n * 86400n;
const SECONDS_PER_WEEK = 7n * 86400n;
const SECONDS_PER_DAY = 86400n;

// surrealdb_types::Duration Display / fmt_sql_internal
export function durationString(du) {
  if (du.str !== null && du.str !== undefined) return du.str;
  let secs = BigInt(du.secs);
  let nano = du.nanos | 0;
  if (secs === 0n && nano === 0) return '0ns';
  const year = secs / SECONDS_PER_YEAR; secs %= SECONDS_PER_YEAR;
  const week = secs / SECONDS_PER_WEEK; secs %= SECONDS_PER_WEEK;
  const days = secs / SECONDS_PER_DAY; secs %= SECONDS_PER_DAY;
  const hour = secs / 3600n; secs %= 3600n;
  const mins = secs / 60n; secs %= 60n;
  const msec = Math.floor(nano / 1000000); nano %= 1000000;
  const usec = Math.floor(nano / 1000); nano %= 1000;
  let out = '';
  if (year > 0n) out += year + 'y';
  if (week > 0n) out += week + 'w';
  if (days > 0n) out += days + 'd';
  if (hour > 0n) out += hour + 'h';
  if (mins > 0n) out += mins + 'm';
  if (secs > 0n) out += secs + 's';
  if (msec > 0) out += msec + 'ms';
  if (usec > 0) out += usec + 'µs';
  if (nano > 0) out += nano + 'ns';
  return out;
}

export function uuidString(u) {
  if (!u.bytes) return String(u.str).toLowerCase();
  const h = Buffer.from(u.bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---------------------------------------------------------------------------
// SurrealQL text form (ToSql, single line)

const SIMPLE_IDENT = /^[A-Za-z0-9_]+$/;

// utils/escape.rs EscapeWriter
function escapeChars(s, quote) {
  let out = '';
  for (const c of s) {
    switch (c) {
      case '\0': out += '\\0'; break;
      case '\r': out += '\\r'; break;
      case '\t': out += '\\t'; break;
      case '\n': out += '\\n'; break;
      case '\b': out += '\\u{8}'; break;
      case '\f': out += '\\f'; break;
      case '\\': out += '\\\\'; break;
      default:
        out += c === quote ? '\\' + c : c;
    }
  }
  return out;
}

// QuoteStr: single quotes unless the string contains one
export function quoteStr(s) {
  const q = s.includes("'") ? '"' : "'";
  return q + escapeChars(s, q) + q;
}

// EscapeSqonIdent (tables): backticks unless [A-Za-z0-9_]+ not starting with a digit
export function escapeIdent(s) {
  if (s.length === 0 || (s.charCodeAt(0) >= 48 && s.charCodeAt(0) <= 57) || !SIMPLE_IDENT.test(s)) {
    return '`' + escapeChars(s, '`') + '`';
  }
  return s;
}

// EscapeObjectKey: double quotes unless [A-Za-z0-9_]+ not starting with a digit
function escapeObjectKey(s) {
  if (s.length === 0 || (s.charCodeAt(0) >= 48 && s.charCodeAt(0) <= 57) || !SIMPLE_IDENT.test(s)) {
    return '"' + escapeChars(s, '"') + '"';
  }
  return s;
}

// EscapeRecordKey: backticks if empty, has a non [A-Za-z0-9_] char, or only digits/underscores
function escapeRecordKey(s) {
  if (s.length === 0 || !SIMPLE_IDENT.test(s) || /^[0-9_]*$/.test(s)) {
    return '`' + escapeChars(s, '`') + '`';
  }
  return s;
}

function fileInner(v, escapeSlash) {
  let out = '';
  for (const c of v) {
    if (/^[A-Za-z0-9._-]$/.test(c) || (!escapeSlash && c === '/')) out += c;
    else out += '\\' + c;
  }
  return out;
}

function geoFloat(x) {
  // value/format.rs F
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return rustFloat(x) + 'f';
}

function num(v) {
  return v instanceof F64 ? v.v : Number(v);
}

function geoPoint(p) {
  const d = p instanceof Geometry ? p.data : p;
  return [num(d[0]), num(d[1])];
}

function geoLine(l) {
  const d = l instanceof Geometry ? l.data : l;
  return d.map(geoPoint);
}

function geoPolygon(pg) {
  const d = pg instanceof Geometry ? pg.data : pg;
  return d.map(geoLine);
}

function ptsSql(pts) {
  return '[' + pts.map(([x, y]) => `[${geoFloat(x)}, ${geoFloat(y)}]`).join(', ') + ']';
}

function geometrySql(g) {
  switch (g.kind) {
    case 'Point': { const [x, y] = geoPoint(g); return `(${geoFloat(x)}, ${geoFloat(y)})`; }
    case 'LineString': return `{ type: 'LineString', coordinates: ${ptsSql(geoLine(g))} }`;
    case 'Polygon': return `{ type: 'Polygon', coordinates: [${geoPolygon(g).map(ptsSql).join(', ')}] }`;
    case 'MultiPoint': return `{ type: 'MultiPoint', coordinates: ${ptsSql(g.data.map(geoPoint))} }`;
    case 'MultiLineString': return `{ type: 'MultiLineString', coordinates: [${g.data.map((l) => ptsSql(geoLine(l))).join(', ')}] }`;
    case 'MultiPolygon': return `{ type: 'MultiPolygon', coordinates: [${g.data.map((p) => '[' + geoPolygon(p).map(ptsSql).join(', ') + ']').join(', ')}] }`;
    case 'GeometryCollection': return `{ type: 'GeometryCollection', geometries: [${g.data.map(geometrySql).join(', ')}] }`;
    default: return '';
  }
}

function recordKeySql(k) {
  if (typeof k === 'string') return escapeRecordKey(k);
  if (typeof k === 'number' || typeof k === 'bigint') return String(k);
  if (k instanceof Range) {
    // RecordIdKeyRange: excluded start is written with a leading '>'
    let s = '';
    if (k.start) s += k.start.included ? recordKeySql(k.start.value) : '>' + recordKeySql(k.start.value);
    s += '..';
    if (k.end) s += k.end.included ? '=' + recordKeySql(k.end.value) : recordKeySql(k.end.value);
    return s;
  }
  return toSql(k);
}

export function recordIdSql(r) {
  return escapeIdent(String(r.table)) + ':' + recordKeySql(r.key);
}

export function toSql(v) {
  if (v === NONE || v === undefined) return 'NONE';
  if (v === null) return 'NULL';
  switch (typeof v) {
    case 'boolean': return v ? 'true' : 'false';
    case 'number': case 'bigint': return String(v);
    case 'string': return quoteStr(v);
    default: break;
  }
  if (v instanceof F64) return Number.isFinite(v.v) ? rustFloat(v.v) + 'f' : rustFloat(v.v);
  if (Array.isArray(v)) return '[' + v.map(toSql).join(', ') + ']';
  if (v instanceof Map) {
    if (v.size === 0) return '{  }';
    const parts = [];
    for (const [k, x] of v) parts.push(escapeObjectKey(String(k)) + ': ' + toSql(x));
    return '{ ' + parts.join(', ') + ' }';
  }
  if (v instanceof RecordId) return recordIdSql(v);
  if (v instanceof Table) return escapeIdent(v.name);
  if (v instanceof Uuid) return "u'" + uuidString(v) + "'";
  if (v instanceof Decimal) return v.str + 'dec';
  if (v instanceof Datetime) return 'd' + quoteStr(datetimeString(v));
  if (v instanceof Duration) return durationString(v);
  if (v instanceof Uint8Array) return 'b"' + Buffer.from(v).toString('hex').toUpperCase() + '"';
  if (v instanceof File) return 'f"' + fileInner(v.bucket, true) + ':' + fileInner(v.key, false) + '"';
  if (v instanceof Range) {
    // value Range: excluded start is written with a trailing '>'
    let s = '';
    if (v.start) s += v.start.included ? toSql(v.start.value) : toSql(v.start.value) + '>';
    s += '..';
    if (v.end) s += v.end.included ? '=' + toSql(v.end.value) : toSql(v.end.value);
    return s;
  }
  if (v instanceof SetV) {
    if (v.items.length === 0) return '{,}';
    if (v.items.length === 1) return '{' + toSql(v.items[0]) + ',}';
    return '{' + v.items.map(toSql).join(', ') + '}';
  }
  if (v instanceof Geometry) return geometrySql(v);
  if (v instanceof Bound) return toSql(v.value);
  if (v instanceof Tagged) return toSql(v.value);
  return String(v);
}

// ---------------------------------------------------------------------------
// JSON

function geometryJson(g) {
  // serde_json's Map is a BTreeMap here (no preserve_order): keys sorted
  const pt = (p) => { const [x, y] = geoPoint(p); return '[' + jsonFloat(x) + ',' + jsonFloat(y) + ']'; };
  const line = (l) => '[' + geoLine(l).map(([x, y]) => '[' + jsonFloat(x) + ',' + jsonFloat(y) + ']').join(',') + ']';
  const poly = (p) => '[' + geoPolygon(p).map((ring) => '[' + ring.map(([x, y]) => '[' + jsonFloat(x) + ',' + jsonFloat(y) + ']').join(',') + ']').join(',') + ']';
  switch (g.kind) {
    case 'Point': return '{"coordinates":' + pt(g) + ',"type":"Point"}';
    case 'LineString': return '{"coordinates":' + line(g) + ',"type":"LineString"}';
    case 'Polygon': return '{"coordinates":' + poly(g) + ',"type":"Polygon"}';
    case 'MultiPoint': return '{"coordinates":[' + g.data.map(pt).join(',') + '],"type":"MultiPoint"}';
    case 'MultiLineString': return '{"coordinates":[' + g.data.map(line).join(',') + '],"type":"MultiLineString"}';
    case 'MultiPolygon': return '{"coordinates":[' + g.data.map(poly).join(',') + '],"type":"MultiPolygon"}';
    case 'GeometryCollection': return '{"geometries":[' + g.data.map(geometryJson).join(',') + '],"type":"GeometryCollection"}';
    default: return 'null';
  }
}

const str = JSON.stringify;

export function toJson(v) {
  if (v === null || v === NONE || v === undefined) return 'null';
  switch (typeof v) {
    case 'string': return str(v);
    case 'number': return Number.isFinite(v) ? String(v) : 'null';
    case 'bigint': return v.toString();
    case 'boolean': return v ? 'true' : 'false';
    default: break;
  }
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      if (i) out += ',';
      out += toJson(v[i]);
    }
    return out + ']';
  }
  if (v instanceof Map) {
    // keep the engine's (BTreeMap) order unless it is not sorted
    let keys = [...v.keys()];
    let sorted = true;
    for (let i = 1; i < keys.length; i++) {
      if (cmpKeys(keys[i - 1], keys[i]) > 0) { sorted = false; break; }
    }
    if (!sorted) keys = keys.slice().sort(cmpKeys);
    let out = '{';
    let first = true;
    for (const k of keys) {
      if (!first) out += ',';
      first = false;
      out += str(String(k)) + ':' + toJson(v.get(k));
    }
    return out + '}';
  }
  if (v instanceof F64) return jsonFloat(v.v);
  if (v instanceof RecordId) return str(recordIdSql(v));
  if (v instanceof Datetime) return str(datetimeString(v));
  if (v instanceof Uuid) return str(uuidString(v));
  if (v instanceof Decimal) return str(v.str);
  if (v instanceof Duration) return str(durationString(v));
  if (v instanceof Table) return str(v.name);
  if (v instanceof Uint8Array) {
    let out = '[';
    for (let i = 0; i < v.length; i++) { if (i) out += ','; out += v[i]; }
    return out + ']';
  }
  if (v instanceof SetV) return toJson(v.items);
  if (v instanceof Geometry) return geometryJson(v);
  if (v instanceof Range || v instanceof File) return str(toSql(v));
  if (v instanceof Bound) return toJson(v.value);
  if (v instanceof Tagged) return toJson(v.value);
  if (typeof v === 'object') {
    // plain JS object (internal use)
    return toJson(new Map(Object.entries(v)));
  }
  return 'null';
}

// Rust String ordering (UTF-8 byte order)
const HIGH = /[\ud800-\uffff]/;
function cmpKeys(a, b) {
  a = String(a); b = String(b);
  if (a === b) return 0;
  // UTF-16 order equals UTF-8 byte order except around surrogates
  if (HIGH.test(a) && HIGH.test(b)) return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  return a < b ? -1 : 1;
}
