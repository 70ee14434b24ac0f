// Headless Chromium drives the parts of Tidepool Studio the seed guide does not reach: a collection with a
// UUID key and every optional system field, fields of several types, a many-to-one and its one-to-many,
// the item editor (a required field left empty, invalid JSON: each error next to its field), a filter, and
// a custom permission built with the rule builder.
// Usage: node studio_model.mjs <studio-url> <admin-email> <admin-password> <screenshot-dir>
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const [studioUrl, email, password, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
	executablePath: '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
		'--disable-component-update', '--disable-sync'],
});
const result = {};
try {
	const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
	page.setDefaultTimeout(45000); // a loaded CI machine (make test-long runs three workers beside it)
	const failures = [];
	page.on('pageerror', (e) => failures.push(String(e)));
	const dialog = () => page.getByRole('dialog');
	await page.goto(studioUrl);
	await page.getByLabel('E-mail').fill(email);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await page.getByRole('navigation', { name: 'Studio' }).waitFor();

	await page.goto(`${studioUrl}#/model`);
	await page.getByRole('button', { name: 'New collection' }).first().click();
	await dialog().getByLabel('Name', { exact: true }).fill('posts');
	await dialog().getByLabel('Primary key type').selectOption('uuid');
	for (const label of [/^Status/, /^Sort/, /Created on/, /Updated on/, /Created by/, /Updated by/]) await dialog().getByLabel(label).check();
	await page.getByRole('button', { name: 'Create collection' }).click();
	await page.getByRole('heading', { name: 'posts' }).waitFor();
	for (const [name, type, required] of [['title', 'string', true], ['views', 'integer', false], ['data', 'json', false]]) {
		await page.getByRole('button', { name: 'New field' }).click();
		await dialog().getByLabel('Name', { exact: true }).fill(name);
		await dialog().getByLabel('Type').selectOption(type);
		if (required) await dialog().getByLabel(/^Required/).check();
		await page.getByRole('button', { name: 'Create field' }).click();
		await page.getByRole('cell', { name, exact: true }).waitFor();
	}
	await page.getByRole('button', { name: 'New collection' }).first().click();
	await dialog().getByLabel('Name', { exact: true }).fill('comments');
	await page.getByRole('button', { name: 'Create collection' }).click();
	await page.getByRole('heading', { name: 'comments' }).waitFor();
	await page.getByRole('button', { name: 'New field' }).click();
	await dialog().getByLabel('Name', { exact: true }).fill('post');
	await dialog().getByLabel('Type').selectOption('m2o');
	await dialog().getByLabel('Related collection').selectOption('posts');
	await page.getByRole('button', { name: 'Create field' }).click();
	await page.getByRole('cell', { name: 'm2o → posts' }).waitFor();
	await page.goto(`${studioUrl}#/model/posts`);
	await page.getByRole('button', { name: 'New field' }).click();
	await dialog().getByLabel('Name', { exact: true }).fill('comments');
	await dialog().getByLabel('Type').selectOption('o2m');
	await dialog().getByLabel('Related collection').selectOption('comments');
	await dialog().getByLabel('Its m2o field pointing here').selectOption('post');
	await page.getByRole('button', { name: 'Create field' }).click();
	await page.getByRole('cell', { name: 'o2m ← comments.post' }).waitFor();
	result.postsFields = await page.$$eval('tbody tr', (rows) => rows.map((r) => [r.cells[0].textContent, r.cells[1].textContent]));
	await page.screenshot({ path: `${shots}/model-posts.png`, fullPage: true });

	// The item editor: a required field left empty, then invalid JSON, each shown next to its field.
	await page.goto(`${studioUrl}#/content/posts/+`);
	await page.getByRole('button', { name: 'Create item' }).click();
	result.requiredError = await page.locator('.control', { has: page.getByLabel('title') }).getByRole('alert').textContent();
	await page.getByLabel('title').fill('First post');
	await page.getByLabel('data').fill('{"a": 1');
	await page.getByRole('button', { name: 'Create item' }).click();
	result.jsonError = await page.locator('.control', { has: page.getByLabel('data') }).getByRole('alert').textContent();
	await page.screenshot({ path: `${shots}/item-errors.png`, fullPage: true });
	await page.getByLabel('data').fill('{"a": 1}');
	await page.getByLabel('views').fill('12');
	await page.getByRole('button', { name: 'Create item' }).click();
	await page.getByRole('heading', { name: 'posts', exact: true }).waitFor();
	await page.locator('.live-status[data-state="live"]').waitFor(); // on the server's WEBSOCKETS_REST_PATH
	await page.locator('tbody tr a').first().click();
	await page.getByLabel('title').fill('Edited post');
	await page.getByLabel('status').selectOption('published');
	await page.getByRole('button', { name: 'Save' }).click();
	await page.getByRole('heading', { name: 'posts', exact: true }).waitFor();
	await page.locator('summary', { hasText: 'Filter' }).click();
	await page.getByLabel('Field', { exact: true }).selectOption('title');
	await page.getByLabel('Operator').selectOption('_contains');
	await page.getByLabel('Value', { exact: true }).fill('Edited');
	await page.getByRole('button', { name: 'Filter', exact: true }).click();
	await page.getByText('1–1 of 1').waitFor();
	result.filterJson = await page.locator('details.filters pre').textContent();
	// A comment on that post, picked by its title in the many-to-one field.
	await page.goto(`${studioUrl}#/content/comments/+`);
	const picker = page.getByLabel('post', { exact: true });
	await picker.selectOption(await picker.evaluate((select) => [...select.options].find((o) => o.text.endsWith('· Edited post')).value));
	await page.getByRole('button', { name: 'Create item' }).click();
	await page.getByRole('heading', { name: 'comments', exact: true }).waitFor();
	await page.goto(`${studioUrl}#/content/posts`);
	await page.getByRole('heading', { name: 'posts', exact: true }).waitFor();
	await page.getByLabel('Value', { exact: true }).fill('nothing like it');
	await page.getByRole('button', { name: 'Filter', exact: true }).click();
	await page.getByText('No items match.').waitFor();
	await page.screenshot({ path: `${shots}/filtered.png`, fullPage: true });

	// A custom permission: update own posts only, built condition by condition.
	await page.goto(`${studioUrl}#/access`);
	await page.getByRole('button', { name: 'New policy' }).click();
	await dialog().getByLabel('Name', { exact: true }).fill('Editors');
	await page.getByRole('button', { name: 'Create policy' }).click();
	await page.getByRole('heading', { name: 'Policy Editors' }).waitFor();
	await page.getByRole('button', { name: 'update on posts: none' }).click();
	await dialog().getByLabel('Custom').check();
	await dialog().getByLabel('every field (*)').uncheck();
	await dialog().getByLabel('title', { exact: true }).check();
	await page.getByRole('button', { name: 'Add a condition' }).click();
	await dialog().getByLabel('Field', { exact: true }).selectOption('user_created');
	await dialog().getByLabel('Value', { exact: true }).fill('$CURRENT_USER');
	result.ruleJson = await dialog().getByLabel('Item rule as JSON').inputValue();
	await page.screenshot({ path: `${shots}/custom-permission.png` });
	await page.getByRole('button', { name: 'Save permission' }).click();
	await page.getByRole('button', { name: 'update on posts: custom' }).waitFor();
	result.failures = failures;
	process.stdout.write(JSON.stringify(result) + '\n');
} finally {
	await browser.close();
}
