/*
 * Cartbot web chat: plain JavaScript, no build step, no dependencies.
 *
 * The shopper's token lives in sessionStorage (this tab only) and goes
 * with every API call as "Authorization: Bearer".  The session id is kept
 * in localStorage under the token's subject, so reopening the page (or
 * signing in again in this browser) brings the cart and the conversation
 * back; a guest who opens a new tab is a new guest.
 */
'use strict';

(function () {

const TOKEN_KEY = 'cartbot.token';
const USER_KEY = 'cartbot.username';
const SESSION_PREFIX = 'cartbot.session.';
const HISTORY_PAGE = 30;
const ID_RE = /^[A-Za-z0-9_:-]+$/;

const state = {
    token: null,
    claims: null,
    sessionId: null,
    cart: null,
    oldest: null,          // the oldest history message shown
    busy: false,
    waitTimer: null
};

const $ = (id) => document.getElementById(id);


/* --- the API ------------------------------------------------------------ */

class ApiError extends Error {
    constructor(status, code, message, retryAfter) {
        super(message || code);
        this.status = status;
        this.code = code;
        this.detail = message || '';
        this.retryAfter = retryAfter;
    }
}

function headers(extra) {
    const h = Object.assign({ 'Accept': 'application/json' }, extra || {});
    if (state.token) {
        h['Authorization'] = 'Bearer ' + state.token;
    }
    return h;
}

async function send(method, path, body, accept) {
    const opts = { method: method, cache: 'no-store',
                   headers: headers(accept ? { 'Accept': accept } : null) };

    if (body !== undefined) {
        opts.headers['Content-Type'] = 'application/json';
        opts.body = JSON.stringify(body);
    }

    try {
        return await fetch(path, opts);
    } catch (e) {
        throw new ApiError(0, 'network', '', null);
    }
}

async function api(method, path, body) {
    const res = await send(method, path, body);
    let data = null;

    try {
        data = await res.json();
    } catch (e) {
        data = null;
    }

    if (!res.ok) {
        throw errorFrom(res, data);
    }

    return data;
}

function errorFrom(res, data) {
    const e = (data && data.error) || {};
    return new ApiError(res.status, e.code || 'http_' + res.status,
                        e.message || '', retryAfter(res));
}

function retryAfter(res) {
    const v = res.headers.get('Retry-After');

    if (!v) {
        return null;
    }

    if (/^\d+$/.test(v.trim())) {
        return Math.max(1, parseInt(v, 10));
    }

    const when = Date.parse(v);
    return isNaN(when) ? null
                       : Math.max(1, Math.ceil((when - Date.now()) / 1000));
}

function seconds(n) {
    return n + (n === 1 ? ' second' : ' seconds');
}

function sentence(s) {
    s = String(s || '').trim();
    if (!s) {
        return '';
    }
    s = s.charAt(0).toUpperCase() + s.slice(1);
    return /[.!?]$/.test(s) ? s : s + '.';
}

function waitWords(err) {
    return 'Too many requests: please wait ' + seconds(err.retryAfter || 1)
           + ', then try again.';
}

/* what went wrong, in words a shopper can act on */
function plainWords(err) {
    if (!(err instanceof ApiError)) {
        return 'Something went wrong in this page. Reloading it may help.';
    }

    switch (err.code) {
    case 'network':
        return 'Cartbot cannot be reached right now. Check your connection '
               + 'and try again.';
    case 'rate_limited':
        return waitWords(err);
    case 'out_of_stock':
        return 'Not enough in stock: ' + sentence(err.detail).toLowerCase();
    case 'session_not_active':
    case 'already_checked_out':
        return 'This cart has already been checked out. Start a new cart '
               + 'to keep shopping.';
    case 'wrong_credentials':
    case 'invalid_credentials':
        return 'That username and password do not match.';
    case 'stream_cut':
        return 'The answer was cut off. Please send your message again.';
    }

    switch (err.status) {
    case 429:
        return waitWords(err);
    case 401:
        return 'Your sign-in has expired. Reload the page to go on as a '
               + 'guest, or sign in again.';
    case 403:
        return 'That is not yours to change.';
    case 404:
        if (err.code === 'not_found') {
            return 'That part of Cartbot is not available on this server.';
        }
        return sentence(err.detail) || 'That could not be found.';
    case 502:
    case 503:
    case 504:
        return 'Cartbot is having trouble behind the scenes. Please try again '
               + (err.retryAfter ? 'in ' + seconds(err.retryAfter)
                                 : 'in a moment') + '.';
    }

    if (err.status >= 500) {
        return 'Cartbot ran into a problem. Please try again in a moment.';
    }

    return sentence(err.detail) || 'That did not work. Please try again.';
}

function showError(err) {
    if (err instanceof ApiError && err.status === 401) {
        $('signin-toggle').hidden = false;
    }
    const limited = err instanceof ApiError
                    && (err.status === 429 || err.code === 'rate_limited');
    showAlert(plainWords(err), limited ? err.retryAfter || 1 : 0);
}

/* the alert; with a wait, a countdown to when trying again makes sense */
function showAlert(text, wait) {
    const box = $('alert');

    clearInterval(state.waitTimer);
    state.waitTimer = null;

    box.textContent = text;
    box.hidden = false;

    if (!wait) {
        return;
    }

    const until = Date.now() + wait * 1000;

    state.waitTimer = setInterval(function () {
        const left = Math.ceil((until - Date.now()) / 1000);

        if (left > 0) {
            box.textContent = text.replace(/please wait \d+ seconds?/,
                                           'please wait ' + seconds(left));
            return;
        }

        clearInterval(state.waitTimer);
        state.waitTimer = null;
        box.textContent = 'You can try again now.';
    }, 1000);
}

function clearAlert() {
    clearInterval(state.waitTimer);
    state.waitTimer = null;
    $('alert').hidden = true;
    $('alert').textContent = '';
}

function announce(text) {
    $('status').textContent = text;
}


/* --- who the shopper is ------------------------------------------------- */

function decodeClaims(token) {
    try {
        const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
        return JSON.parse(atob(part));
    } catch (e) {
        return null;
    }
}

function setToken(token) {
    state.token = token;
    state.claims = decodeClaims(token);
    sessionStorage.setItem(TOKEN_KEY, token);
}

function tokenUsable() {
    return state.claims && state.claims.sub
           && (!state.claims.exp
               || state.claims.exp * 1000 > Date.now() + 60000);
}

function isGuest() {
    return !state.claims || state.claims.role === 'guest';
}

function showWho() {
    const name = sessionStorage.getItem(USER_KEY);

    $('who').textContent = isGuest() ? 'Shopping as a guest'
                                     : 'Signed in as ' + (name || 'you');
    $('signin-toggle').hidden = !isGuest();
    $('signout').hidden = isGuest();
}

async function startGuest() {
    sessionStorage.removeItem(USER_KEY);
    setToken((await api('POST', '/auth/guest')).token);
}


/* --- the session -------------------------------------------------------- */

function sessionKey() {
    return SESSION_PREFIX + state.claims.sub;
}

async function openSession() {
    let sid = localStorage.getItem(sessionKey());

    if (sid && ID_RE.test(sid)) {
        try {
            const s = await api('GET', '/session/' + sid);
            if (s.status !== 'active') {
                sid = null;
            }
        } catch (e) {
            if (e.status !== 403 && e.status !== 404 && e.status !== 422) {
                throw e;
            }
            sid = null;
        }
    } else {
        sid = null;
    }

    if (!sid) {
        await newSession();
        welcome();
        return;
    }

    state.sessionId = sid;
    await Promise.all([refreshCart(), loadHistory()]);
}

async function newSession() {
    const s = await api('POST', '/session/create');
    state.sessionId = s.session_id;
    localStorage.setItem(sessionKey(), s.session_id);
    renderCart(null);
    await refreshCart();
}

/* sign-in, sign-out and a first visit all end here */
async function start(fresh) {
    $('log').textContent = '';
    state.oldest = null;
    $('earlier').hidden = true;
    $('confirm').hidden = true;
    $('order').hidden = true;

    if (fresh || !tokenUsable()) {
        await startGuest();
    }

    showWho();
    loadMode();
    await openSession();
}


/* --- products ----------------------------------------------------------- */

function money(n) {
    const currency = (state.cart && state.cart.pricing
                      && state.cart.pricing.currency) || 'USD';
    try {
        return new Intl.NumberFormat('en-US', { style: 'currency',
                                                currency: currency }).format(n);
    } catch (e) {
        return Number(n).toFixed(2);
    }
}

function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) {
        e.className = cls;
    }
    if (text !== undefined && text !== null) {
        e.textContent = text;
    }
    return e;
}

/* a product card: the shopper can add it with one key press */
function productCard(p) {
    const li = el('li', 'card');
    const inStock = !(typeof p.stock_quantity === 'number'
                      && p.stock_quantity <= 0);

    li.dataset.productId = p.id;
    li.appendChild(el('span', 'name', p.name));
    li.appendChild(el('span', 'price', money(p.price)));

    const meta = [];
    if (typeof p.rating === 'number') {
        meta.push('Rated ' + p.rating.toFixed(1) + ' of 5');
    }
    if (p.category) {
        meta.push(p.category);
    }
    if (meta.length) {
        li.appendChild(el('span', 'meta', meta.join(' · ')));
    }

    if (inStock) {
        li.appendChild(el('span', 'meta',
            typeof p.stock_quantity === 'number'
                ? p.stock_quantity + ' in stock' : 'In stock'));
    } else {
        li.appendChild(el('span', 'meta soldout', 'Sold out'));
    }

    const add = el('button', null, 'Add');
    add.type = 'button';
    add.setAttribute('aria-label', 'Add ' + p.name + ' to the cart');
    add.disabled = !inStock;
    add.addEventListener('click', function () {
        addToCart(p.id, p.name);
    });
    li.appendChild(add);

    return li;
}

function fillCards(ul, products) {
    ul.textContent = '';
    products.forEach(function (p) {
        ul.appendChild(productCard(p));
    });
    return ul;
}

function productList(products, label) {
    const ul = el('ul', 'cards');
    ul.setAttribute('aria-label', label);
    return fillCards(ul, products);
}

async function search(query) {
    const results = $('results');

    try {
        const r = await api('POST', '/products/search',
                            { query: query, limit: 6 });
        const products = (r.hits || []).map(function (h) { return h.product; });

        fillCards(results, products);
        if (!products.length) {
            results.appendChild(el('li', 'hint',
                                   'Nothing found. Try other words.'));
        }
        announce(products.length ? products.length + ' products found'
                                 : 'No products found');
        clearAlert();
    } catch (e) {
        showError(e);
    }
}


/* --- the cart ----------------------------------------------------------- */

async function refreshCart() {
    if (!state.sessionId) {
        return;
    }
    renderCart(await api('GET', '/cart?session_id='
                                + encodeURIComponent(state.sessionId)));
}

async function cartChange(method, path, body, done) {
    try {
        const cart = await api(method, path,
            Object.assign({ session_id: state.sessionId }, body));
        renderCart(cart);
        clearAlert();
        announce(done + ' Your cart: ' + cartWords(cart));
    } catch (e) {
        showError(e);
        refreshCart().catch(function () {});
    }
}

function addToCart(productId, name) {
    return cartChange('POST', '/cart/add',
                      { product_id: productId, quantity: 1 },
                      'Added ' + name + '.');
}

function updateLine(productId, name, quantity) {
    return cartChange('PUT', '/cart/update',
                      { product_id: productId, quantity: quantity },
                      quantity ? name + ': ' + quantity + '.'
                               : 'Removed ' + name + '.');
}

function removeLine(productId, name) {
    return cartChange('POST', '/cart/remove', { product_id: productId },
                      'Removed ' + name + '.');
}

function cartWords(cart) {
    const n = cart.item_count || 0;
    return n === 0 ? 'empty.'
                   : n + (n === 1 ? ' item, ' : ' items, ') + 'total '
                     + money(cart.pricing.total) + '.';
}

function pricingList(dl, pricing) {
    const rows = [['Subtotal', pricing.subtotal],
                  ['Discount', pricing.discount ? -pricing.discount : 0],
                  ['Tax', pricing.tax],
                  ['Shipping', pricing.shipping],
                  ['Total', pricing.total]];

    dl.textContent = '';

    rows.forEach(function (row) {
        const dt = el('dt', null, row[0]);
        const dd = el('dd', null, money(row[1] || 0));
        if (row[0] === 'Total') {
            dt.className = dd.className = 'grand';
        }
        dd.dataset.field = row[0].toLowerCase();
        dl.appendChild(dt);
        dl.appendChild(dd);
    });
}

function renderCart(cart) {
    const focused = document.activeElement;
    const refocus = focused && focused.dataset && focused.dataset.focusKey;
    const lines = $('cart-lines');
    const items = (cart && cart.items) || [];
    const open = !cart || cart.status === 'active';

    state.cart = cart;
    lines.textContent = '';

    items.forEach(function (item) {
        const li = el('li');
        const qtyId = 'qty-' + item.product_id.replace(/[^A-Za-z0-9_-]/g, '_');

        li.dataset.productId = item.product_id;
        li.appendChild(el('span', 'name', item.name));

        const qty = el('div', 'qty');
        const label = el('label', null, 'Quantity');
        label.htmlFor = qtyId;
        label.appendChild(el('span', 'visually-hidden', ' of ' + item.name));
        const input = el('input');
        input.id = qtyId;
        input.type = 'number';
        input.inputMode = 'numeric';
        input.min = '0';
        input.max = '99';
        input.value = String(item.quantity);
        input.disabled = !open;
        input.dataset.focusKey = 'qty:' + item.product_id;
        input.addEventListener('change', function () {
            const n = Number(input.value);
            if (!Number.isInteger(n) || n < 0 || n > 99) {
                showAlert('Please enter a quantity from 0 to 99.', 0);
                input.value = String(item.quantity);
                return;
            }
            if (n !== item.quantity) {
                updateLine(item.product_id, item.name, n);
            }
        });
        qty.appendChild(label);
        qty.appendChild(input);
        qty.appendChild(el('span', 'meta', '× ' + money(item.unit_price)));
        li.appendChild(qty);

        li.appendChild(el('span', 'total', money(item.line_total)));

        const remove = el('button', 'link remove', 'Remove');
        remove.type = 'button';
        remove.setAttribute('aria-label', 'Remove ' + item.name);
        remove.disabled = !open;
        remove.dataset.focusKey = 'remove:' + item.product_id;
        remove.addEventListener('click', function () {
            removeLine(item.product_id, item.name);
        });
        li.appendChild(remove);

        lines.appendChild(li);
    });

    $('cart-empty').hidden = items.length > 0;
    $('cart-count').textContent = items.length
        ? '(' + cart.item_count + (cart.item_count === 1 ? ' item)' : ' items)')
        : '';

    $('cart-pricing').hidden = !items.length;
    if (items.length) {
        pricingList($('cart-pricing'), cart.pricing);
    }

    $('checkout').hidden = !(items.length && open);

    if (refocus) {
        const again = document.querySelector('[data-focus-key="'
                                             + CSS.escape(refocus) + '"]');
        (again || $('cart-title')).focus();
    }
}


/* --- checkout ----------------------------------------------------------- */

function askConfirm(summary) {
    const pricing = (summary && (summary.pricing || summary))
                    || (state.cart && state.cart.pricing);

    if (!pricing || pricing.total === undefined) {
        return;
    }

    pricingList($('confirm-summary'), pricing);
    $('order').hidden = true;
    $('confirm').hidden = false;
    $('confirm-title').focus();
}

async function checkout() {
    const yes = $('confirm-yes');

    yes.disabled = true;

    try {
        const order = await api('POST', '/checkout',
                                { session_id: state.sessionId });
        showOrder(order);
        clearAlert();
        await refreshCart();
    } catch (e) {
        showError(e);
    } finally {
        yes.disabled = false;
    }
}

function showOrder(order) {
    const items = $('order-items');

    $('confirm').hidden = true;
    $('order-ref').textContent = 'Order ' + (order.order_id || '')
        + (order.status ? ' is ' + order.status : '') + '. Thank you!';

    items.textContent = '';
    (order.items || []).forEach(function (item) {
        items.appendChild(el('li', null, item.quantity + ' × ' + item.name
                                         + ' — ' + money(item.line_total)));
    });

    if (order.pricing) {
        pricingList($('order-pricing'), order.pricing);
    }

    $('order').hidden = false;
    $('order-title').focus();
    announce('Order placed. Total ' + (order.pricing
                                       ? money(order.pricing.total) : ''));
}


/* --- the conversation --------------------------------------------------- */

function message(role, text, opts) {
    const li = el('li', 'msg ' + role);
    const who = { user: 'You', assistant: 'Cartbot', error: 'Cartbot',
                  note: '' }[role];

    if (who) {
        li.appendChild(el('span', 'who visually-hidden', who + ':'));
    }
    li.appendChild(el('span', 'text', text));

    if (opts && opts.busy) {
        li.setAttribute('aria-busy', 'true');
    }

    if (opts && opts.prepend) {
        $('log').insertBefore(li, opts.prepend);
    } else {
        $('log').appendChild(li);
        li.scrollIntoView({ block: 'nearest' });
    }

    return li;
}

function welcome() {
    message('note', 'Hi, I am Cartbot. Tell me what you are looking for, or '
            + 'what to put in your cart: for example "Add 2 blue t-shirts '
            + 'to my cart".');
}

async function loadHistory(before) {
    let r;
    let url = '/chat/history/' + state.sessionId + '?limit=' + HISTORY_PAGE;

    if (before !== undefined && before !== null) {
        url += '&before=' + encodeURIComponent(before);
    }

    try {
        r = await api('GET', url);
    } catch (e) {
        /* no history to show is not worth an alarm on opening the page */
        if (before !== undefined) {
            showError(e);
        } else {
            welcome();
        }
        return;
    }

    const msgs = r.messages || [];
    const first = $('log').firstChild;

    msgs.forEach(function (m) {
        message(m.role === 'user' ? 'user' : 'assistant', m.content,
                first ? { prepend: first } : null);
    });

    if (msgs.length) {
        state.oldest = msgs[0];
    } else if (before === undefined) {
        welcome();
    }

    $('earlier').hidden = !r.has_more;
}

/* one Server-Sent Events answer: deltas as they come, then the result */
async function readStream(res, onDelta) {
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let result = null;

    for (;;) {
        const chunk = await reader.read();
        if (chunk.done) {
            break;
        }

        buf += chunk.value;

        let cut;
        while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');

            let event = 'message';
            const data = [];

            block.split(/\r?\n/).forEach(function (line) {
                if (line.startsWith('event:')) {
                    event = line.slice(6).trim();
                } else if (line.startsWith('data:')) {
                    data.push(line.slice(5).replace(/^ /, ''));
                }
            });

            if (!data.length) {
                continue;
            }

            const payload = JSON.parse(data.join('\n'));

            if (event === 'delta') {
                onDelta(payload.text || '');
            } else if (event === 'result') {
                result = payload;
            } else if (event === 'error') {
                /* the HTTP status was 200: the code and words say it all */
                const e = payload.error || {};
                throw new ApiError(e.status || 200, e.code || 'chat_failed',
                                   e.message || '', e.retry_after || null);
            }
        }
    }

    if (!result) {
        throw new ApiError(0, 'stream_cut', '', null);
    }

    return result;
}

async function chat(text) {
    const sent = message('user', text);
    const reply = message('assistant', '', { busy: true });
    const body = reply.querySelector('.text');

    sent.dataset.pending = 'true';

    try {
        const res = await send('POST', '/chat',
                               { session_id: state.sessionId, message: text,
                                 stream: true },
                               'text/event-stream, application/json');
        let result;

        if (!res.ok) {
            throw errorFrom(res, await res.json().catch(function () {
                return null;
            }));
        }

        const type = res.headers.get('Content-Type') || '';

        if (type.startsWith('text/event-stream')) {
            let pieces = 0;
            result = await readStream(res, function (piece) {
                body.textContent += piece;
                reply.dataset.deltas = String(++pieces);
            });
        } else {
            result = await res.json();
        }

        clearAlert();
        answer(reply, result);
    } catch (e) {
        reply.className = 'msg error';
        body.textContent = plainWords(e);
        showError(e);
    } finally {
        reply.removeAttribute('aria-busy');
        delete sent.dataset.pending;
    }
}

/* what the assistant's answer asks the page to show */
function answer(reply, r) {
    reply.querySelector('.text').textContent = r.response || '';

    if (r.model) {
        reply.dataset.model = r.model;
    }
    if (r.intent) {
        reply.dataset.intent = r.intent;
    }

    if (r.products && r.products.length) {
        reply.appendChild(productList(r.products, 'Products Cartbot found'));
    }

    if (r.cart) {
        renderCart(r.cart);
    } else if (r.actions && r.actions.length) {
        refreshCart().catch(showError);
    }

    if (r.order) {
        showOrder(r.order);
        refreshCart().catch(showError);
    } else if (r.confirm && r.confirm.action === 'checkout') {
        askConfirm(r.confirm.summary);
    }
}

async function loadMode() {
    try {
        const m = await api('GET', '/chat/mode');
        $('mode-badge').hidden = m.llm !== false;
    } catch (e) {
        $('mode-badge').hidden = true;
    }
}


/* --- wiring ------------------------------------------------------------- */

function wire() {
    $('chat-form').addEventListener('submit', async function (ev) {
        ev.preventDefault();
        const input = $('message');
        const text = input.value.trim();

        if (!text || state.busy) {
            return;
        }

        state.busy = true;
        $('send').disabled = true;
        input.value = '';

        try {
            await chat(text);
        } finally {
            state.busy = false;
            $('send').disabled = false;
            if (document.activeElement === document.body) {
                input.focus();
            }
        }
    });

    $('search-form').addEventListener('submit', function (ev) {
        ev.preventDefault();
        const q = $('query').value.trim();
        if (q) {
            search(q);
        }
    });

    $('checkout').addEventListener('click', async function () {
        try {
            await refreshCart();
        } catch (e) {
            showError(e);
            return;
        }
        if (state.cart && state.cart.items.length) {
            askConfirm(state.cart.pricing);
        }
    });

    $('confirm-yes').addEventListener('click', checkout);

    $('confirm-no').addEventListener('click', function () {
        $('confirm').hidden = true;
        message('note', 'Checkout cancelled; your cart is kept.');
        $('message').focus();
    });

    $('new-cart').addEventListener('click', async function () {
        try {
            $('order').hidden = true;
            await newSession();
            message('note', 'A new cart is ready.');
            $('message').focus();
        } catch (e) {
            showError(e);
        }
    });

    $('earlier').addEventListener('click', function () {
        const o = state.oldest;
        if (o) {
            loadHistory(o.seq !== undefined ? o.seq : o.id);
        }
    });

    $('signin-toggle').addEventListener('click', function () {
        const form = $('signin');
        form.hidden = !form.hidden;
        this.setAttribute('aria-expanded', String(!form.hidden));
        if (!form.hidden) {
            $('username').focus();
        }
    });

    $('signin-cancel').addEventListener('click', closeSignin);

    $('signin').addEventListener('keydown', function (ev) {
        if (ev.key === 'Escape') {
            closeSignin();
        }
    });

    $('signin').addEventListener('submit', async function (ev) {
        ev.preventDefault();
        const action = ev.submitter && ev.submitter.value === 'register'
                       ? 'register' : 'login';
        const username = $('username').value.trim();

        try {
            const r = await api('POST', '/auth/' + action,
                                { username: username,
                                  password: $('password').value });
            setToken(r.token);
            sessionStorage.setItem(USER_KEY, username);
            $('password').value = '';
            closeSignin();
            clearAlert();
            await start(false);
            $('message').focus();
        } catch (e) {
            showError(e);
        }
    });

    $('signout').addEventListener('click', async function () {
        sessionStorage.removeItem(TOKEN_KEY);
        state.token = state.claims = null;
        try {
            await start(true);
            $('signin-toggle').focus();
        } catch (e) {
            showError(e);
        }
    });
}

function closeSignin() {
    $('signin').hidden = true;
    $('signin-toggle').setAttribute('aria-expanded', 'false');
    $('signin-toggle').focus();
}

async function boot() {
    wire();

    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) {
        state.token = saved;
        state.claims = decodeClaims(saved);
    }

    try {
        await start(false);
    } catch (e) {
        /* an expired or refused token: start again as a new guest */
        if (e.status === 401 && saved) {
            try {
                await start(true);
                return;
            } catch (again) {
                e = again;
            }
        }
        $('who').textContent = 'Not connected';
        showError(e);
    } finally {
        document.body.dataset.ready = 'true';
    }
}

if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', boot);
} else {
    boot();
}

})();
