// The seed guide walked in the Directus Data Studio (@directus/app) by headless Chromium: log in; create the
// messages collection with date_created from the optional fields pane and the fields text and user; create a
// role whose new policy may read and create it, and a user of that role; generate the user's static token;
// create items over the WebSocket with that token and see them in the content module.
//
// Usage: node studio_walk.mjs <base-url> <screenshot-dir> <names-json>
// <base-url> serves the app at /admin and the API at / (Directus itself, or tests/e2e/studio.py in front of
// Tidepool); names-json = {"collection", "role", "policy", "email", "password"}. Prints one JSON line per
// step: {step, ok, ms, error?, problems: [[status, method, path], ...]} where problems are the API answers of
// 400 and above (and failed requests, page errors) seen during the step: what to fix when a step fails. The
// walk stops at the first failed step; the remaining ones are reported as skipped.
import { createDirectus, realtime, staticToken } from '@directus/sdk';
import { chromium } from 'playwright-core';

const [baseUrl, shots, namesJson] = process.argv.slice(2);
const names = JSON.parse(namesJson);
const WAIT = 30000;

const browser = await chromium.launch({
	executablePath: '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
		'--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
page.setDefaultTimeout(WAIT);

let problems = [];
const apiPath = (url) => url.replace(baseUrl, '');
page.on('response', (response) => {
	if (response.status() >= 400) problems.push([response.status(), response.request().method(), apiPath(response.url())]);
});
page.on('requestfailed', (request) => problems.push(['failed', request.method(), apiPath(request.url())]));
page.on('pageerror', (error) => problems.push(['pageerror', String(error).slice(0, 200)]));

// A DOM click: Playwright's pointer click waits for the login page's animated background to settle, which on
// a loaded machine it may never do. The element is still awaited (attached) first.
const tap = (selector) => page.locator(selector).first().evaluate((element) => element.click());
const apiAnswer = (method, pathPart) =>
	page.waitForResponse((r) => r.request().method() === method && apiPath(r.url()).split('?')[0].startsWith(pathPart), { timeout: WAIT });

async function expectOk(responsePromise, what) {
	const response = await responsePromise;
	if (response.status() >= 400) throw new Error(`${what}: ${response.status()} ${await response.text().catch(() => '')}`.slice(0, 400));
	return response;
}

const ctx = {};
const steps = [
	['open the login form', async () => {
		await page.goto(`${baseUrl}/admin/login`);
		await page.waitForSelector('input[type=email]', { state: 'visible' });
	}],
	['log in', async () => {
		await page.fill('input[type=email]', 'admin@example.com');
		await page.fill('input[type=password]', 'admin-pass');
		await tap('button[type=submit]');
		await page.waitForURL(/\/admin\/(content|settings|users|insights)/, { waitUntil: 'commit' });
		await page.waitForSelector('#navigation, .module-bar', { state: 'attached' });
	}],
	['create the collection with date_created from the optional fields', async () => {
		await page.goto(`${baseUrl}/admin/settings/data-model/+`);
		await page.waitForSelector('input[placeholder="A unique table name..."]');
		// Directus 12's first-visit licence question, when it is asked.
		const skip = page.locator('.v-dialog button:has-text("Skip"), button:has-text("Skip")');
		if (await skip.count()) await tap('button:has-text("Skip")');
		await page.fill('input[placeholder="A unique table name..."]', names.collection);
		await tap('button:has-text("Next")');
		await tap('.field:has-text("Created On") button.v-checkbox');
		const created = apiAnswer('POST', '/collections');
		await tap('button:has-text("Finish Setup")');
		await expectOk(created, 'POST /collections');
		await page.waitForURL(`**/data-model/${names.collection}`, { waitUntil: 'commit' });
	}],
	...['text', 'user'].map((field) => [`add the field ${field}`, async () => {
		await tap('button:has-text("Create Field")');
		await tap('.v-list-item:has-text("Standard Field")');
		await page.fill('input[placeholder="A unique column name..."]', field);
		await tap('input[placeholder="Choose a Type..."]');
		await tap('.v-menu-content .v-list-item:has-text("String")');
		const saved = apiAnswer('POST', `/fields/${names.collection}`);
		await tap('.v-drawer button:has-text("Save")');
		await expectOk(saved, `POST /fields/${names.collection}`);
		await page.waitForURL(`**/data-model/${names.collection}`, { waitUntil: 'commit' });
	}]),
	['create a role whose policy may read and create the collection', async () => {
		await page.goto(`${baseUrl}/admin/settings/roles/+`);
		await page.fill('input[placeholder="Role Name..."]', names.role);
		const created = apiAnswer('POST', '/roles');
		await tap('.v-card button:has-text("Save")');
		await expectOk(created, 'POST /roles');
		await page.waitForURL(/\/admin\/settings\/roles\/[0-9a-f-]{36}/, { waitUntil: 'commit' });
		// The list's buttons stay disabled until the role's relations have loaded: a click before does nothing.
		await tap('.field:has-text("Policies") button:has-text("Create New"):not([disabled])');
		await page.locator('.v-drawer [data-field=name] input').first().fill(names.policy);
		await tap('.v-drawer button:has-text("Add Collection")');
		await page
			.locator('.v-menu-content .v-list-item')
			.filter({ hasText: new RegExp(`^\\s*${names.collection}\\s*$`) })
			.first()
			.evaluate((element) => element.click());
		const row = `.v-drawer tr[data-collection=${names.collection}]`;
		for (const action of ['Create', 'Read']) {
			await tap(`${row} button.v-chip:has-text("${action}")`);
			await tap('.v-menu-content .v-list-item:has-text("All Access")');
			await page.waitForSelector(`${row} button.v-chip.all:has-text("${action}")`, { state: 'attached' });
			await page.waitForSelector('.v-menu-content', { state: 'detached' });
		}
		await tap('.v-drawer button:has-text("Save")');
		await page.waitForSelector(`.field:has-text("Policies") :text("${names.policy}")`, { state: 'attached' });
	}],
	['create a user of that role', async () => {
		await tap('.field:has-text("Users in Role") button:has-text("Create New"):not([disabled])');
		await page.fill('.v-drawer [data-field=email] input', names.email);
		await page.fill('.v-drawer [data-field=password] input', names.password);
		await tap('.v-drawer button:has-text("Save")');
		await page.waitForSelector(`.field:has-text("Users in Role") :text("${names.email}")`, { state: 'attached' }).catch(() => {});
		const saved = apiAnswer('PATCH', '/roles/');
		await tap('header button:has-text("Save")');
		await expectOk(saved, 'PATCH /roles/…');
	}],
	["generate the user's static token and save", async () => {
		await page.goto(`${baseUrl}/admin/users`);
		await tap(`tr:has-text("${names.email}"), .row:has-text("${names.email}")`);
		await page.waitForURL(/\/admin\/users\/[0-9a-f-]{36}/, { waitUntil: 'commit' });
		const saved = apiAnswer('PATCH', '/users/');
		await tap('[data-field=token] button.regenerate-icon');
		await expectOk(saved, 'PATCH /users/… (the token)');
		await page.waitForFunction(() => document.querySelector('[data-field=token] input')?.value);
		ctx.token = await page.inputValue('[data-field=token] input');
		const save = page.locator('header button:has-text("Save"):not([disabled])');
		if (await save.count()) await tap('header button:has-text("Save")');
	}],
	['see the items created over the WebSocket in the content module', async () => {
		await page.goto(`${baseUrl}/admin/content/${names.collection}`);
		await page.waitForSelector('.layout-tabular, table, .v-info', { state: 'attached' });
		const client = createDirectus(baseUrl).with(staticToken(ctx.token)).with(realtime());
		await client.connect();
		try {
			for (const [uid, text] of [['one', 'first over the socket'], ['two', 'second over the socket']]) {
				await socketCreate(client, uid, { text, user: 'walker' });
			}
		} finally {
			client.disconnect();
		}
		await page.reload();
		await page.waitForFunction(
			() => ['first over the socket', 'second over the socket'].every((t) => document.querySelector('table')?.innerText.includes(t)),
			null,
			{ timeout: WAIT },
		);
	}],
];

function socketCreate(client, uid, data) {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no reply to the socket create ${uid}`)), 10000);
		const remove = client.onWebSocket('message', (message) => {
			if (message.type === 'items' && message.uid === uid) {
				clearTimeout(timer);
				remove();
				if (message.status === 'error') reject(new Error(`socket create: ${JSON.stringify(message.error)}`));
				else resolve(message);
			}
		});
		client.sendMessage({ type: 'items', collection: names.collection, action: 'create', uid, data });
	});
}

let failed = false;
let index = 0;
for (const [step, run] of steps) {
	index += 1;
	if (failed) {
		process.stdout.write(JSON.stringify({ step, ok: false, skipped: true, problems: [] }) + '\n');
		continue;
	}
	problems = [];
	const started = Date.now();
	let error;
	try {
		await run();
	} catch (caught) {
		error = String(caught && caught.message ? caught.message : caught).split('\n')[0].slice(0, 400);
		failed = true;
	}
	await page.waitForTimeout(300);
	// What the app itself shows when it gives up: its error dialogs and notices (the JavaScript error the
	// answer of some request caused, when no request failed).
	const shown = error
		? await page
				.$$eval('.v-dialog .v-card, .v-notice.danger, .notification-item, .v-error', (elements) =>
					elements.map((e) => e.innerText.trim().replace(/\s+/g, ' ').slice(0, 300)).filter(Boolean),
				)
				.catch(() => [])
		: [];
	const file = `${shots}/${String(index).padStart(2, '0')}-${step.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`;
	await page.screenshot({ path: file }).catch(() => {});
	process.stdout.write(JSON.stringify({ step, ok: !error, ms: Date.now() - started, error, shown, problems, screenshot: file }) + '\n');
}
await browser.close();
process.exit(0);
