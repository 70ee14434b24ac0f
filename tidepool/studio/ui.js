// Small DOM helpers shared by the Studio's screens: element building, icons, errors, dialogs.

/** h('button', { class: 'x', onclick }, 'text', child) — attributes starting with "on" become listeners,
 * `false`/`null` attributes are left out, children may be strings, nodes, arrays or null. */
export function h(tag, attrs = {}, ...children) {
	const node = document.createElement(tag);
	for (const [key, value] of Object.entries(attrs ?? {})) {
		if (value === false || value === null || value === undefined) continue;
		if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
		else if (key === 'value') node.value = value;
		else if (key === 'checked') node.checked = Boolean(value);
		else node.setAttribute(key, value === true ? '' : String(value));
	}
	append(node, children);
	return node;
}

function append(node, children) {
	for (const child of children.flat(Infinity)) {
		if (child === null || child === undefined || child === false) continue;
		node.append(child instanceof Node ? child : document.createTextNode(String(child)));
	}
}

export function replace(node, ...children) {
	node.replaceChildren();
	append(node, children);
	return node;
}

// Inline SVG icons (24×24 strokes), drawn here so that nothing is fetched from elsewhere.
const PATHS = {
	content: 'M4 5h16M4 12h16M4 19h16',
	model: 'M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3zm0 0v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3',
	access: 'M12 3l8 3v6c0 4.5-3.4 8.3-8 9-4.6-.7-8-4.5-8-9V6z',
	users: 'M16 20v-1a4 4 0 00-4-4H6a4 4 0 00-4 4v1M9 11a4 4 0 100-8 4 4 0 000 8zm13 9v-1a4 4 0 00-3-3.9M16 3.1a4 4 0 010 7.8',
	plus: 'M12 5v14M5 12h14',
	trash: 'M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3',
	copy: 'M9 9h11v11H9zM5 15H4V4h11v1',
	out: 'M15 4h4v16h-4M10 16l4-4-4-4M14 12H3',
	back: 'M15 18l-6-6 6-6',
	realtime: 'M12 12m-2 0a2 2 0 104 0 2 2 0 10-4 0M5 5a10 10 0 000 14M19 5a10 10 0 010 14',
	key: 'M15 7a4 4 0 11-3.9 5H3v3h3v3h3v-3h2.1A4 4 0 0115 7z',
	logo: 'M2 15c3 0 3-3 6-3s3 3 6 3 3-3 6-3M2 19c3 0 3-3 6-3s3 3 6 3 3-3 6-3M12 3v5',
};

export function icon(name, label) {
	const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
	svg.setAttribute('viewBox', '0 0 24 24');
	svg.setAttribute('class', 'icon');
	if (label) {
		svg.setAttribute('role', 'img');
		svg.setAttribute('aria-label', label);
	} else svg.setAttribute('aria-hidden', 'true');
	const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
	path.setAttribute('d', PATHS[name]);
	svg.append(path);
	return svg;
}

/** The words of an API error, shown where it happened (role=alert so a screen reader says it too). */
export function errorBox(error) {
	const message = error?.message || String(error);
	const code = error?.code ? ` (${error.code})` : '';
	return h('p', { class: 'error', role: 'alert' }, message + code);
}

/** Show `error` in `slot` (an element kept for it), or clear the slot with null. */
export function showError(slot, error) {
	replace(slot, error ? errorBox(error) : null);
}

/** A labelled form control: `control` gets an id tied to the label and to its hint/error. */
let nextId = 0;
export function labelled(text, control, hint) {
	const id = control.id || `f${++nextId}`;
	control.id = id;
	const hintNode = hint ? h('small', { id: `${id}-hint`, class: 'hint' }, hint) : null;
	if (hintNode) control.setAttribute('aria-describedby', hintNode.id);
	return h('div', { class: 'control' }, h('label', { for: id }, text), control, hintNode);
}

/** Run `work` with `button` busy (disabled, aria-busy); errors go to `slot`. Answers what work answers. */
export async function busy(button, slot, work) {
	button.disabled = true;
	button.setAttribute('aria-busy', 'true');
	if (slot) showError(slot, null);
	try {
		return await work();
	} catch (error) {
		if (slot) showError(slot, error);
		else toast(error.message, 'error');
		return undefined;
	} finally {
		button.disabled = false;
		button.removeAttribute('aria-busy');
	}
}

export function toast(message, kind = 'info') {
	let region = document.getElementById('toasts');
	if (!region) {
		region = h('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
		document.body.append(region);
	}
	const node = h('p', { class: `toast ${kind}` }, message);
	region.append(node);
	while (region.children.length > 2) region.firstChild.remove(); // never a pile over the page
	setTimeout(() => node.remove(), kind === 'error' ? 6000 : 3000);
}

/** A modal <dialog> (Escape closes it, focus stays inside); `build(close)` fills it. */
export function dialog(title, build) {
	const box = h('dialog', { class: 'dialog', 'aria-labelledby': 'dialog-title' });
	const close = () => {
		box.close();
		box.remove();
	};
	box.append(h('h2', { id: 'dialog-title' }, title), build(close));
	box.addEventListener('close', () => box.remove());
	document.body.append(box);
	box.showModal();
	return close;
}

export async function confirmed(question, action = 'Delete') {
	return new Promise((resolve) => {
		dialog(question, (close) =>
			h('div', { class: 'actions' },
				h('button', { type: 'button', class: 'button', onclick: () => { close(); resolve(false); } }, 'Cancel'),
				h('button', { type: 'button', class: 'button danger', onclick: () => { close(); resolve(true); } }, action)),
		);
	});
}

export function loading(text = 'Loading…') {
	return h('p', { class: 'loading', role: 'status' }, text);
}

export function empty(text, ...more) {
	return h('div', { class: 'empty' }, h('p', {}, text), ...more);
}

export function pageHead(title, ...actions) {
	return h('header', { class: 'page-head' }, h('h1', { tabindex: '-1' }, title), h('div', { class: 'actions' }, ...actions));
}

export function link(href, text, attrs = {}) {
	return h('a', { href, ...attrs }, text);
}

/** A cell's text: objects as JSON, null as an em dash. */
export function display(value) {
	if (value === null || value === undefined) return '—';
	if (typeof value === 'object') return JSON.stringify(value);
	return String(value);
}
