// One WebSocket for the Studio, authenticated by the session cookie on the upgrade, holding at most one
// subscription. It remembers the `seq` of the last frame applied and, after any reconnect (a restart, a
// network drop, a session refresh that ends the old socket with 4401), subscribes again with `since`:
// Tidepool answers `resume` (keep what you hold; the missed changes follow) or a fresh `init` (replace).

let follows = 0; // each subscription gets its own uid, so a late frame of the previous one is never taken for it

export class Live {
	/** `path`: the server's WebSocket path (`/server/info`'s `websocket.rest.path`); null when it has none. */
	constructor(path, onStatus) {
		this.path = path;
		this.onStatus = onStatus;
		this.socket = null;
		this.current = null; // { collection, query, handle, seq }
		this.attempt = 0;
		this.timer = null;
	}

	/** Follow `collection` with `query`; `handle(event, data)` gets init/resume/create/update/delete. */
	follow(collection, query, handle) {
		if (this.current && this.socket?.readyState === WebSocket.OPEN) this.send({ type: 'unsubscribe', uid: this.current.uid });
		this.current = { collection, query, handle, seq: null, uid: `studio-${++follows}` };
		if (!this.path) return this.onStatus('off');
		if (this.socket?.readyState === WebSocket.OPEN) this.subscribe();
		else this.connect();
	}

	stop() {
		if (this.current && this.socket?.readyState === WebSocket.OPEN) this.send({ type: 'unsubscribe', uid: this.current.uid });
		this.current = null;
	}

	/** A new session cookie: the old socket is about to be closed (4401); open the next one now. */
	reconnect() {
		const old = this.socket;
		this.socket = null;
		if (old) {
			old.onclose = null;
			old.close();
		}
		if (this.current && this.path) this.connect();
	}

	close() {
		this.current = null;
		clearTimeout(this.timer);
		if (this.socket) {
			this.socket.onclose = null;
			this.socket.close();
			this.socket = null;
		}
	}

	send(message) {
		this.socket.send(JSON.stringify(message));
	}

	subscribe() {
		const { collection, query, seq, uid } = this.current;
		this.send({ type: 'subscribe', collection, query, uid, ...(seq !== null && { since: seq }) });
	}

	connect() {
		clearTimeout(this.timer);
		if (this.socket && this.socket.readyState <= WebSocket.OPEN) return;
		const url = new URL(this.path, location.href);
		url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
		const socket = new WebSocket(url);
		this.socket = socket;
		this.onStatus('connecting');
		socket.onopen = () => {
			this.attempt = 0;
			this.onStatus('live');
			if (this.current) this.subscribe();
		};
		socket.onmessage = ({ data }) => this.receive(JSON.parse(data));
		socket.onclose = () => {
			if (this.socket !== socket) return;
			this.socket = null;
			this.onStatus('reconnecting');
			const wait = Math.min(4000, 250 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
			this.timer = setTimeout(() => this.current && this.connect(), wait);
		};
	}

	receive(message) {
		if (message.type === 'ping') return this.send({ type: 'pong' });
		if (!this.current || message.uid !== this.current.uid) return;
		if (message.status === 'error') return this.current.handle('error', message.error);
		if (message.type !== 'subscription') return;
		if (typeof message.seq === 'number') this.current.seq = message.seq;
		this.current.handle(message.event, message.data);
	}
}
