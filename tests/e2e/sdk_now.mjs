// `$NOW(±n unit)` in filters sent by the official SDK, over REST and in a realtime subscription (issue 9 saw
// `$NOW(-1 day)` fail from the SDK). Usage: node sdk_now.mjs <base-url> <token> <collection>
// Prints one JSON object: the ids each filtered read returned and the subscription's events.
import { createDirectus, createItem, readItems, realtime, rest, staticToken } from '@directus/sdk';

const [baseUrl, token, collection] = process.argv.slice(2);
const client = createDirectus(baseUrl).with(staticToken(token)).with(realtime()).with(rest());
const ids = async (filter) => (await client.request(readItems(collection, { fields: ['id'], sort: ['id'], filter }))).map((r) => r.id);
const result = {
	sinceYesterday: await ids({ date_created: { _gte: '$NOW(-1 day)' } }),
	beforeYesterday: await ids({ date_created: { _lt: '$NOW(-1 day)' } }),
	between: await ids({ date_created: { _between: ['$NOW(-1 days)', '$NOW(+2 hours)'] } }),
	future: await ids({ date_created: { _gt: '$NOW(+1 hour)' } }),
};
await client.connect();
const { subscription } = await client.subscribe(collection, {
	query: { fields: ['id'], filter: { date_created: { _gte: '$NOW(-1 day)' } } },
});
const events = [];
(async () => {
	for await (const message of subscription) events.push(message);
})();
const deadline = Date.now() + 10000;
while (!events.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
const created = await client.request(createItem(collection, { text: 'now' }));
while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
result.created = created.id;
result.events = events.map((m) => ({ event: m.event, ids: (m.data || []).map((r) => r.id), error: m.error }));
process.stdout.write(JSON.stringify(result) + '\n');
client.disconnect();
process.exit(0);
