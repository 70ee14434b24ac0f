// The official @directus/sdk subscribed while one REST request creates thousands of items (one event each):
// every item must reach the subscription, on a socket that is never closed.
// Usage: node sdk_batch.mjs <base-url> <token> <collection> <count>
// Prints one JSON object: the created ids, the subscription's create frames (ids and seq) and the closes.
import { createDirectus, createItems, realtime, rest, staticToken } from '@directus/sdk';

const [baseUrl, token, collection, countText] = process.argv.slice(2);
const count = Number(countText);
const client = createDirectus(baseUrl).with(staticToken(token)).with(realtime()).with(rest());
let closes = 0;
client.onWebSocket('close', () => {
	closes += 1;
});
await client.connect();
const { subscription } = await client.subscribe(collection, { query: { fields: ['id', 'text'] } });
const events = [];
(async () => {
	for await (const message of subscription) events.push(message);
})();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const received = () => events.filter((m) => m.event === 'create').reduce((n, m) => n + m.data.length, 0);
const deadline = Date.now() + 150000;
while (!events.length && Date.now() < deadline) await sleep(20);
const rows = Array.from({ length: count }, (_, i) => ({ text: `sdk-batch-${i}` }));
const created = await client.request(createItems(collection, rows, { fields: ['id'] }));
while (received() < count && closes === 0 && Date.now() < deadline) await sleep(50);
const creates = events.filter((m) => m.event === 'create');
process.stdout.write(
	JSON.stringify({
		created: created.map((row) => row.id),
		init: events[0] && events[0].event,
		frames: creates.map((m) => ({ ids: m.data.map((row) => row.id), seq: m.seq })),
		others: events.slice(1).filter((m) => m.event !== 'create').map((m) => m.event),
		closes,
	}) + '\n',
);
client.disconnect();
process.exit(0);
