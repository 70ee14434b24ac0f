// Headless Chromium keeps the example chat page open while the test stops and restarts the server, and
// reports what the page shows at each step; the test (test_browser.py) decides what is right.
// Usage: node browser_resume.mjs <page-url>
// Protocol: one JSON line out per step ({"step": ...}); after "shown", each line in is {"expect": [...]},
// the messages the page must come to show ("user: text", in order), answered by one "settled" step (or a
// "timeout" step with what the page shows instead).
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const [pageUrl] = process.argv.slice(2);
const SETTLE_MS = 30000;

function report(step, extra) {
	process.stdout.write(JSON.stringify({ step, ...extra }) + '\n');
}

async function state(page) {
	return page.evaluate(() => ({
		shown: [...document.querySelectorAll('#messages li')].map((li) => li.textContent),
		chat: { seq: window.chat.seq, subscribed: window.chat.subscribed, resumes: window.chat.resumes, inits: window.chat.inits },
		notReloaded: window.notReloaded === true,
		log: document.getElementById('log').textContent.trim().split('\n'),
	}));
}

const browser = await chromium.launch({
	executablePath: '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
		'--disable-component-update', '--disable-sync'],
});
try {
	const page = await browser.newPage();
	await page.goto(pageUrl);
	await page.waitForFunction(() => window.chat?.inits === 1);
	await page.evaluate(() => { window.notReloaded = true; }); // a reload would lose it
	report('shown', await state(page));
	for await (const line of createInterface({ input: process.stdin })) {
		const { expect } = JSON.parse(line);
		try {
			await page.waitForFunction(
				(expected) => JSON.stringify([...document.querySelectorAll('#messages li')].map((li) => li.textContent)) === expected,
				JSON.stringify(expect),
				{ timeout: SETTLE_MS },
			);
			report('settled', await state(page));
		} catch (error) {
			report('timeout', { error: String(error), ...(await state(page)) });
		}
	}
} finally {
	await browser.close();
}
