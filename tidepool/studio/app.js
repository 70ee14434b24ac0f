// Tidepool Studio: the shell (sign-in, navigation, hash routes) and the screens it loads on demand.
import { api, signIn, signOut, whenSignedOut, whoAmI, onRefresh } from './api.js';
import { h, icon, replace, labelled, busy, errorBox, loading } from './ui.js';
import { Live } from './live.js';

const root = document.getElementById('app');
const state = { me: null, live: null, collections: null, socketPath: null };

// route prefix → [screen module, its exported render function]
const SCREENS = {
	content: ['./content.js', 'renderContent'],
	model: ['./model.js', 'renderModel'],
	access: ['./access.js', 'renderAccess'],
	users: ['./access.js', 'renderUsers'],
	realtime: ['./realtime.js', 'renderRealtime'],
};
const NAV = [
	['content', 'Content'],
	['model', 'Data model'],
	['access', 'Access'],
	['users', 'Users'],
	['realtime', 'Realtime'],
];

/** The collections a screen may list (user collections, sorted), read once per change. */
export async function userCollections(fresh = false) {
	if (!state.collections || fresh) {
		const all = await api('GET', '/collections');
		state.collections = all.filter((c) => !c.collection.startsWith('directus_') && c.schema).sort((a, b) => a.collection.localeCompare(b.collection));
	}
	return state.collections;
}

export function forgetCollections() {
	state.collections = null;
}

export function live() {
	return state.live;
}

export function me() {
	return state.me;
}

function signInScreen(problem) {
	const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
	const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
	const slot = h('div', { class: 'slot' }, problem ? errorBox(problem) : null);
	const submit = h('button', { type: 'submit', class: 'button primary' }, 'Sign in');
	const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-title' },
		h('div', { class: 'brand big' }, icon('logo'), h('span', {}, 'Tidepool Studio')),
		h('h1', { id: 'signin-title' }, 'Sign in'),
		labelled('E-mail', email),
		labelled('Password', password),
		slot,
		submit);
	form.addEventListener('submit', (event) => {
		event.preventDefault();
		busy(submit, slot, async () => {
			await signIn(email.value.trim(), password.value);
			await start();
		});
	});
	replace(root, h('main', { id: 'main', class: 'center' }, form));
	email.focus();
}

function noAccessScreen(user) {
	const out = h('button', { type: 'button', class: 'button primary', onclick: leave }, 'Sign out');
	replace(root, h('main', { id: 'main', class: 'center' },
		h('section', { class: 'card signin', 'aria-labelledby': 'noaccess-title' },
			h('div', { class: 'brand big' }, icon('logo'), h('span', {}, 'Tidepool Studio')),
			h('h1', { id: 'noaccess-title' }, 'No access to the Studio'),
			h('p', {}, `You are signed in${user.email ? ` as ${user.email}` : ''}, but none of your policies grants app access, so there is nothing the Studio can show you.`),
			h('p', {}, 'Your account still works with the API (REST and WebSocket) as your permissions allow. Ask an administrator for a policy with "App access" if you need the Studio.'),
			out)));
	out.focus();
}

async function leave() {
	state.live?.close();
	state.live = null;
	await signOut();
	state.me = null;
	state.collections = null;
	location.hash = '';
	signInScreen();
}

function shell() {
	const status = h('span', { class: 'live-status', id: 'live-status', role: 'status', title: 'Realtime connection' }, '');
	const nav = h('nav', { 'aria-label': 'Studio' },
		h('ul', {}, NAV.filter(([key]) => key !== 'realtime' || state.me.admin).map(([key, text]) => h('li', {}, h('a', { href: `#/${key}`, 'data-route': key }, icon(key), h('span', {}, text))))));
	const who = state.me.first_name || state.me.email;
	const top = h('header', { class: 'top' },
		h('a', { class: 'brand', href: '#/content' }, icon('logo'), h('span', {}, 'Tidepool Studio')),
		nav,
		h('div', { class: 'who' }, status,
			h('span', { class: 'email', title: state.me.email }, who),
			h('button', { type: 'button', class: 'button ghost', onclick: leave, 'aria-label': 'Sign out' }, icon('out'), h('span', { class: 'wide-only' }, 'Sign out'))));
	replace(root, top, h('main', { id: 'main', tabindex: '-1' }));
	state.live = new Live(state.socketPath, (value) => {
		status.textContent = { live: '● live', connecting: '○ connecting', reconnecting: '○ reconnecting', off: 'live updates off' }[value] ?? value;
		status.dataset.state = value;
	});
}

async function route() {
	if (!state.me) return;
	const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
	const key = SCREENS[parts[0]] ? parts[0] : 'content';
	for (const a of root.querySelectorAll('nav a')) {
		if (a.dataset.route === key) a.setAttribute('aria-current', 'page');
		else a.removeAttribute('aria-current');
	}
	// Each route draws into a main of its own: a screen still waiting for an answer when the next route starts
	// (a loaded server, a quick click) then draws into its detached main, never over the newer screen.
	const main = h('main', { id: 'main', tabindex: '-1' }, loading());
	document.getElementById('main').replaceWith(main);
	if (key !== 'content') state.live?.stop();
	const [path, name] = SCREENS[key];
	try {
		const module = await import(path);
		await module[name](main, parts.slice(1));
	} catch (error) {
		replace(main, errorBox(error));
	}
	const heading = main.querySelector('h1');
	if (heading && document.activeElement === document.body) heading.focus({ preventScroll: true });
}

async function start() {
	replace(root, loading());
	let user;
	try {
		user = await whoAmI();
	} catch (error) {
		return replace(root, h('main', { id: 'main', class: 'center' }, errorBox(error)));
	}
	if (!user) return signInScreen();
	if (!user.app) return noAccessScreen(user);
	state.me = user;
	// Where the realtime socket is (WEBSOCKETS_REST_PATH), or that there is none (WebSockets off).
	const info = await api('GET', '/server/info').catch(() => null);
	const rest = info?.websocket?.rest;
	state.socketPath = rest && rest.path ? rest.path : null;
	shell();
	await route();
}

whenSignedOut(() => {
	state.live?.close();
	state.me = null;
	signInScreen(new Error('Your session ended. Sign in again.'));
});
onRefresh(() => state.live?.reconnect());
window.addEventListener('hashchange', route);
start();
