// A screen's late answer must not replace the screen opened after it. Usage:
// node studio_stale_route.mjs <studio-url> <collection> <email> <password>
// Signs in while holding the answer to GET /collections (what the content index waits for), opens the
// collection's table, waits for its first row, then lets the index's answer through and waits for it to be
// read; then asks the test (stdout {"step":"held"}) for a write, and reports whether the table, kept live,
// shows the written row ({"step":"settled"|"timeout", shown, heading}).
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';
import { shownTexts, tableShows } from './studio_table.mjs';

const [studioUrl, collection, email, password] = process.argv.slice(2);
const browser = await chromium.launch({
	executablePath: '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
		'--disable-component-update', '--disable-sync'],
});
const say = (message) => process.stdout.write(JSON.stringify(message) + '\n');
try {
	const page = await browser.newPage();
	page.setDefaultTimeout(45000);
	let release;
	const released = new Promise((resolve) => (release = resolve));
	let indexAsked;
	const asked = new Promise((resolve) => (indexAsked = resolve));
	await page.route((url) => url.pathname === '/collections', async (route) => {
		indexAsked();
		await released;
		await route.continue();
	});
	await page.goto(studioUrl);
	await page.getByLabel('E-mail').fill(email);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.getByRole('navigation', { name: 'Studio' }).waitFor();
	await asked; // the content index (the first screen) waits for its answer
	await page.goto(`${studioUrl}#/content/${collection}`);
	await page.locator('.live-status[data-state="live"]').waitFor();
	await page.locator('tbody tr').first().waitFor();
	const answered = page.waitForResponse((response) => new URL(response.url()).pathname === '/collections');
	release();
	await (await answered).finished();
	await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0))); // the index's code has run
	const rl = createInterface({ input: process.stdin });
	say({ step: 'held' });
	for await (const line of rl) {
		const { expect } = JSON.parse(line);
		const step = await tableShows(page, expect);
		const shown = await shownTexts(page);
		const heading = await page.locator('main h1').first().textContent();
		say({ step, shown, heading });
		break;
	}
} finally {
	await browser.close();
}
