// The Studio's one way to Tidepool: fetch against the public REST API, signed in with a session cookie
// (POST /auth/login with mode "session", as the Directus SDK does), refreshed before it expires.

export class ApiError extends Error {
	constructor(status, errors) {
		const list = errors && errors.length ? errors : [{ message: `HTTP ${status}` }];
		super(list.map((e) => e.message).join(' '));
		this.status = status;
		this.errors = list;
		this.code = list[0].extensions?.code ?? null;
		this.field = list[0].extensions?.field ?? null;
	}
}

let refreshTimer = null;
let onSignedOut = () => {};

/** Called when a request finds the session gone (expired and not refreshable): the app shows sign-in. */
export function whenSignedOut(callback) {
	onSignedOut = callback;
}

function urlOf(path, query) {
	const url = new URL(path, location.origin);
	for (const [key, value] of Object.entries(query ?? {})) {
		if (value === undefined || value === null || value === '') continue;
		url.searchParams.set(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
	}
	return url;
}

async function send(method, path, body, query) {
	const init = { method, credentials: 'same-origin', headers: {} };
	if (body !== undefined) {
		init.headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(body);
	}
	let response;
	try {
		response = await fetch(urlOf(path, query), init);
	} catch {
		throw new ApiError(0, [{ message: 'Tidepool cannot be reached. Is the server running?', extensions: { code: 'NETWORK' } }]);
	}
	if (response.status === 204) return { data: null };
	const text = await response.text();
	let payload = null;
	try {
		payload = text ? JSON.parse(text) : null;
	} catch {
		payload = null;
	}
	if (!response.ok) throw new ApiError(response.status, payload?.errors ?? [{ message: text || response.statusText }]);
	return payload ?? { data: null };
}

/** One REST call; answers the body's `data` (and `meta` with `{ full: true }`). A session that expired is
 * refreshed once and the call retried. */
export async function api(method, path, { body, query, full = false } = {}) {
	let payload;
	try {
		payload = await send(method, path, body, query);
	} catch (error) {
		if (!(error instanceof ApiError) || error.code !== 'TOKEN_EXPIRED' || path.startsWith('/auth/')) throw error;
		if (!(await refresh())) {
			onSignedOut();
			throw error;
		}
		payload = await send(method, path, body, query);
	}
	return full ? payload : payload.data;
}

function schedule(expires) {
	clearTimeout(refreshTimer);
	if (!expires) return;
	refreshTimer = setTimeout(refresh, Math.max(5000, expires - 30000));
}

const listeners = new Set();
/** Called after each session refresh (the realtime socket reconnects with the new cookie). */
export function onRefresh(callback) {
	listeners.add(callback);
}

let signedInAs = null; // the e-mail typed at sign-in: a user without app access may not read their own

export async function signIn(email, password) {
	const data = await api('POST', '/auth/login', { body: { email, password, mode: 'session' } });
	signedInAs = email;
	schedule(data?.expires);
}

export async function refresh() {
	try {
		const data = await api('POST', '/auth/refresh', { body: { mode: 'session' } });
		schedule(data?.expires);
		for (const listener of listeners) listener();
		return true;
	} catch {
		return false;
	}
}

export async function signOut() {
	clearTimeout(refreshTimer);
	refreshTimer = null;
	signedInAs = null;
	try {
		await api('POST', '/auth/logout', { body: { mode: 'session' } });
	} catch {
		// already signed out: nothing to end
	}
}

/** Who is signed in (null when nobody), with the global flags; a session left from an earlier visit is
 * refreshed first so that its timer runs. */
export async function whoAmI() {
	let me;
	try {
		me = await api('GET', '/users/me', { query: { fields: 'id,email,first_name,last_name,role' } });
	} catch (error) {
		if (error.status === 401 && (await refresh())) return whoAmI();
		if (error.status === 401 || error.status === 403) return null;
		throw error;
	}
	if (!refreshTimer) await refresh();
	const flags = await api('GET', '/policies/me/globals');
	return { ...me, email: me.email ?? signedInAs, admin: Boolean(flags.admin_access), app: Boolean(flags.app_access) };
}
