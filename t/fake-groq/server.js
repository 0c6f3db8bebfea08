#!/usr/bin/env node
'use strict';

// A fake Groq server for the tests: the OpenAI-compatible Chat Completions
// API with Groq's wire format as ../shared/reference/groq-api.md records it
// (bodies, headers, SSE framing, error envelopes), plus a control API under
// /_fake/ through which a test scripts the answers and reads back what the
// server received.  Node 20, core modules only.
//
//   node t/fake-groq/server.js --port 0 [--host 127.0.0.1] [--key gsk_...]
//                              [--max-body BYTES] [--tpm TOKENS]
//
// Prints "listening PORT" on stdout once it accepts connections.  See
// t/fake-groq/README for the scripting API.

const http = require('node:http');
const crypto = require('node:crypto');

// --- configuration -------------------------------------------------------

function parseArgs(argv) {
    const opts = { port: 0, host: '127.0.0.1', key: null,
                   maxBody: 4 * 1024 * 1024, tpm: null };

    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = () => {
            if (i + 1 >= argv.length) {
                usage(`${arg} needs a value`);
            }
            return argv[++i];
        };

        if (arg === '--port') {
            opts.port = Number(value());
        } else if (arg === '--host') {
            opts.host = value();
        } else if (arg === '--key') {
            opts.key = value();
        } else if (arg === '--max-body') {
            opts.maxBody = Number(value());
        } else if (arg === '--tpm') {
            opts.tpm = Number(value());
        } else {
            usage(`unknown argument ${arg}`);
        }
    }

    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
        usage('--port must be 0..65535');
    }

    return opts;
}

function usage(message) {
    process.stderr.write(`fake-groq: ${message}\nusage: server.js --port N `
        + '[--host ADDR] [--key gsk_...] [--max-body BYTES] [--tpm N]\n');
    process.exit(2);
}

const cli = parseArgs(process.argv.slice(2));

// what /_fake/config may change; /_fake/reset restores it
const defaults = () => ({ key: cli.key, max_body: cli.maxBody, tpm: cli.tpm,
                          rpd: null, region: 'fake1' });

const state = {
    config: defaults(),
    queue: [],
    requests: [],
    used: new Map(),        // model -> { requests, tokens }
};

// --- models (groq-api.md §1.2, §1.9) -------------------------------------

const MODELS = [
    ['llama-3.1-8b-instant', 'Meta', 14400, 6000, 131072, 131072],
    ['llama-3.3-70b-versatile', 'Meta', 1000, 12000, 131072, 32768],
    ['gemma2-9b-it', 'Google', 14400, 15000, 8192, 8192],
    ['meta-llama/llama-4-maverick-17b-128e-instruct', 'Meta', 1000, 6000,
     131072, 8192],
    ['meta-llama/llama-4-scout-17b-16e-instruct', 'Meta', 1000, 30000,
     131072, 8192],
    ['meta-llama/llama-guard-4-12b', 'Meta', 14400, 15000, 131072, 1024],
    ['meta-llama/llama-prompt-guard-2-22m', 'Meta', 14400, 15000, 512, 512],
    ['meta-llama/llama-prompt-guard-2-86m', 'Meta', 14400, 15000, 512, 512],
    ['moonshotai/kimi-k2-instruct', 'Moonshot AI', 1000, 10000, 131072,
     16384],
    ['moonshotai/kimi-k2-instruct-0905', 'Moonshot AI', 1000, 10000, 262144,
     16384],
    ['openai/gpt-oss-120b', 'OpenAI', 1000, 8000, 131072, 65536],
    ['openai/gpt-oss-20b', 'OpenAI', 1000, 8000, 131072, 65536],
    ['qwen/qwen3-32b', 'Alibaba Cloud', 1000, 6000, 131072, 40960],
    ['qwen/qwen3.6-27b', 'Alibaba Cloud', 1000, 6000, 131072, 40960],
    ['compound-beta', 'Groq', 250, 70000, 131072, 8192],
    ['compound-beta-mini', 'Groq', 250, 70000, 131072, 8192],
    ['groq/compound', 'Groq', 250, 70000, 131072, 8192],
    ['groq/compound-mini', 'Groq', 250, 70000, 131072, 8192],
].map(([id, owner, rpd, tpm, ctx, maxOut]) => ({ id, owner, rpd, tpm, ctx,
                                                 maxOut }));

const MODEL_BY_ID = new Map(MODELS.map((m) => [m.id, m]));

// json_schema is refused on these (groq-api.md §1.6)
const NO_JSON_SCHEMA = new Set(['llama-3.1-8b-instant',
    'llama-3.3-70b-versatile', 'gemma2-9b-it']);

const MODEL_CREATED = 1693721698;

function modelObject(m) {
    return { id: m.id, object: 'model', created: MODEL_CREATED,
             owned_by: m.owner, active: true, context_window: m.ctx,
             public_apps: null, max_completion_tokens: m.maxOut };
}

function limitsOf(model) {
    return { rpd: state.config.rpd ?? model.rpd,
             tpm: state.config.tpm ?? model.tpm };
}

// --- ids -----------------------------------------------------------------

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

function requestId() {
    // "req_" + a 26 character lowercase ULID: 10 of time, 16 random
    let t = Date.now();
    let time = '';
    for (let i = 0; i < 10; i++) {
        time = CROCKFORD[t % 32] + time;
        t = Math.floor(t / 32);
    }
    const bytes = crypto.randomBytes(16);
    let rand = '';
    for (const b of bytes) {
        rand += CROCKFORD[b % 32];
    }
    return `req_${time}${rand}`;
}

function toolCallId() {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    let id = '';
    for (const b of crypto.randomBytes(9)) {
        id += alphabet[b % alphabet.length];
    }
    return id;
}

function randomSeed() {
    return crypto.randomBytes(4).readUInt32BE() & 0x7fffffff;
}

// --- token accounting: deterministic, documented in README ----------------

function tokensOf(text) {
    return Math.ceil(Buffer.byteLength(text, 'utf8') / 4);
}

function messageText(message) {
    const content = message.content;
    if (typeof content === 'string') {
        return content;
    }
    if (Array.isArray(content)) {
        return content.filter((p) => p && p.type === 'text'
            && typeof p.text === 'string').map((p) => p.text).join('');
    }
    return '';
}

// 3 per message, ceil(bytes/4) of its text and of each tool call, 3 for
// the reply's priming, ceil(bytes/4) of the tools as JSON
function promptTokens(body) {
    let n = 3;
    for (const m of body.messages) {
        n += 3 + tokensOf(messageText(m));
        for (const call of m.tool_calls || []) {
            n += tokensOf(String(call.function.name)
                + String(call.function.arguments));
        }
    }
    if (Array.isArray(body.tools) && body.tools.length) {
        n += tokensOf(JSON.stringify(body.tools));
    }
    return n;
}

function completionTokens(content, toolCalls) {
    let n = 0;
    if (typeof content === 'string') {
        n += tokensOf(content);
    }
    for (const call of toolCalls || []) {
        n += tokensOf(call.function.name + call.function.arguments);
    }
    return Math.max(n, 1);
}

// Groq's timing floats, derived from the counts so they are reproducible
function usageOf(prompt, completion) {
    const promptTime = round9(prompt * 0.00002);
    const completionTime = round9(completion * 0.001);
    return {
        queue_time: 0.0125,
        prompt_tokens: prompt,
        prompt_time: promptTime,
        completion_tokens: completion,
        completion_time: completionTime,
        total_tokens: prompt + completion,
        total_time: round9(promptTime + completionTime),
    };
}

function round9(x) {
    return Math.round(x * 1e9) / 1e9;
}

// --- errors (groq-api.md §1.7, §1.8) -------------------------------------

function errorBody(message, type, extra) {
    return { error: Object.assign({ message, type }, extra || {}) };
}

function invalid(message, extra) {
    return errorBody(message, 'invalid_request_error', extra);
}

class HttpError extends Error {
    constructor(status, body) {
        super(body.error ? body.error.message : String(status));
        this.status = status;
        this.body = body;
    }
}

function bad(message, extra) {
    return new HttpError(400, invalid(message, extra));
}

function modelNotFound(id) {
    return new HttpError(404, invalid(`The model \`${id}\` does not exist or `
        + 'you do not have access to it.', { code: 'model_not_found' }));
}

const ORG = 'org_01fakegroq0000000000000000';
const UPGRADE = 'Need more tokens? Upgrade to Dev Tier today at '
    + 'https://console.groq.com/settings/billing';

function rateLimitBody(model, limits, used, requested, kind, wait) {
    if (kind === 'requests') {
        return errorBody(`Rate limit reached for model \`${model}\` in `
            + `organization \`${ORG}\` service tier \`on_demand\` on requests `
            + `per day (RPD): Limit ${limits.rpd}, Used ${limits.rpd}, `
            + `Requested 1. Please try again in ${wait}. ${UPGRADE}`,
            'requests', { code: 'rate_limit_exceeded' });
    }
    return errorBody(`Rate limit reached for model \`${model}\` in `
        + `organization \`${ORG}\` service tier \`on_demand\` on tokens per `
        + `minute (TPM): Limit ${limits.tpm}, Used ${used}, Requested `
        + `${requested}. Please try again in ${wait}. ${UPGRADE}`,
        'tokens', { code: 'rate_limit_exceeded' });
}

function tooLargeBody(model, limits, requested) {
    return errorBody(`Request too large for model ${model} in organization `
        + `${ORG} service tier on_demand on tokens per minute (TPM): Limit `
        + `${limits.tpm}, Requested ${requested}, please reduce your message `
        + `size and try again. ${UPGRADE}`, 'tokens',
        { code: 'rate_limit_exceeded' });
}

const BAD_GATEWAY_HTML = '<html>\r\n<head><title>502 Bad Gateway</title>'
    + '</head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n'
    + '<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n';

// the error kinds a scripted answer may name
function scriptedError(kind, answer, ctx) {
    const limits = limitsOf(ctx.model);
    const model = ctx.model.id;

    switch (kind) {
    case 'rate_limit':
    case 'rate_limit_exceeded': {
        const retry = answer.retry_after === undefined ? 2 : answer.retry_after;
        const perRequests = answer.limit === 'requests';
        const headers = {};
        if (retry !== null) {
            headers['retry-after'] = String(retry);
        }
        headers[perRequests ? 'x-ratelimit-remaining-requests'
            : 'x-ratelimit-remaining-tokens'] = '0';
        const wait = typeof retry === 'number'
            ? goDuration(retry) : '2s';
        return { status: 429, headers,
                 body: rateLimitBody(model, limits,
                     Math.max(limits.tpm - ctx.promptTokens, 0),
                     ctx.promptTokens, perRequests ? 'requests' : 'tokens',
                     wait) };
    }
    case 'request_too_large':
        return { status: 413,
                 body: tooLargeBody(model, limits, limits.tpm * 2) };
    case 'invalid_api_key':
        return { status: 401, noRateHeaders: true,
                 body: invalid('Invalid API Key', { code: 'invalid_api_key' }) };
    case 'model_not_found':
        return { status: 404, body: modelNotFound(model).body };
    case 'json_validate_failed':
        return { status: 400, body: invalid('Failed to generate JSON. Please '
            + "adjust your prompt. See 'failed_generation' for more details.",
            { code: 'json_validate_failed',
              failed_generation: answer.failed_generation
                  ?? '```json\n{\n   "intent": "add_to_cart",\n' }) };
    case 'tool_use_failed':
        return { status: 400, body: toolUseFailed(answer) };
    case 'context_length_exceeded':
        return { status: 400, body: invalid('Please reduce the length of the '
            + 'messages or completion.', { param: 'messages',
                                           code: 'context_length_exceeded' }) };
    case 'capacity_exceeded':
        return { status: 498, body: errorBody('Flex tier capacity exceeded. '
            + 'This model is currently at capacity for the flex tier. Please '
            + 'try again later.', 'service_unavailable',
            { code: 'capacity_exceeded' }) };
    case 'server_error':
        return { status: 500, body: errorBody('Internal Server Error',
            'internal_server_error') };
    case 'bad_gateway':
        return { status: 502, contentType: 'text/html',
                 raw: BAD_GATEWAY_HTML };
    case 'service_unavailable':
        return { status: 503, body: errorBody('Service Unavailable',
            'service_unavailable') };
    default:
        throw new HttpError(500, errorBody(`fake-groq: unknown scripted `
            + `error kind "${kind}"`, 'fake_script_error'));
    }
}

function toolUseFailed(answer) {
    return invalid('Failed to call a function. Please adjust your prompt. '
        + "See 'failed_generation' for more details.",
        { code: 'tool_use_failed',
          failed_generation: answer.failed_generation
              ?? 'add_to_cart{"product_query": "blue t-shirt"}</function>' });
}

// a bare status gets the body Groq sends for it
const ERROR_KIND_OF_STATUS = { 400: 'context_length_exceeded',
    401: 'invalid_api_key', 404: 'model_not_found',
    413: 'request_too_large', 429: 'rate_limit', 498: 'capacity_exceeded',
    500: 'server_error', 502: 'bad_gateway', 503: 'service_unavailable' };

// Go's time.Duration.String(), as in x-ratelimit-reset-*
function goDuration(seconds) {
    if (seconds < 1) {
        return `${Math.round(seconds * 1000)}ms`;
    }
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = Math.round((seconds % 60) * 100) / 100;
    return (h ? `${h}h` : '') + (h || m ? `${m}m` : '') + `${s}s`;
}

// --- request validation (groq-api.md §1.1, §1.2, §1.6) -------------------

const REQUEST_FIELDS = ['model', 'messages', 'temperature', 'top_p',
    'max_completion_tokens', 'max_tokens', 'n', 'stop', 'seed', 'stream',
    'stream_options', 'response_format', 'tools', 'tool_choice',
    'parallel_tool_calls', 'disable_tool_validation', 'reasoning_effort',
    'reasoning_format', 'include_reasoning', 'service_tier', 'user',
    'logprobs', 'top_logprobs', 'logit_bias', 'frequency_penalty',
    'presence_penalty', 'metadata', 'store', 'documents', 'citation_options',
    'search_settings', 'compound_custom', 'include_domains',
    'exclude_domains', 'functions', 'function_call'];

const MESSAGE_FIELDS = {
    system: ['role', 'content', 'name'],
    user: ['role', 'content', 'name'],
    assistant: ['role', 'content', 'name', 'tool_calls', 'function_call',
                'reasoning'],
    tool: ['role', 'content', 'tool_call_id', 'name'],
    function: ['role', 'content', 'name'],
};

function editDistance(a, b) {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i]);
    for (let j = 1; j <= b.length; j++) {
        d[0][j] = j;
    }
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
    }
    return d[a.length][b.length];
}

// "property 'store' is unsupported, did you mean 'stop'?" (§1.1)
function unsupported(name, known) {
    let best = null;
    let bestDistance = Infinity;
    for (const k of known) {
        const dist = k.startsWith(name) || name.startsWith(k)
            ? Math.abs(k.length - name.length) : editDistance(name, k);
        if (dist < bestDistance) {
            best = k;
            bestDistance = dist;
        }
    }
    const hint = bestDistance <= Math.max(2, name.length / 3)
        ? `, did you mean '${best}'?` : '';
    return `property '${name}' is unsupported${hint}`;
}

function typeName(v) {
    if (v === null) {
        return 'null';
    }
    if (Array.isArray(v)) {
        return 'array';
    }
    return typeof v;
}

function isObject(v) {
    return typeName(v) === 'object';
}

function expectType(path, value, type) {
    const ok = type === 'integer' ? Number.isInteger(value)
        : type === 'number' ? typeof value === 'number'
        : typeName(value) === type;
    if (!ok) {
        throw bad(`'${path}' : value must be ${type === 'integer'
            || type === 'array' || type === 'object' ? 'an' : 'a'} ${type}`);
    }
}

function expectRange(path, value, min, max) {
    expectType(path, value, 'number');
    if (value < min) {
        throw bad(`'${path}' : number must be at least ${min}`);
    }
    if (value > max) {
        throw bad(`'${path}' : number must be at most ${max}`);
    }
}

function validateMessage(m, i) {
    const path = `messages.${i}`;

    if (!isObject(m)) {
        throw bad(`'${path}' : value must be an object`);
    }
    if (!Object.prototype.hasOwnProperty.call(MESSAGE_FIELDS, m.role)) {
        throw bad(`'${path}' : discriminator property 'role' has invalid `
            + 'value');
    }

    // Groq wraps per-role failures: "'messages.0' : for 'role:user' the
    // following must be satisfied[(...)]"
    const fail = (inner) => bad(`'${path}' : for 'role:${m.role}' the `
        + `following must be satisfied[(${inner})]`);

    for (const k of Object.keys(m)) {
        if (!MESSAGE_FIELDS[m.role].includes(k)) {
            throw fail(`'${path}' : ${unsupported(k, MESSAGE_FIELDS[m.role])}`);
        }
    }

    const hasContent = m.content !== undefined && m.content !== null;

    if (m.role === 'assistant') {
        if (!hasContent && !m.tool_calls) {
            throw fail(`'${path}' : property 'content' is missing`);
        }
    } else if (!hasContent) {
        throw fail(`'${path}' : property 'content' is missing`);
    }

    if (hasContent) {
        const partsAllowed = m.role === 'user' || m.role === 'system';
        const ok = typeof m.content === 'string'
            || (partsAllowed && Array.isArray(m.content)
                && m.content.every((p) => isObject(p)
                    && (p.type === 'text' ? typeof p.text === 'string'
                        : p.type === 'image_url' && m.role === 'user')));
        if (!ok) {
            throw fail(`'${path}.content' : value must be a string`);
        }
    }

    if (m.role === 'tool' && typeof m.tool_call_id !== 'string') {
        throw fail(`'${path}' : property 'tool_call_id' is missing`);
    }

    if (m.tool_calls !== undefined) {
        if (!Array.isArray(m.tool_calls)) {
            throw fail(`'${path}.tool_calls' : value must be an array`);
        }
        m.tool_calls.forEach((c, j) => {
            const cp = `${path}.tool_calls.${j}`;
            if (!isObject(c) || typeof c.id !== 'string'
                || c.type !== 'function' || !isObject(c.function)
                || typeof c.function.name !== 'string'
                || typeof c.function.arguments !== 'string') {
                throw fail(`'${cp}' : value must be a tool call `
                    + '{id, type: function, function: {name, arguments}}');
            }
        });
    }
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

function validateTools(tools) {
    expectType('tools', tools, 'array');
    if (tools.length > 128) {
        throw bad("'tools' : maximum number of items is 128");
    }
    tools.forEach((t, i) => {
        const path = `tools.${i}`;
        if (!isObject(t)) {
            throw bad(`'${path}' : value must be an object`);
        }
        if (t.type === 'browser_search' || t.type === 'code_interpreter') {
            return;
        }
        if (t.type !== 'function') {
            throw bad(`'${path}' : discriminator property 'type' has invalid `
                + 'value');
        }
        if (!isObject(t.function)) {
            throw bad(`'${path}' : property 'function' is missing`);
        }
        for (const k of Object.keys(t)) {
            if (k !== 'type' && k !== 'function') {
                throw bad(`'${path}' : ${unsupported(k, ['type', 'function'])}`);
            }
        }
        const f = t.function;
        if (typeof f.name !== 'string') {
            throw bad(`'${path}.function' : property 'name' is missing`);
        }
        if (!TOOL_NAME.test(f.name)) {
            throw bad(`'${path}.function.name' : does not match pattern `
                + "'^[a-zA-Z0-9_-]{1,64}$'");
        }
        if (f.parameters !== undefined) {
            expectType(`${path}.function.parameters`, f.parameters, 'object');
        }
        for (const k of Object.keys(f)) {
            if (!['name', 'description', 'parameters', 'strict'].includes(k)) {
                throw bad(`'${path}.function' : ${unsupported(k,
                    ['name', 'description', 'parameters', 'strict'])}`);
            }
        }
    });
}

function functionTools(body) {
    return (body.tools || []).filter((t) => t.type === 'function');
}

// returns the function the request forces, or null
function validateToolChoice(body) {
    const choice = body.tool_choice;
    if (choice === undefined) {
        return null;
    }
    const tools = functionTools(body);

    if (typeof choice === 'string') {
        if (!['none', 'auto', 'required'].includes(choice)) {
            throw bad("'tool_choice' : value must be one of 'none', 'auto', "
                + "'required' or a named tool choice");
        }
        if (choice === 'required') {
            if (!tools.length) {
                throw bad("'tool_choice' is 'required' but no tools were "
                    + 'provided');
            }
            return tools[0].function;
        }
        return null;
    }

    if (!isObject(choice) || choice.type !== 'function'
        || !isObject(choice.function)
        || typeof choice.function.name !== 'string') {
        throw bad("'tool_choice' : value must be one of 'none', 'auto', "
            + "'required' or a named tool choice");
    }

    const tool = tools.find((t) => t.function.name === choice.function.name);
    if (!tool) {
        throw bad('requested tool does not exist');
    }
    return tool.function;
}

function mentionsJson(messages) {
    return messages.some((m) => /json/i.test(messageText(m)));
}

function validateResponseFormat(body) {
    const rf = body.response_format;
    if (rf === undefined || rf === null) {
        return 'text';
    }
    expectType('response_format', rf, 'object');
    if (!['text', 'json_object', 'json_schema'].includes(rf.type)) {
        throw bad("'response_format.type' : value must be one of 'text', "
            + "'json_object', 'json_schema'");
    }
    if (rf.type === 'text') {
        return 'text';
    }
    if (functionTools(body).length) {
        throw bad('json mode cannot be combined with tool/function calling');
    }
    if (rf.type === 'json_object') {
        if (!mentionsJson(body.messages)) {
            throw bad("'messages' must contain the word 'json' in some form, "
                + "to use 'response_format' of type 'json_object'.");
        }
        return 'json_object';
    }
    if (!isObject(rf.json_schema)) {
        throw bad("'response_format' : property 'json_schema' is missing");
    }
    if (typeof rf.json_schema.name !== 'string') {
        throw bad("'response_format.json_schema' : property 'name' is "
            + 'missing');
    }
    if (rf.json_schema.schema !== undefined) {
        expectType('response_format.json_schema.schema', rf.json_schema.schema,
            'object');
    }
    if (NO_JSON_SCHEMA.has(body.model)) {
        throw bad('This model does not support response format '
            + '`json_schema`. See supported models at '
            + 'https://console.groq.com/docs/structured-outputs'
            + '#supported-models');
    }
    return 'json_schema';
}

// throws HttpError; returns what the answer needs to know
function validateCompletion(body) {
    if (!isObject(body)) {
        throw bad("'' : value must be an object");
    }
    for (const k of Object.keys(body)) {
        if (!REQUEST_FIELDS.includes(k)) {
            throw bad(unsupported(k, REQUEST_FIELDS));
        }
    }
    if (body.model === undefined) {
        throw bad("property 'model' is missing");
    }
    expectType('model', body.model, 'string');
    if (body.messages === undefined) {
        throw bad("property 'messages' is missing");
    }
    expectType('messages', body.messages, 'array');
    if (body.messages.length < 1) {
        throw bad("'messages' : minimum number of items is 1");
    }
    body.messages.forEach(validateMessage);

    if (body.temperature !== undefined) {
        expectRange('temperature', body.temperature, 0, 2);
    }
    if (body.top_p !== undefined) {
        expectRange('top_p', body.top_p, 0, 1);
    }
    for (const k of ['max_completion_tokens', 'max_tokens', 'seed']) {
        if (body[k] !== undefined && body[k] !== null) {
            expectType(k, body[k], 'integer');
        }
    }
    for (const k of ['max_completion_tokens', 'max_tokens']) {
        if (body[k] !== undefined && body[k] !== null && body[k] < 1) {
            throw bad(`'${k}' : number must be at least 1`);
        }
    }
    if (body.n !== undefined && body.n !== null) {
        expectType('n', body.n, 'integer');
        if (body.n !== 1) {
            throw bad("'n' : number must be at most 1");
        }
    }
    if (body.stream !== undefined && body.stream !== null) {
        expectType('stream', body.stream, 'boolean');
    }
    if (body.stream_options !== undefined && body.stream_options !== null) {
        expectType('stream_options', body.stream_options, 'object');
    }
    if (body.stop !== undefined && body.stop !== null) {
        const stops = Array.isArray(body.stop) ? body.stop : [body.stop];
        if (stops.length > 4 || stops.some((s) => typeof s !== 'string')) {
            throw bad("'stop' : value must be a string or an array of at "
                + 'most 4 strings');
        }
    }
    if (body.tools !== undefined && body.tools !== null) {
        validateTools(body.tools);
    }

    const forced = validateToolChoice(body);
    const format = validateResponseFormat(body);

    if (body.reasoning_format === 'raw'
        && (format !== 'text' || functionTools(body).length)) {
        throw bad('reasoning_format=raw is not supported with JSON mode or '
            + 'tool calling');
    }

    return { forced, format };
}

// --- answers -------------------------------------------------------------

function lastUserText(messages) {
    for (let i = messages.length - 1; i >= 0; i--) {
        if (messages[i].role === 'user') {
            return messageText(messages[i]);
        }
    }
    return '';
}

// a value that satisfies a JSON schema, derived from the shopper's text
function exampleOf(schema, text) {
    if (!isObject(schema)) {
        return text;
    }
    if (schema.const !== undefined) {
        return schema.const;
    }
    if (schema.default !== undefined) {
        return schema.default;
    }
    if (Array.isArray(schema.enum) && schema.enum.length) {
        return schema.enum[0];
    }
    let type = schema.type;
    if (Array.isArray(type)) {
        type = type.find((t) => t !== 'null') || 'null';
    }
    if (!type && Array.isArray(schema.anyOf) && schema.anyOf.length) {
        return exampleOf(schema.anyOf[0], text);
    }
    switch (type) {
    case 'object': {
        const out = {};
        const props = isObject(schema.properties) ? schema.properties : {};
        const required = Array.isArray(schema.required) ? schema.required : [];
        for (const name of required) {
            out[name] = exampleOf(props[name], text);
        }
        return out;
    }
    case 'array': {
        const min = schema.minItems || 0;
        return Array.from({ length: min }, () => exampleOf(schema.items, text));
    }
    case 'integer':
    case 'number':
        return schema.minimum ?? 1;
    case 'boolean':
        return false;
    case 'null':
        return null;
    default:
        return text;
    }
}

// text cut at the first stop sequence, then to max tokens
function limitText(text, body) {
    let finish = 'stop';
    const stops = body.stop == null ? []
        : Array.isArray(body.stop) ? body.stop : [body.stop];
    for (const s of stops) {
        const at = s.length ? text.indexOf(s) : -1;
        if (at >= 0) {
            text = text.slice(0, at);
        }
    }
    const max = body.max_completion_tokens ?? body.max_tokens;
    if (max != null && tokensOf(text) > max) {
        let cut = '';
        for (const ch of text) {
            if (Buffer.byteLength(cut + ch, 'utf8') > max * 4) {
                break;
            }
            cut += ch;
        }
        text = cut;
        finish = 'length';
    }
    return { text, finish };
}

function toolCallsOf(list) {
    return list.map((c) => ({
        id: c.id ?? toolCallId(),
        type: 'function',
        function: {
            name: String(c.name),
            arguments: c.arguments === undefined ? '{}'
                : typeof c.arguments === 'string' ? c.arguments
                : JSON.stringify(c.arguments),
        },
    }));
}

// what the model "says": content or tool calls, and why it stopped
function modelOutput(body, checked, answer) {
    if (answer.tool_calls) {
        return { content: null, toolCalls: toolCallsOf(answer.tool_calls),
                 finish: 'tool_calls' };
    }
    if (answer.content === undefined && Array.isArray(answer.chunks)) {
        return { content: answer.chunks.join(''), toolCalls: null,
                 finish: 'stop' };
    }
    if (answer.content !== undefined) {
        const content = typeof answer.content === 'string' ? answer.content
            : JSON.stringify(answer.content);
        return { content, toolCalls: null, finish: 'stop' };
    }

    const text = lastUserText(body.messages);

    if (checked.forced) {
        const params = checked.forced.parameters || { type: 'object' };
        return { content: null,
                 toolCalls: toolCallsOf([{ name: checked.forced.name,
                                           arguments: exampleOf(params, text) }]),
                 finish: 'tool_calls' };
    }
    if (checked.format === 'json_object') {
        return { content: JSON.stringify({ echo: text }), toolCalls: null,
                 finish: 'stop' };
    }
    if (checked.format === 'json_schema') {
        const schema = body.response_format.json_schema.schema
            || { type: 'object' };
        return { content: JSON.stringify(exampleOf(schema, text)),
                 toolCalls: null, finish: 'stop' };
    }
    const limited = limitText(`You said: ${text}`, body);
    return { content: limited.text, toolCalls: null, finish: limited.finish };
}

function rateHeaders(model, promptTokens) {
    const limits = limitsOf(model);
    // this request counts: the first answer of the day says limit - 1
    const used = state.used.get(model.id) || { requests: 0, tokens: 0 };
    const requests = used.requests + 1;
    return {
        'x-ratelimit-limit-requests': String(limits.rpd),
        'x-ratelimit-limit-tokens': String(limits.tpm),
        'x-ratelimit-remaining-requests':
            String(Math.max(limits.rpd - requests, 0)),
        'x-ratelimit-remaining-tokens':
            String(Math.max(limits.tpm - promptTokens, 0)),
        'x-ratelimit-reset-requests':
            goDuration(86400 / limits.rpd * requests),
        'x-ratelimit-reset-tokens':
            goDuration(60 / limits.tpm * Math.max(promptTokens, 1)),
    };
}

function baseHeaders(requestIdValue) {
    return { 'x-request-id': requestIdValue,
             'x-groq-region': state.config.region };
}

function splitPieces(text, answer) {
    if (Array.isArray(answer.chunks)) {
        return answer.chunks.map(String);
    }
    if (answer.chunk_size > 0) {
        const pieces = [];
        const chars = Array.from(text);
        for (let i = 0; i < chars.length; i += answer.chunk_size) {
            pieces.push(chars.slice(i, i + answer.chunk_size).join(''));
        }
        return pieces;
    }
    return text.match(/\s*\S+/g) || (text.length ? [text] : []);
}

// the SSE events of a stream (groq-api.md §1.5), as strings
function streamEvents(ctx, out, usage, answer, body) {
    const head = { id: ctx.completionId, object: 'chat.completion.chunk',
                   created: ctx.created, model: ctx.model.id,
                   system_fingerprint: ctx.fingerprint };
    const chunk = (delta, finish, extra) => Object.assign({}, head, {
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    }, extra || {});
    const data = (obj) => `data: ${JSON.stringify(obj)}\n\n`;

    const events = [];
    events.push(data(chunk({ role: 'assistant',
                             content: out.toolCalls ? null : '' }, null,
                           { x_groq: { id: ctx.groqId, seed: ctx.seed } })));

    if (out.toolCalls) {
        out.toolCalls.forEach((call, index) => {
            const size = answer.args_chunk_size;
            if (!(size > 0)) {
                events.push(data(chunk({ tool_calls: [Object.assign({}, call,
                    { index })] }, null)));
                return;
            }
            events.push(data(chunk({ tool_calls: [{ index, id: call.id,
                type: 'function', function: { name: call.function.name,
                                              arguments: '' } }] }, null)));
            const args = Array.from(call.function.arguments);
            for (let i = 0; i < args.length; i += size) {
                events.push(data(chunk({ tool_calls: [{ index, function: {
                    arguments: args.slice(i, i + size).join('') } }] }, null)));
            }
        });
    } else {
        for (const piece of splitPieces(out.content, answer)) {
            events.push(data(chunk({ content: piece }, null)));
        }
    }

    const finalExtra = { x_groq: { id: ctx.groqId, usage } };
    if (!answer.legacy_usage) {
        finalExtra.usage = usage;
    }
    events.push(data(chunk({}, out.finish, finalExtra)));

    if (isObject(body.stream_options) && body.stream_options.include_usage) {
        events.push(data(Object.assign({}, head, { choices: [], usage })));
    }

    events.push('data: [DONE]\n\n');
    return events;
}

function streamErrorEvent(spec) {
    let err;
    if (isObject(spec)) {
        err = spec;
    } else if (spec === 'tool_use_failed' || spec === true) {
        err = Object.assign(toolUseFailed({}).error, { status_code: 400 });
    } else if (spec === 'rate_limit') {
        err = { message: 'Rate limit reached. Please try again later.',
                type: 'rate_limit_error', code: 'rate_limit_exceeded',
                status_code: 429 };
    } else {
        err = { message: 'Service Unavailable', type: 'service_unavailable',
                status_code: 503 };
    }
    return `event: error\ndata: ${JSON.stringify({ error: err })}\n\n`;
}

// --- sending -------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function cutConnection(res, how) {
    if (how === 'reset') {
        res.socket.resetAndDestroy();
    } else {
        res.socket.end();
    }
}

// plan: { status, headers, body: string | null, events: [string] | null }
async function send(res, rec, plan, answer) {
    if (answer.delay_ms > 0) {
        await sleep(answer.delay_ms);
    }
    if (res.destroyed) {
        return;
    }
    rec.response.sent_at_ms = Date.now() - rec.time_ms;

    const cutAfter = answer.cut_after;
    if (answer.cut && cutAfter === undefined) {
        cutConnection(res, answer.cut);
        rec.response.cut = answer.cut;
        return;
    }

    const headers = Object.assign({}, plan.headers);
    for (const [k, v] of Object.entries(answer.headers || {})) {
        const name = k.toLowerCase();
        if (v === null) {
            delete headers[name];
        } else {
            headers[name] = String(v);
        }
    }

    if (plan.events) {
        res.writeHead(plan.status, headers);
        res.flushHeaders();
        for (let i = 0; i < plan.events.length; i++) {
            if (answer.cut && i === cutAfter) {
                cutConnection(res, answer.cut);
                rec.response.cut = answer.cut;
                return;
            }
            if (answer.stall_ms > 0) {
                await sleep(answer.stall_ms);
            }
            if (res.destroyed) {
                return;
            }
            res.write(plan.events[i]);
        }
        res.end();
        return;
    }

    const body = Buffer.from(plan.body, 'utf8');
    headers['content-length'] = String(body.length);
    res.writeHead(plan.status, headers);

    if (answer.stall_ms > 0) {
        res.flushHeaders();
        await sleep(answer.stall_ms);
        if (res.destroyed) {
            return;
        }
    }
    if (answer.cut) {
        res.write(body.subarray(0, Math.min(cutAfter, body.length)));
        rec.response.cut = answer.cut;
        // let the partial body leave before the connection goes
        setImmediate(() => cutConnection(res, answer.cut));
        return;
    }
    res.end(body);
}

function jsonPlan(status, headers, obj) {
    return { status, body: JSON.stringify(obj), events: null,
             headers: Object.assign({ 'content-type': 'application/json' },
                 headers) };
}

function recordUsage(model, tokens) {
    const used = state.used.get(model.id) || { requests: 0, tokens: 0 };
    used.requests += 1;
    used.tokens += tokens;
    state.used.set(model.id, used);
}

async function completions(req, res, rec, raw, size) {
    const groqId = requestId();
    const headers = baseHeaders(groqId);
    rec.response.request_id = groqId;

    // Groq's errors past authentication carry the rate-limit headers too
    const fail = (err) => {
        const known = err.status !== 401 && isObject(rec.body)
            && MODEL_BY_ID.get(rec.body.model);
        rec.response.status = err.status;
        rec.response.error = err.body.error;
        return send(res, rec, jsonPlan(err.status, Object.assign({}, headers,
            known ? rateHeaders(known, 0) : {}), err.body), {});
    };

    if (!authorized(req)) {
        return fail(new HttpError(401, invalid('Invalid API Key',
            { code: 'invalid_api_key' })));
    }
    if (size > state.config.max_body) {
        return fail(new HttpError(413, invalid('Request Entity Too Large',
            { code: 'request_too_large' })));
    }

    const body = rec.body;
    let checked;
    try {
        if (body === undefined) {
            throw bad('We could not parse the JSON body of your request. '
                + 'Please check that it is valid JSON.');
        }
        checked = validateCompletion(body);
    } catch (err) {
        if (err instanceof HttpError) {
            return fail(err);
        }
        throw err;
    }

    const model = MODEL_BY_ID.get(body.model);
    if (!model) {
        return fail(modelNotFound(body.model));
    }

    const prompt = promptTokens(body);
    const limits = limitsOf(model);
    const rate = rateHeaders(model, prompt);
    Object.assign(headers, rate);

    const maxOut = body.max_completion_tokens ?? body.max_tokens ?? 0;
    if (prompt > limits.tpm) {
        return fail(new HttpError(413, tooLargeBody(model.id, limits, prompt)));
    }
    if (prompt + maxOut > model.ctx) {
        return fail(new HttpError(400, invalid('Please reduce the length of '
            + 'the messages or completion.', { param: 'messages',
                                               code: 'context_length_exceeded' })));
    }

    // a scripted answer, or the default one derived from the request
    let answer = {};
    if (state.queue.length) {
        answer = state.queue[0];
        if (!answer.sticky) {
            state.queue.shift();
        }
        rec.response.scripted = true;
    }

    const ctx = { model, promptTokens: prompt, groqId,
                  completionId: `chatcmpl-${crypto.randomUUID()}`,
                  created: Math.floor(Date.now() / 1000),
                  fingerprint: 'fp_' + crypto.createHash('sha256')
                      .update(model.id).digest('hex').slice(0, 10),
                  seed: body.seed ?? randomSeed() };

    const kind = answer.error
        ?? (answer.status && answer.status !== 200
            && answer.body === undefined
            ? ERROR_KIND_OF_STATUS[answer.status] ?? 'server_error' : null);

    if (kind) {
        const e = scriptedError(kind, answer, ctx);
        const status = answer.status ?? e.status;
        const h = Object.assign({}, headers, e.noRateHeaders ? {} : rate,
            e.headers || {});
        if (e.noRateHeaders) {
            for (const k of Object.keys(rate)) {
                delete h[k];
            }
        }
        rec.response.status = status;
        if (e.raw !== undefined) {
            return send(res, rec, { status, events: null, body: e.raw,
                headers: Object.assign(h, { 'content-type': e.contentType }) },
                answer);
        }
        rec.response.error = e.body.error;
        return send(res, rec, jsonPlan(status, h, e.body), answer);
    }

    if (answer.body !== undefined) {
        // a raw body: malformed JSON, an HTML page, anything
        const status = answer.status ?? 200;
        rec.response.status = status;
        return send(res, rec, { status, events: null,
            body: typeof answer.body === 'string' ? answer.body
                : JSON.stringify(answer.body),
            headers: Object.assign({ 'content-type':
                answer.content_type ?? 'application/json' }, headers) },
            answer);
    }

    const out = modelOutput(body, checked, answer);
    if (answer.finish_reason) {
        out.finish = answer.finish_reason;
    }
    const usage = Object.assign(usageOf(prompt,
        completionTokens(out.content, out.toolCalls)), answer.usage || {});

    recordUsage(model, usage.total_tokens);
    rec.response.status = answer.status ?? 200;
    rec.response.usage = usage;
    rec.response.content = out.content;
    rec.response.tool_calls = out.toolCalls;
    rec.response.finish_reason = out.finish;

    const stream = answer.stream ?? body.stream === true;
    rec.response.stream = stream;

    if (stream) {
        const events = streamEvents(ctx, out, usage, answer, body);
        if (answer.stream_error !== undefined) {
            const at = Math.min(answer.error_after ?? 1, events.length - 1);
            events.splice(at, events.length - at,
                streamErrorEvent(answer.stream_error));
        }
        return send(res, rec, { status: rec.response.status, events,
            body: null, headers: Object.assign({
                'content-type': 'text/event-stream',
                'cache-control': 'no-cache',
                'connection': 'keep-alive' }, headers) }, answer);
    }

    const message = { role: 'assistant' };
    if (out.toolCalls) {
        message.tool_calls = out.toolCalls;
    } else {
        message.content = out.content;
    }

    const completion = {
        id: ctx.completionId,
        object: 'chat.completion',
        created: ctx.created,
        model: model.id,
        choices: [{ index: 0, message, logprobs: null,
                    finish_reason: out.finish }],
        usage,
        usage_breakdown: null,
        system_fingerprint: ctx.fingerprint,
        x_groq: { id: groqId, seed: ctx.seed },
        service_tier: body.service_tier && body.service_tier !== 'auto'
            ? body.service_tier : 'on_demand',
    };

    let text = JSON.stringify(completion);
    if (answer.malformed) {
        text = text.slice(0, Math.floor(text.length / 2));
    }
    return send(res, rec, { status: rec.response.status, events: null,
        body: text, headers: Object.assign({
            'content-type': 'application/json' }, headers) }, answer);
}

function authorized(req) {
    const auth = req.headers.authorization || '';
    const m = /^Bearer (\S+)$/.exec(auth);
    if (!m) {
        return false;
    }
    return state.config.key ? m[1] === state.config.key
        : m[1].startsWith('gsk_') && m[1].length > 4;
}

function models(req, res, rec, id) {
    const groqId = requestId();
    const headers = baseHeaders(groqId);
    rec.response.request_id = groqId;

    let status = 200;
    let body;
    if (!authorized(req)) {
        status = 401;
        body = invalid('Invalid API Key', { code: 'invalid_api_key' });
    } else if (id === null) {
        body = { object: 'list', data: MODELS.map(modelObject) };
    } else if (MODEL_BY_ID.has(id)) {
        body = modelObject(MODEL_BY_ID.get(id));
    } else {
        const err = modelNotFound(id);
        status = err.status;
        body = err.body;
    }
    rec.response.status = status;
    return send(res, rec, jsonPlan(status, headers, body), {});
}

// --- the control API -----------------------------------------------------

function control(req, res, path, body) {
    const reply = (status, obj) => {
        const text = JSON.stringify(obj);
        res.writeHead(status, { 'content-type': 'application/json',
                                'content-length': Buffer.byteLength(text) });
        res.end(text);
    };

    if (req.method === 'POST' && path === '/_fake/enqueue') {
        const list = Array.isArray(body) ? body : [body];
        if (body === undefined || !list.every(isObject)) {
            return reply(400, { error: 'enqueue takes a JSON object or an '
                + 'array of objects' });
        }
        state.queue.push(...list);
        return reply(200, { queued: state.queue.length });
    }
    if (req.method === 'GET' && path === '/_fake/requests') {
        return reply(200, state.requests);
    }
    if (req.method === 'GET' && path === '/_fake/queue') {
        return reply(200, state.queue);
    }
    if (req.method === 'POST' && path === '/_fake/reset') {
        state.queue = [];
        state.requests = [];
        state.used = new Map();
        state.config = defaults();
        return reply(200, { reset: true });
    }
    if (req.method === 'POST' && path === '/_fake/config') {
        if (!isObject(body)) {
            return reply(400, { error: 'config takes a JSON object' });
        }
        for (const [k, v] of Object.entries(body)) {
            if (!Object.prototype.hasOwnProperty.call(state.config, k)) {
                return reply(400, { error: `unknown config key ${k}` });
            }
            state.config[k] = v;
        }
        return reply(200, state.config);
    }
    return reply(404, { error: `no control endpoint ${req.method} ${path}` });
}

// --- the server ----------------------------------------------------------

const PREFIX = '/openai/v1';

function handle(req, res, raw, size) {
    const url = new URL(req.url, 'http://fake');
    const path = url.pathname;

    let body;
    if (raw.length) {
        try {
            body = JSON.parse(raw.toString('utf8'));
        } catch (e) {
            body = undefined;
        }
    }

    if (path.startsWith('/_fake/')) {
        return control(req, res, path, body);
    }

    const rec = {
        seq: state.requests.length + 1,
        time_ms: Date.now(),
        method: req.method,
        path,
        query: url.search,
        headers: req.headers,
        body,
        response: { status: null, scripted: false },
        client_closed: false,
    };
    if (body === undefined && raw.length) {
        rec.raw_body = raw.toString('utf8');
    }
    state.requests.push(rec);

    res.on('close', () => {
        if (!res.writableFinished) {
            rec.client_closed = true;
        }
    });

    if (req.method === 'POST' && path === `${PREFIX}/chat/completions`) {
        return completions(req, res, rec, raw, size);
    }
    if (req.method === 'GET' && path === `${PREFIX}/models`) {
        return models(req, res, rec, null);
    }
    if (req.method === 'GET' && path.startsWith(`${PREFIX}/models/`)) {
        return models(req, res, rec,
            decodeURIComponent(path.slice(`${PREFIX}/models/`.length)));
    }

    const groqId = requestId();
    rec.response.status = 404;
    rec.response.request_id = groqId;
    return send(res, rec, jsonPlan(404, baseHeaders(groqId),
        invalid(`Unknown request URL: ${req.method} ${path}. Please check the `
            + 'URL for typos, or see the docs at https://console.groq.com/docs/',
        { code: 'unknown_url' })), {});
}

const server = http.createServer((req, res) => {
    const parts = [];
    let size = 0;
    req.on('data', (d) => {
        size += d.length;
        // keep reading a body that is too large, but not storing it
        if (size <= state.config.max_body) {
            parts.push(d);
        }
    });
    req.on('end', () => {
        Promise.resolve(handle(req, res, Buffer.concat(parts), size))
            .catch((err) => {
                process.stderr.write(`fake-groq: ${err.stack}\n`);
                if (!res.headersSent) {
                    const status = err instanceof HttpError ? err.status : 500;
                    const text = JSON.stringify(err instanceof HttpError
                        ? err.body : errorBody(String(err), 'fake_error'));
                    res.writeHead(status, { 'content-type': 'application/json' });
                    res.end(text);
                } else {
                    res.destroy();
                }
            });
    });
});

// longer than any upstream keepalive_timeout a test sets, so nginx never
// reuses a connection this side is closing
server.keepAliveTimeout = 120000;
server.headersTimeout = 125000;

server.listen(cli.port, cli.host, () => {
    process.stdout.write(`listening ${server.address().port}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
        server.close();
        server.closeAllConnections();
        process.exit(0);
    });
}
