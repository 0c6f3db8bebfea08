// Drives the web chat page in Debian's headless chromium (playwright-core,
// no browser download) against a running Cartbot; t/30-web.t starts the
// stack and reads what this prints: one JSON line per check,
//
//     {"case":"shop","ok":true,"name":"...","diag":"..."}
//
// Cases (each in a fresh browser profile, so a fresh guest):
//   shop         search, add, quantity, remove, reload, checkout: no chat
//   account      register, reopen the page, sign in: the cart comes back
//   limited      the shopper's API quota is spent: the page says to wait
//   chat         the conversation, streaming, history, badge
//   chat-limited the chat quota is spent: the page says to wait
//
// Usage: node driver.mjs URL SHOT_DIR [case ...]
//   CHROMIUM=/usr/bin/chromium by default.

import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [base, shots, ...only] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const WAIT = 15000;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

if (!base || !shots) {
    console.error('usage: node driver.mjs URL SHOT_DIR [case ...]');
    process.exit(2);
}

mkdirSync(shots, { recursive: true });

function report(kase, ok, name, diag) {
    const line = { case: kase, ok: !!ok, name };
    if (!ok && diag !== undefined) {
        line.diag = String(diag);
    }
    console.log(JSON.stringify(line));
    return !!ok;
}

// polls fn until it returns something truthy, or gives up with false
async function until(fn, timeout = WAIT) {
    const end = Date.now() + timeout;
    let last;
    for (;;) {
        try {
            last = await fn();
            if (last) {
                return last;
            }
        } catch (e) {
            last = undefined;
        }
        if (Date.now() > end) {
            return false;
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}

// what the page keeps: its token and session, to ask the API directly
async function identity(page) {
    return page.evaluate(() => {
        const token = sessionStorage.getItem('cartbot.token');
        let sid = null;
        for (let i = 0; i < localStorage.length; i++) {
            const k = localStorage.key(i);
            const sub = JSON.parse(atob(token.split('.')[1]
                .replace(/-/g, '+').replace(/_/g, '/'))).sub;
            if (k === 'cartbot.session.' + sub) {
                sid = localStorage.getItem(k);
            }
        }
        return { token, sid };
    });
}

async function apiCart(page) {
    const { token, sid } = await identity(page);
    const r = await fetch(`${base}/cart?session_id=${encodeURIComponent(sid)}`,
                          { headers: { Authorization: `Bearer ${token}` } });
    return r.json();
}

function money(n) {
    return new Intl.NumberFormat('en-US', { style: 'currency',
                                            currency: 'USD' }).format(n);
}

async function open(page) {
    await page.goto(base + '/');
    await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT });
}

// spends the shopper's quota on a route, as the page's own fetch would
async function spendQuota(page, path, body, max) {
    return page.evaluate(async ({ path, body, max }) => {
        const token = sessionStorage.getItem('cartbot.token');
        for (let i = 1; i <= max; i++) {
            const r = await fetch(path, {
                method: body ? 'POST' : 'GET',
                headers: Object.assign({ Authorization: 'Bearer ' + token },
                    body ? { 'Content-Type': 'application/json' } : {}),
                body: body ? JSON.stringify(body) : undefined
            });
            if (r.status === 429) {
                return { requests: i, retry: r.headers.get('Retry-After') };
            }
        }
        return null;
    }, { path, body, max });
}

// every element the Tab key reaches, in order
async function tabStops(page, count) {
    const seen = [];
    await page.evaluate(() => document.activeElement
                              && document.activeElement.blur());
    for (let i = 0; i < count; i++) {
        await page.keyboard.press('Tab');
        seen.push(await page.evaluate(() => {
            const e = document.activeElement;
            if (!e || e === document.body) {
                return '';
            }
            return (e.getAttribute('aria-label')
                    || (e.tagName === 'INPUT' ? e.id : e.textContent)).trim();
        }));
    }
    return seen;
}

// searches the catalog; the name of the first card once it matches
async function searchFor(page, query, expect) {
    const box = page.getByLabel('Search the catalog');
    await box.fill(query);
    await box.press('Enter');
    return until(async () => {
        const name = await page.locator('#results li.card .name').first()
            .textContent({ timeout: 1000 });
        return expect.test(name) && name;
    });
}

async function noSideScroll(page) {
    return page.evaluate(() =>
        document.documentElement.scrollWidth <= window.innerWidth);
}

const cases = {};

// --- no chat: the catalog, the cart panel, checkout ----------------------

cases.shop = async (page, ok) => {
    await open(page);

    ok(/guest/i.test(await page.locator('#who').textContent()),
       'a guest token on opening the page');
    const stored = await page.evaluate(() => ({
        session: sessionStorage.getItem('cartbot.token'),
        local: Object.keys(localStorage).map((k) => localStorage.getItem(k))
    }));
    ok(stored.session && !stored.local.some((v) => v.includes('.')),
       'the token in sessionStorage only, not in localStorage');
    const { sid } = await identity(page);
    ok(/^user_session:/.test(sid || ''), 'a session was created', sid);

    ok(await page.getByRole('log', { name: 'Conversation with Cartbot' })
        .getAttribute('aria-live') === 'polite',
       'the conversation is a polite live region');

    // keyboard only: type into the search box and press Enter
    await page.getByLabel('Search the catalog').focus();
    await page.keyboard.type('blue t-shirts');
    await page.keyboard.press('Enter');

    const add = page.getByRole('button',
                               { name: 'Add Blue Cotton T-Shirt to the cart' });
    ok(await until(() => add.isVisible()), 'search shows product cards');
    const card = page.locator('#results li.card').first();
    const cardText = await card.textContent().catch(() => '');
    ok(/Blue Cotton T-Shirt/.test(cardText) && /\$19\.99/.test(cardText)
       && /Rated 4\.6 of 5/.test(cardText) && /\d+ in stock/.test(cardText),
       'a card shows name, price, rating and stock', cardText);

    await add.focus();
    await page.keyboard.press('Enter');
    const qty = page.getByLabel('Quantity of Blue Cotton T-Shirt');
    ok(await until(async () => (await qty.inputValue()) === '1'),
       'Enter on "Add" puts one in the cart panel');
    await add.focus();
    await page.keyboard.press('Enter');
    ok(await until(async () => (await qty.inputValue()) === '2'),
       'a second Enter makes it 2');

    // the quantity edited in the panel, confirmed by the API
    await qty.focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('3');
    await page.keyboard.press('Enter');
    const three = await until(async () => {
        const c = await apiCart(page);
        return c.items.length === 1 && c.items[0].quantity === 3 && c;
    });
    ok(three, 'the quantity typed in the panel reaches the cart: 3');
    if (three) {
        ok(await until(async () =>
               (await page.locator('#cart-pricing dd[data-field="total"]')
                   .textContent()) === money(three.pricing.total)),
           `the panel's total is the API's (${money(three.pricing.total)})`);
        const pricing = await page.locator('#cart-pricing').textContent();
        ok(['Subtotal', 'Discount', 'Tax', 'Shipping', 'Total']
               .every((w) => pricing.includes(w))
           && pricing.includes(money(three.pricing.tax))
           && pricing.includes(money(three.pricing.subtotal)),
           'the panel shows subtotal, discount, tax, shipping and total',
           pricing);
    }
    ok(await page.evaluate(() => document.activeElement.id)
           === 'qty-product_tee_blue_cotton',
       'focus stays in the quantity field after the update');

    // a second product, then its line removed
    const mugName = await searchFor(page, 'ceramic mug', /mug/i);
    ok(mugName, 'a second search shows mugs');
    await page.getByRole('button', { name: `Add ${mugName} to the cart`,
                                     exact: true }).click();
    const remove = page.getByRole('button', { name: `Remove ${mugName}`,
                                                exact: true });
    ok(await until(() => remove.isVisible()),
       `a second line: ${mugName}`);

    await page.setViewportSize(DESKTOP);
    await page.screenshot({ path: `${shots}/desktop-cart.png`,
                            fullPage: true });

    // every control is reachable with Tab
    const stops = await tabStops(page, 30);
    const need = ['message', 'query', `Add ${mugName} to the cart`,
                  'qty-product_tee_blue_cotton', `Remove ${mugName}`,
                  'Check out', 'Sign in', 'Send'];
    const missing = need.filter((n) => !stops.includes(n));
    ok(missing.length === 0, 'Tab reaches every control',
       `missing ${missing.join(', ')} in ${JSON.stringify(stops)}`);

    await remove.focus();
    await page.keyboard.press('Enter');
    ok(await until(async () => {
        const c = await apiCart(page);
        return c.items.length === 1 && !(await remove.count());
    }), 'Remove takes the line out of the cart and the panel');

    // the phone-width layout
    await page.setViewportSize(PHONE);
    ok(await noSideScroll(page), 'no sideways scrolling at 390px');
    const box = await page.locator('#message').boundingBox();
    ok(box && box.width > 200, 'the message box is usable at 390px',
       JSON.stringify(box));
    await page.screenshot({ path: `${shots}/phone-cart.png`, fullPage: true });
    await page.setViewportSize(DESKTOP);

    // reopened in this tab: same shopper, same session, same cart
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT });
    ok((await identity(page)).sid === sid, 'a reload keeps the session');
    ok(await until(async () => (await qty.inputValue()) === '3'),
       'and the cart panel shows the cart again');

    // checkout from the panel: confirm, then the order
    await page.getByRole('button', { name: 'Check out' }).click();
    const confirm = page.getByRole('region', { name: 'Confirm your order' });
    ok(await until(() => confirm.isVisible()), 'checkout asks to confirm');
    ok(await page.evaluate(() => document.activeElement.id) === 'confirm-title',
       'focus moves to the confirmation');
    const cart = await apiCart(page);
    ok((await confirm.textContent()).includes(money(cart.pricing.total)),
       'the confirmation shows the total');
    await page.getByRole('button', { name: 'Place order' }).focus();
    await page.keyboard.press('Enter');
    const order = page.getByRole('region', { name: 'Order placed' });
    ok(await until(() => order.isVisible()), 'the order summary is shown');
    const orderText = await order.textContent();
    ok(/purchase_order:\S+ is placed/.test(orderText)
       && orderText.includes('3 × Blue Cotton T-Shirt')
       && orderText.includes(money(cart.pricing.total)),
       'it names the order, its lines and its total', orderText);
    ok(await until(async () => (await apiCart(page)).status === 'completed'),
       'the API says the session is completed');
    ok(await page.getByLabel('Quantity of Blue Cotton T-Shirt').isDisabled(),
       'a checked-out cart cannot be edited');

    await page.getByRole('button', { name: 'Start a new cart' }).click();
    ok(await until(async () => {
        const now = (await identity(page)).sid;
        return now && now !== sid
               && await page.locator('#cart-empty').isVisible();
    }), 'a new cart after the order');
};

// --- an account: the cart comes back in a new tab -------------------------

cases.account = async (page, ok, context) => {
    const user = 'web' + Date.now().toString(36);

    await open(page);
    await page.getByRole('button', { name: 'Sign in' }).focus();
    await page.keyboard.press('Enter');
    ok(await page.evaluate(() => document.activeElement.id) === 'username',
       'the sign-in form opens with focus on the username');
    await page.keyboard.type(user);
    await page.getByLabel(/^Password/).fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).last().click();
    ok(await until(async () => /username and password do not match/.test(
           await page.locator('#alert').textContent())),
       'a wrong sign-in is said in plain words');

    await page.getByLabel(/^Password/).fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    ok(await until(async () => (await page.locator('#who').textContent())
           === `Signed in as ${user}`), 'registered and signed in');

    await searchFor(page, 'blue t-shirts', /t-shirt/i);
    await page.getByRole('button', { name: 'Add Blue Cotton T-Shirt to the '
                                           + 'cart' }).click();
    const qty = page.getByLabel('Quantity of Blue Cotton T-Shirt');
    ok(await until(async () => (await qty.inputValue()) === '1'),
       'an item in the account\'s cart');
    const { sid } = await identity(page);
    await page.close();

    // a new tab of the same browser: a guest until signing in again
    const again = await context.newPage();
    await open(again);
    ok(/guest/i.test(await again.locator('#who').textContent()),
       'a new tab starts as a guest (the token was the tab\'s)');
    await again.getByRole('button', { name: 'Sign in' }).click();
    await again.getByLabel('Username').fill(user);
    await again.getByLabel(/^Password/).fill('correct horse battery');
    await again.getByLabel(/^Password/).press('Enter');
    const qty2 = again.getByLabel('Quantity of Blue Cotton T-Shirt');
    ok(await until(async () => (await qty2.inputValue()) === '1'),
       'signed in again: the same cart is back');
    ok((await identity(again)).sid === sid, 'and the same session');

    await again.getByRole('button', { name: 'Sign out' }).click();
    ok(await until(async () => /guest/i.test(
           await again.locator('#who').textContent())
           && await again.locator('#cart-empty').isVisible()),
       'signing out leaves a guest with an empty cart');
    return again;
};

// --- the API says 429 --------------------------------------------------------

cases.limited = async (page, ok) => {
    await open(page);
    await searchFor(page, 'blue t-shirts', /t-shirt/i);
    const add = page.getByRole('button',
                               { name: 'Add Blue Cotton T-Shirt to the cart' });
    await until(() => add.isVisible());

    const { sid } = await identity(page);
    const spent = await spendQuota(page, `/cart?session_id=${sid}`, null, 300);
    if (!ok(spent, 'the shopper\'s API quota runs out (429)')) {
        return;
    }

    const answer = page.waitForResponse((r) => r.url().endsWith('/cart/add'));
    await add.click();
    const res = await answer;
    ok(res.status() === 429, 'adding is refused with 429', res.status());
    const retry = Number(res.headers()['retry-after']);
    const alert = page.getByRole('alert');
    const text = await until(async () => {
        const t = await alert.textContent();
        return /please wait \d+ seconds?/.test(t) && t;
    }, 5000);
    ok(text, 'the page says "please wait N seconds"',
       await alert.textContent());
    const n = Number((text || '').match(/please wait (\d+)/)?.[1]);
    ok(n >= 1 && n <= retry, `N comes from Retry-After (${n} of ${retry})`);
    ok(!(await page.getByLabel('Quantity of Blue Cotton T-Shirt').count()),
       'the cart panel is unchanged');
    await page.screenshot({ path: `${shots}/desktop-limited.png` });
};

// --- the assistant (needs POST /chat, /chat/history, /chat/mode) -------------

async function say(page, text) {
    const replies = '#log li.msg.assistant, #log li.msg.error';
    const before = await page.locator(replies).count();
    await page.getByLabel('Message to Cartbot').fill(text);
    await page.getByLabel('Message to Cartbot').press('Enter');
    const reply = page.locator(replies).nth(before);
    const done = await until(async () =>
        await reply.count() && (await reply.getAttribute('aria-busy')) === null,
        30000);
    return done ? reply : null;
}

cases.chat = async (page, ok) => {
    await open(page);

    ok(await until(() => page.locator('#mode-badge').isVisible(), 5000),
       'the "offline understanding" badge shows without an LLM');

    const reply = await say(page, 'Add 2 blue t-shirts to my cart');
    if (!ok(reply && !(await reply.getAttribute('class')).includes('error'),
            'Cartbot answers "Add 2 blue t-shirts to my cart"',
            reply ? await reply.textContent() : 'no answer')) {
        return;
    }
    const deltas = Number(await reply.getAttribute('data-deltas'));
    ok(deltas > 0, `the answer streamed in (${deltas} pieces)`);
    ok((await reply.textContent()).replace(/^Cartbot:/, '').trim().length > 0,
       'the answer has words', await reply.textContent());

    const line = page.locator('#cart-lines li', { hasText: /t-shirt|tee/i })
        .first();
    const qty = line.getByRole('spinbutton');
    ok(await until(async () => (await qty.inputValue()) === '2'),
       'the cart panel shows 2 of them');
    const first = await apiCart(page);
    ok(first.items.length === 1 && first.items[0].quantity === 2,
       'and so does the API', JSON.stringify(first.items));

    // reopened: the conversation comes back
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT });
    ok(await until(async () => (await page.locator('#log li.msg.user')
           .allTextContents()).some((t) => t.includes('Add 2 blue t-shirts'))
           && await page.locator('#log li.msg.assistant').count() >= 1),
       'a reload shows the history');

    await qty.fill('3');
    await qty.press('Enter');
    ok(await until(async () => (await apiCart(page)).items[0].quantity === 3),
       'the quantity changed to 3 in the panel');

    await page.setViewportSize(DESKTOP);
    await page.screenshot({ path: `${shots}/desktop-chat.png`,
                            fullPage: true });
    await page.setViewportSize(PHONE);
    ok(await noSideScroll(page), 'no sideways scrolling at 390px, with a chat');
    await page.screenshot({ path: `${shots}/phone-chat.png`, fullPage: true });
    await page.setViewportSize(DESKTOP);

    const asked = await say(page, 'checkout');
    ok(asked, 'Cartbot answers "checkout"');
    const confirm = page.getByRole('region', { name: 'Confirm your order' });
    ok(await until(() => confirm.isVisible()), 'and asks to confirm');
    const cart = await apiCart(page);
    ok((await confirm.textContent()).includes(money(cart.pricing.total)),
       'the confirmation shows the total of 3');

    await page.getByRole('button', { name: 'Place order' }).click();
    const order = page.getByRole('region', { name: 'Order placed' });
    ok(await until(() => order.isVisible()), 'the order summary is shown');
    ok((await order.textContent()).includes(money(cart.pricing.total)),
       'with the total');
    ok(await until(async () => (await apiCart(page)).status === 'completed'),
       'the session is completed');
    await page.screenshot({ path: `${shots}/desktop-order.png`,
                            fullPage: true });
};

cases['chat-limited'] = async (page, ok) => {
    await open(page);
    const { sid } = await identity(page);
    const spent = await spendQuota(page, '/chat',
                                   { session_id: sid, message: 'hello' }, 200);
    if (!ok(spent, 'the chat quota runs out (429)')) {
        return;
    }
    const reply = await say(page, 'show my cart');
    ok(reply && /please wait \d+ seconds?/.test(await reply.textContent()),
       'the conversation says "please wait N seconds"',
       reply ? await reply.textContent() : 'no reply');
    ok(/please wait \d+ seconds?/.test(
           await page.getByRole('alert').textContent()),
       'and so does the alert');
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: `${shots}/phone-limited.png` });
};

// --- run --------------------------------------------------------------------

const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-dev-shm-usage']
});

let failed = 0;

for (const name of Object.keys(cases)) {
    if (only.length && !only.includes(name)) {
        continue;
    }

    const context = await browser.newContext({ viewport: DESKTOP });
    const errors = [];
    let page = await context.newPage();
    const watch = (p) => p.on('pageerror', (e) => errors.push(String(e)));
    watch(page);
    context.on('page', watch);

    const ok = (cond, what, diag) => {
        if (!report(name, cond, what, diag)) {
            failed++;
        }
        return cond;
    };

    try {
        await cases[name](page, ok, context);
        ok(true, 'the case ran to its end');
    } catch (e) {
        ok(false, 'the case ran to its end', e.stack || e);
        for (const p of context.pages()) {
            await p.screenshot({ path: `${shots}/failed-${name}.png`,
                                 fullPage: true }).catch(() => {});
        }
    }

    ok(errors.length === 0, 'no script errors in the page', errors.join('\n'));
    await context.close();
}

await browser.close();
process.exit(failed ? 1 : 0);
