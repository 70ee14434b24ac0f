// Tidepool Studio's content table in headless Chromium, kept open while the test restarts the server and
// writes elsewhere. Usage: node studio_live.mjs <studio-url> <collection> <email> <password>
// Prints {"step":"ready"} once the table is live; then for each stdin line {"expect":[texts]} prints
// {"step":"settled"|"timeout", ...} once the table shows exactly those texts (or after 30 s), and for
// {"refresh":true} refreshes the session as the Studio's timer does and prints {"step":"refreshed"}. The
// `subscribes` it reports are the Studio's subscribe frames, as sent.
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';
import { shownTexts, tableShows } from './studio_table.mjs';

const [studioUrl, collection, email, password] = process.argv.slice(2);
const browser = await chromium.launch({
	executablePath: '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
		'--disable-component-update', '--disable-sync'],
});
const subscribes = [];
const say = (message) => process.stdout.write(JSON.stringify(message) + '\n');
try {
	const page = await browser.newPage();
	page.setDefaultTimeout(45000); // a loaded CI machine (make test-long runs three workers beside it)
	page.on('websocket', (socket) => socket.on('framesent', ({ payload }) => {
		const frame = JSON.parse(payload);
		if (frame.type === 'subscribe') subscribes.push(frame);
	}));
	await page.goto(studioUrl);
	await page.getByLabel('E-mail').fill(email);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.getByRole('navigation', { name: 'Studio' }).waitFor();
	await page.evaluate(() => (window.__notReloaded = true));
	await page.goto(`${studioUrl}#/content/${collection}`);
	await page.locator('.live-status[data-state="live"]').waitFor();
	await page.locator('tbody tr').first().waitFor();
	await page.evaluate(() => (window.__notReloaded = true));
	say({ step: 'ready', shown: await shownTexts(page), subscribes });
	for await (const line of createInterface({ input: process.stdin })) {
		const { expect, refresh } = JSON.parse(line);
		if (refresh) {
			// A session refresh, as the Studio's timer makes it: the old cookie's socket is replaced.
			const before = subscribes.length;
			await page.evaluate(() => import('./api.js').then((api) => api.refresh()));
			for (let waited = 0; subscribes.length === before && waited < 10000; waited += 50) await page.waitForTimeout(50);
			await page.waitForFunction(() => document.querySelector('.live-status')?.dataset.state === 'live');
			say({ step: 'refreshed', subscribes });
			continue;
		}
		const step = await tableShows(page, expect);
		const status = await page.locator('.live-status').getAttribute('data-state');
		say({ step, shown: await shownTexts(page), subscribes, status, notReloaded: await page.evaluate(() => window.__notReloaded === true) });
	}
} finally {
	await browser.close();
}
