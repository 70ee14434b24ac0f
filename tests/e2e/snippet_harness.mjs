// Appended by test_docs_snippet.py to the reconnect loop of docs/websocket.md ("Reconnecting without missing a
// change"), which declares `rows`, `since` and `stopped`. It records the `since` of every subscribe sent, and
// for each line read ({"expect": [...texts]}) waits until the snippet holds those texts (or 30 s), then prints
// what it holds as one JSON line.
const { createInterface } = await import('node:readline');

const subscribed = [];
const realSend = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
	const message = JSON.parse(data);
	if (message.type === 'subscribe') subscribed.push(message.since ?? null);
	return realSend.call(this, data);
};
const held = () => [...rows.values()].sort((a, b) => a.id - b.id).map((row) => row.text);

for await (const line of createInterface({ input: process.stdin })) {
	const expected = JSON.stringify(JSON.parse(line).expect);
	const deadline = Date.now() + 30000;
	while (JSON.stringify(held()) !== expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
	process.stdout.write(JSON.stringify({ rows: held(), since, subscribed }) + '\n');
}
stopped = true;
process.exit(0);
