// The realtime inspector: this server process's open sockets, subscriptions per collection and shared event
// read, send-queue depths and event numbers, polled every two seconds from GET /tidepool/realtime (admins).
import { api } from './api.js';
import { h, replace, pageHead, empty, showError } from './ui.js';

const EVERY = 2000;

export async function renderRealtime(main) {
	const slot = h('div');
	const body = h('div', { class: 'stack' });
	replace(main, pageHead('Realtime'), h('p', { class: 'hint' }, 'This server process, refreshed every 2 s. Events per second are the change of the dispatched seq between two looks.'), slot, body);
	let previous = null;
	const emails = new Map((await api('GET', '/users', { query: { fields: 'id,email', limit: -1 } })).map((u) => [u.id, u.email]));
	const look = async () => {
		if (!main.isConnected || !location.hash.startsWith('#/realtime')) return;
		try {
			const now = await api('GET', '/tidepool/realtime');
			showError(slot, null);
			const rate = previous && now.enabled ? ((now.seq.dispatched - previous.seq.dispatched) * 1000) / (performance.now() - previous.at) : null;
			draw(body, now, rate, emails);
			previous = { ...now, at: performance.now() };
		} catch (error) {
			showError(slot, error);
		}
		setTimeout(look, EVERY);
	};
	await look();
}

function draw(body, data, rate, emails) {
	if (!data.enabled) return replace(body, empty('WebSockets are off on this server (WEBSOCKETS_ENABLED=false).'));
	const stat = (label, value) => h('div', { class: 'card stat' }, h('small', { class: 'hint' }, label), h('strong', {}, String(value)));
	const sockets = data.sockets.map((s) => h('tr', {},
		h('td', {}, s.id), h('td', {}, s.user ? emails.get(s.user) ?? s.user : 'public'), h('td', {}, s.admin ? 'yes' : 'no'), h('td', {}, s.ip ?? '—'),
		h('td', {}, String(s.subscriptions)), h('td', {}, `${s.queued} / ${data.limits.send_queue}`)));
	const groups = data.collections.flatMap((c) => c.groups.map((g) => h('tr', {}, h('td', {}, c.collection), h('td', {}, h('code', {}, JSON.stringify(g.query))), h('td', {}, String(g.subscriptions)))));
	const table = (headings, rows, none) => rows.length
		? h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows)))
		: empty(none);
	replace(body,
		h('div', { class: 'grid2 stats' },
			stat('Open sockets', data.sockets.length),
			stat('Subscriptions', data.collections.reduce((n, c) => n + c.groups.reduce((m, g) => m + g.subscriptions, 0), 0)),
			stat('Events per second', rate === null ? '…' : rate.toFixed(1)),
			stat('seq dispatched / committed', `${data.seq.dispatched} / ${data.seq.head}`)),
		h('h2', {}, 'Sockets'),
		table(['Socket', 'User', 'Admin', 'IP', 'Subscriptions', 'Send queue'], sockets, 'No open sockets.'),
		h('h2', {}, 'Subscriptions by collection and shared event read'),
		table(['Collection', 'Query (event read)', 'Subscriptions'], groups, 'No subscriptions.'));
}
