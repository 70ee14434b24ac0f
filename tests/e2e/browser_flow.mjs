// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) opens the example chat page,
// which runs the Directus guide's script, then types a message, reads the latest item, and prints the
// page's log as JSON.  Usage: node browser_flow.mjs <page-url> <api-url> <static-token>
import { chromium } from 'playwright-core';

const [pageUrl, apiUrl, token] = process.argv.slice(2);
const browser = await chromium.launch({
	executablePath: '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
		'--disable-component-update', '--disable-sync'],
});
try {
	const page = await browser.newPage();
	await page.goto(pageUrl);
	await page.waitForFunction(() => document.getElementById('log').textContent.includes('"event":"init"'));
	await page.fill('#text', 'typed in the browser');
	await page.click('button[type=submit]');
	await page.waitForFunction(() => document.getElementById('log').textContent.includes('typed in the browser'));
	const response = await fetch(`${apiUrl}/items/messages`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
		body: JSON.stringify({ text: 'sent over REST', user: 'rest' }),
	});
	if (!response.ok) throw new Error(`REST create failed: ${response.status}`);
	await page.waitForFunction(() => document.getElementById('log').textContent.includes('sent over REST'));
	await page.click('#latest');
	await page.waitForFunction(() => (document.getElementById('log').textContent.match(/"event":"items"/g) || []).length >= 2);
	const log = await page.textContent('#log');
	const shown = await page.$$eval('#messages li', (items) => items.map((li) => li.textContent));
	process.stdout.write(JSON.stringify({ log: log.trim().split('\n'), shown }) + '\n');
} finally {
	await browser.close();
}
