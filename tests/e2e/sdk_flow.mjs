// The official @directus/sdk against a running Tidepool, unchanged: the seed guide's flow, email/password
// auth, items over the socket, heartbeat, and a server restart (reconnect + resubscribe without doubling).
//
// Usage: node sdk_flow.mjs <base-url> <static-token> <email> <password>
// Prints one JSON object per line ({"step": ..., ...}); the Python test asserts on them. When it prints
// {"step":"restart-me"} it waits for a line on stdin (the test restarts the server meanwhile).
import { authentication, createDirectus, createItem, readItems, realtime, rest, staticToken } from '@directus/sdk';
import { createInterface } from 'node:readline';

const [baseUrl, token, email, password] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin });
const stdinLines = lines[Symbol.asyncIterator]();

function report(step, data = {}) {
	process.stdout.write(JSON.stringify({ step, ...data }) + '\n');
}

function sleep(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(predicate, what, timeoutMs = 8000) {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (predicate()) return;
		await sleep(20);
	}
	throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
}

// Collect every message of a subscription in the background.
function collect(subscription) {
	const seen = [];
	(async () => {
		for await (const message of subscription) seen.push(message);
	})().catch((error) => report('subscription-error', { error: String(error) }));
	return seen;
}

// Send an items message over the socket and wait for the reply with the same uid.
function itemsRequest(client, message) {
	return new Promise((resolve, reject) => {
		const uid = `req-${Math.random().toString(36).slice(2)}`;
		const timer = setTimeout(() => reject(new Error('no reply to items request')), 5000);
		const remove = client.onWebSocket('message', (data) => {
			if (data.type === 'items' && data.uid === uid) {
				clearTimeout(timer);
				remove();
				resolve(data);
			}
		});
		client.sendMessage({ ...message, type: 'items', uid });
	});
}

async function staticTokenFlow() {
	// The reconnect waits 5 s (the SDK's default is 1 s): @directus/sdk 26 overflows Node's stack when a reconnect
	// attempt is refused (its close handler closes the failed socket again, which fires close again), so the
	// restarted server must be up before the first attempt, also on a loaded machine.
	const client = createDirectus(baseUrl)
		.with(staticToken(token))
		.with(realtime({ reconnect: { delay: 5000, retries: 10 } }))
		.with(rest());
	// The SDK answers the server's pings itself (they never reach message handlers); a socket that did not
	// answer would be closed after one heartbeat period, so counting closes shows the pongs worked.
	let closes = 0;
	client.onWebSocket('close', () => {
		closes += 1;
	});
	await client.connect();
	report('connected', { mode: 'static-token' });

	// The guide: subscribe to creates with the fields user,text (the SDK sends them as strings).
	const guide = await client.subscribe('messages', { event: 'create', query: { fields: ['user', 'text'] } });
	const guideEvents = collect(guide.subscription);
	const all = await client.subscribe('messages', { query: { fields: ['id', 'text', 'user'], limit: 10, sort: ['id'] } });
	const allEvents = collect(all.subscription);
	await waitFor(() => guideEvents.length >= 1 && allEvents.length >= 1, 'init messages');
	report('init', { guide: guideEvents[0], all: allEvents[0] });

	const created = await itemsRequest(client, {
		collection: 'messages',
		action: 'create',
		data: { text: 'Hello from the SDK socket', user: 'sdk' },
	});
	report('items-create', { reply: created });
	await client.request(createItem('messages', { text: 'Hello from SDK REST', user: 'sdk' }));
	await waitFor(
		() => guideEvents.length >= 3 && allEvents.length >= 3,
		() => `create events (got ${JSON.stringify({ guideEvents, allEvents })})`,
	);
	report('events', { guide: guideEvents.slice(1), all: allEvents.slice(1) });

	const latest = await itemsRequest(client, {
		collection: 'messages',
		action: 'read',
		query: { limit: 1, sort: '-date_created' },
	});
	report('latest', { reply: latest });
	const restRead = await client.request(readItems('messages', { fields: ['id', 'text'], sort: ['id'] }));
	report('rest-read', { items: restRead });

	// Server restart: the SDK reconnects and re-sends each subscription (twice); events must not double.
	await sleep(2500); // more than two heartbeat periods of the test server
	report('restart-me', { closes });
	await stdinLines.next();
	await sleep(7500); // the reconnect delay (5 s, above) and the resubscribes
	const before = allEvents.length;
	await client.request(createItem('messages', { text: 'after restart', user: 'sdk' }));
	await sleep(1500);
	const afterRestart = allEvents.slice(before).filter((m) => m.event === 'create');
	report('after-restart', { creates: afterRestart, closes });
	client.disconnect();
}

async function passwordFlow() {
	const client = createDirectus(baseUrl).with(authentication('json')).with(realtime()).with(rest());
	await client.login({ email, password });
	await client.connect();
	report('connected', { mode: 'email-password' });
	const { subscription } = await client.subscribe('messages', { query: { fields: ['text'], filter: { user: { _eq: 'pw' } } } });
	const events = collect(subscription);
	await waitFor(() => events.length >= 1, 'init');
	await client.request(createItem('messages', { text: 'seen', user: 'pw' }));
	await client.request(createItem('messages', { text: 'filtered out', user: 'other' }));
	await sleep(1000);
	report('password-events', { events });
	client.disconnect();
}

try {
	await staticTokenFlow();
	await passwordFlow();
	report('done');
	process.exit(0);
} catch (error) {
	report('failed', { error: String(error && error.stack ? error.stack : error) });
	process.exit(1);
}
