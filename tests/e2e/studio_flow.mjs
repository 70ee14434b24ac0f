// Headless Chromium walks the seed guide in Tidepool Studio: sign in as the first admin, create `messages`
// (date_created from the optional system fields, then `text` and `user`), a role that may read and create
// it, a user of that role and the user's static token; then the example chat page sends three messages
// with that token while the Studio's content table, never reloaded, shows them arrive.
// Usage: node studio_flow.mjs <studio-url> <api-url> <admin-email> <admin-password> <screenshot-dir>
// Prints one JSON line: what the test checks.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const [studioUrl, apiUrl, email, password, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
	executablePath: '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
		'--disable-component-update', '--disable-sync'],
});
const result = { steps: [], offsite: [] };
let step = 0;
async function shot(page, name) {
	step += 1;
	await page.screenshot({ path: `${shots}/${String(step).padStart(2, '0')}-${name}.png`, fullPage: true });
	result.steps.push(name);
}

try {
	const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	const studio = await context.newPage();
	studio.setDefaultTimeout(45000); // a loaded CI machine
	const origin = new URL(studioUrl).origin;
	context.on('request', (request) => {
		const url = new URL(request.url());
		if (url.origin !== origin && url.protocol !== 'data:' && url.origin.replace(/^ws/, 'http') !== origin) result.offsite.push(request.url());
	});
	const failures = [];
	studio.on('pageerror', (error) => failures.push(String(error)));
	// The console's "Failed to load resource" lines are the API errors the test causes on purpose.
	studio.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && failures.push(m.text()));

	// 1. Sign in. What the first screen cost is measured before signing in.
	await studio.goto(studioUrl);
	await studio.getByLabel('E-mail').waitFor();
	result.signInBytes = await transferred(studio);
	await shot(studio, 'sign-in');
	await studio.getByLabel('E-mail').fill(email);
	await studio.getByLabel('Password').fill('not the password');
	await studio.getByRole('button', { name: 'Sign in' }).click();
	result.badPassword = await studio.getByRole('alert').textContent();
	await shot(studio, 'sign-in-error');
	// The second try by keyboard only: Enter in the password field submits the form.
	await studio.getByLabel('Password').fill(password);
	await studio.getByLabel('Password').press('Enter');
	await studio.getByRole('navigation', { name: 'Studio' }).waitFor();
	await studio.evaluate(() => (window.__notReloaded = true));
	result.firstLoadBytes = await transferred(studio, true);
	await shot(studio, 'signed-in');

	// 2. The messages collection, with date_created from the optional system fields, then text and user.
	await nav(studio, 'Data model');
	// A dialog opens from the keyboard, takes the focus, and Escape closes it.
	await studio.getByRole('button', { name: 'New collection' }).first().focus();
	await studio.keyboard.press('Enter');
	result.dialogFocus = await studio.evaluate(() => document.activeElement?.name);
	await studio.keyboard.press('Escape');
	await studio.getByRole('dialog').waitFor({ state: 'detached' });
	await studio.getByRole('button', { name: 'New collection' }).first().click();
	await studio.getByLabel('Name', { exact: true }).fill('messages');
	await studio.getByLabel(/Created on/).check();
	await shot(studio, 'new-collection');
	await studio.getByRole('button', { name: 'Create collection' }).click();
	await studio.getByRole('heading', { name: 'messages' }).waitFor();
	for (const field of ['text', 'user']) {
		await studio.getByRole('button', { name: 'New field' }).click();
		await studio.getByRole('dialog').getByLabel('Name', { exact: true }).fill(field);
		await studio.getByRole('button', { name: 'Create field' }).click();
		await studio.getByRole('cell', { name: field, exact: true }).waitFor();
	}
	// A mistake shows its API error next to the form: a field that already exists.
	await studio.getByRole('button', { name: 'New field' }).click();
	await studio.getByRole('dialog').getByLabel('Name', { exact: true }).fill('text');
	await studio.getByRole('button', { name: 'Create field' }).click();
	result.duplicateField = await studio.getByRole('dialog').getByRole('alert').textContent();
	await shot(studio, 'field-error');
	await studio.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
	result.fields = await studio.$$eval('tbody tr td:first-child', (cells) => cells.map((c) => c.textContent));
	await shot(studio, 'fields');

	// 3. A role that may read and create messages (its policy's permissions), and a user of that role.
	await nav(studio, 'Access');
	await studio.getByRole('button', { name: 'New role' }).click();
	await studio.getByRole('dialog').getByLabel('Name', { exact: true }).fill('Chatters');
	await studio.getByRole('button', { name: 'Create role' }).click();
	await studio.getByRole('heading', { name: 'Policy Chatters' }).waitFor();
	for (const action of ['read', 'create']) {
		await studio.getByRole('button', { name: `${action} on messages: none` }).click();
		await studio.getByRole('dialog').getByLabel(/All access/).check();
		await studio.getByRole('button', { name: 'Save permission' }).click();
		await studio.getByRole('button', { name: `${action} on messages: all` }).waitFor();
	}
	await shot(studio, 'permissions');
	await nav(studio, 'Users');
	await studio.getByRole('button', { name: 'New user' }).click();
	const dialog = studio.getByRole('dialog');
	await dialog.getByLabel('E-mail').fill('ann@example.com');
	await dialog.getByLabel('Password').fill('ann-password');
	await dialog.getByLabel('First name').fill('Ann');
	await dialog.getByLabel('Role').selectOption({ label: 'Chatters' });
	await studio.getByRole('button', { name: 'Create user' }).click();
	await studio.getByRole('heading', { name: 'ann@example.com' }).waitFor();

	// 4. The user's static token, generated in the browser and shown once.
	await studio.getByRole('button', { name: 'Generate a static token' }).click();
	const token = (await studio.locator('#new-token').textContent()).trim();
	result.token = token;
	await shot(studio, 'static-token');

	// 5. The content table of messages, empty, live.
	await nav(studio, 'Content');
	await studio.getByRole('link', { name: 'messages' }).click();
	await studio.getByText('No items yet').waitFor();
	await studio.locator('.live-status[data-state="live"]').waitFor();
	await shot(studio, 'content-empty');

	// 6. The example chat page with the user's token sends three messages.
	const chat = await context.newPage();
	await chat.goto(`${apiUrl}/examples/chat/?access_token=${encodeURIComponent(token)}`);
	await chat.waitForFunction(() => document.getElementById('log').textContent.includes('"event":"init"'));
	await chat.fill('#user', 'ann');
	const texts = ['Hello from the chat page', 'Second message', 'Third message'];
	for (const text of texts) {
		await chat.fill('#text', text);
		await chat.click('#new button[type=submit]');
		await chat.waitForFunction((t) => document.getElementById('log').textContent.includes(t), text);
	}
	await shot(chat, 'chat-page');

	// 7. The Studio's table shows them, without a reload.
	await studio.bringToFront();
	await studio.waitForFunction((t) => t.every((text) => document.querySelector('tbody')?.textContent.includes(text)), texts);
	result.rows = await studio.$$eval('tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
	result.headers = await studio.$$eval('thead th', (cells) => cells.map((c) => c.textContent.trim()));
	result.notReloaded = await studio.evaluate(() => window.__notReloaded === true);
	await shot(studio, 'content-live');
	result.allBytes = await transferred(studio);

	// View as: the same table as Ann reads it (her role may read every field of every message).
	await studio.getByLabel('View as').selectOption({ label: 'ann@example.com' });
	await studio.getByText('Viewing as ann@example.com').waitFor();
	await studio.waitForFunction(() => document.querySelectorAll('tbody tr').length === 3 && !document.querySelector('tbody a'));
	result.viewAs = await studio.$$eval('tbody tr', (rows) => rows.map((r) => r.cells[2].textContent));
	await shot(studio, 'view-as');
	await studio.getByLabel('View as').selectOption({ label: 'Myself (admin)' });
	await studio.waitForFunction(() => document.querySelector('tbody a'));

	// The same screen at a phone's width and in the dark.
	await studio.setViewportSize({ width: 390, height: 844 });
	await shot(studio, 'phone');
	await studio.emulateMedia({ colorScheme: 'dark' });
	await studio.setViewportSize({ width: 1280, height: 800 });
	await shot(studio, 'dark');
	await studio.emulateMedia({ colorScheme: 'light' });

	// The realtime inspector: the chat page's socket and the Studio's, each subscribed to messages.
	await nav(studio, 'Realtime');
	await studio.getByText('Events per second', { exact: true }).waitFor();
	await studio.waitForFunction(() => document.querySelectorAll('tbody tr').length >= 3);
	result.inspector = await studio.$$eval('table', (tables) => tables.map((t) => [...t.tBodies[0].rows].map((r) => [...r.cells].map((c) => c.textContent))));
	await shot(studio, 'realtime-inspector');

	// 8. Ann may use the API but has no app access: the Studio tells her so instead of showing nothing.
	await studio.getByRole('button', { name: 'Sign out' }).click();
	await studio.getByLabel('E-mail').fill('ann@example.com');
	await studio.getByLabel('Password').fill('ann-password');
	await studio.getByRole('button', { name: 'Sign in' }).click();
	await studio.getByRole('heading', { name: 'No access to the Studio' }).waitFor();
	result.noAccess = await studio.getByRole('main').textContent();
	await shot(studio, 'no-app-access');
	result.failures = failures;
	process.stdout.write(JSON.stringify(result) + '\n');
} finally {
	await browser.close();
}

async function nav(page, name) {
	await page.getByRole('navigation', { name: 'Studio' }).getByRole('link', { name, exact: true }).click();
}

/** Bytes transferred so far for the page: its document and every resource it fetched (with `files`, only
 * the Studio's own files, leaving out API answers). */
async function transferred(page, files = false) {
	return page.evaluate((files) => [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
		.filter((entry) => !files || new URL(entry.name).pathname.startsWith('/admin/'))
		.reduce((sum, entry) => sum + entry.transferSize, 0), files);
}
