// Content: a table per collection (sort, filter, search, pagination) kept live by the Studio's one
// WebSocket subscription, and an item editor with an input per field type.
import { api } from './api.js';
import { userCollections, live, me } from './app.js';
import { h, icon, replace, labelled, busy, showError, pageHead, empty, confirmed, toast, display, loading } from './ui.js';

const PAGE_SIZE = 25;
const OPERATORS = [
	['_eq', 'equals'], ['_neq', 'does not equal'], ['_contains', 'contains'], ['_ncontains', 'does not contain'],
	['_starts_with', 'starts with'], ['_gt', 'greater than'], ['_gte', 'at least'], ['_lt', 'less than'],
	['_lte', 'at most'], ['_null', 'is empty'], ['_nnull', 'is not empty'],
];
const NO_VALUE = new Set(['_null', '_nnull']);
const views = new Map(); // collection → { page, sort, search, filter } kept while the Studio is open

export async function renderContent(main, [collection, item]) {
	if (!collection) return renderIndex(main);
	const fields = (await api('GET', `/fields/${encodeURIComponent(collection)}`)).filter((f) => f.type !== 'alias' || f.meta?.special?.includes('o2m'));
	const pk = fields.find((f) => f.schema?.is_primary_key)?.field ?? 'id';
	if (item !== undefined) return renderEditor(main, collection, fields, pk, item === '+' ? null : item);
	return renderTable(main, collection, fields.filter((f) => f.type !== 'alias'), pk);
}

async function renderIndex(main) {
	if (!main.isConnected) return; // a newer screen replaced this one (app.js, route): it owns the subscription
	live().stop();
	const collections = await userCollections(true);
	replace(main, pageHead('Content'),
		collections.length
			? h('ul', { class: 'side' }, collections.map((c) => h('li', {}, h('a', { href: `#/content/${encodeURIComponent(c.collection)}` }, c.collection, c.meta?.note ? h('small', { class: 'hint' }, ` — ${c.meta.note}`) : null))))
			: empty('There are no collections yet.', h('a', { class: 'button primary', href: '#/model' }, icon('plus'), 'Create one in the data model')));
}

function viewOf(collection) {
	if (!views.has(collection)) views.set(collection, { page: 1, sort: null, search: '', filter: null });
	return views.get(collection);
}

function filterJson(view) {
	if (!view.filter) return null;
	const { field, op, value } = view.filter;
	return { [field]: { [op]: NO_VALUE.has(op) ? true : value } };
}

async function renderTable(main, collection, fields, pk) {
	if (!main.isConnected) return; // a newer screen replaced this one while its fields were read: it follows its own
	const view = viewOf(collection);
	const slot = h('div');
	const tableBox = h('div', { class: 'table-wrap' }, loading());
	const pager = h('div', { class: 'pager' });
	const fresh = new Set();
	const banner = h('p', { class: 'viewing', role: 'status' });

	const search = h('input', { type: 'search', name: 'search', value: view.search, placeholder: 'Search…' });
	const field = h('select', { name: 'filter_field' }, fields.map((f) => h('option', { value: f.field }, f.field)));
	const op = h('select', { name: 'filter_operator' }, OPERATORS.map(([value, text]) => h('option', { value }, text)));
	const value = h('input', { name: 'filter_value' });
	const json = h('pre', { 'aria-label': 'The filter as JSON' });
	if (view.filter) {
		field.value = view.filter.field;
		op.value = view.filter.op;
		value.value = view.filter.value;
	}
	const showJson = () => (json.textContent = JSON.stringify(filterJson(view) ?? {}));
	showJson();
	op.addEventListener('change', () => (value.disabled = NO_VALUE.has(op.value)));

	let loadTimer = null;
	let generation = 0;
	const load = async () => {
		const mine = ++generation;
		try {
			const query = { fields: '*', limit: PAGE_SIZE, page: view.page, sort: view.sort, search: view.search, filter: filterJson(view), meta: 'filter_count' };
			// View as: the admin-only preview answers what that user or role reads over REST.
			const path = view.as ? `/tidepool/view-as/${encodeURIComponent(collection)}` : `/items/${encodeURIComponent(collection)}`;
			if (view.as) query[`as_${view.as.kind}`] = view.as.id;
			const result = await api('GET', path, { full: true, query });
			if (mine !== generation) return;
			showError(slot, null);
			drawTable(result.data, result.meta?.filter_count ?? result.data.length);
		} catch (error) {
			if (mine === generation) showError(slot, error);
		}
	};
	const reload = (delay = 80) => {
		clearTimeout(loadTimer);
		loadTimer = setTimeout(load, delay);
	};

	const drawTable = (rows, count) => {
		const shown = view.as ? fields.filter((f) => rows.some((row) => f.field in row)) : fields;
		if (!rows.length) {
			replace(tableBox, empty(view.as ? `${view.as.label} sees no items here.` : view.search || view.filter ? 'No items match.' : 'No items yet. They appear here as soon as anyone creates one.'));
		} else {
			const head = h('tr', {}, shown.map((f) => {
				const sorted = view.sort === f.field ? 'ascending' : view.sort === `-${f.field}` ? 'descending' : 'none';
				const flip = () => {
					view.sort = sorted === 'ascending' ? `-${f.field}` : sorted === 'descending' ? null : f.field;
					load();
				};
				return h('th', { scope: 'col', 'aria-sort': sorted }, h('button', { type: 'button', onclick: flip, title: `Sort by ${f.field}` }, f.field, sorted === 'ascending' ? ' ▲' : sorted === 'descending' ? ' ▼' : ''));
			}));
			const body = rows.map((row) => {
				const key = row[pk];
				const href = `#/content/${encodeURIComponent(collection)}/${encodeURIComponent(key)}`;
				if (view.as) return h('tr', { class: fresh.has(String(key)) ? 'fresh' : null }, shown.map((f) => h('td', {}, cell(f, row[f.field]))));
				return h('tr', { class: fresh.has(String(key)) ? 'clickable fresh' : 'clickable', 'data-key': key, onclick: (e) => e.target.tagName !== 'A' && (location.hash = href) },
					shown.map((f) => h('td', {}, f.field === pk ? h('a', { href }, display(key)) : cell(f, row[f.field]))));
			});
			replace(tableBox, h('table', {}, h('caption', { class: 'skip' }, `Items of ${collection}`), h('thead', {}, head), h('tbody', {}, body)));
		}
		fresh.clear();
		const pages = Math.max(1, Math.ceil(count / PAGE_SIZE));
		const first = count ? (view.page - 1) * PAGE_SIZE + 1 : 0;
		replace(pager,
			h('button', { type: 'button', class: 'button small', disabled: view.page <= 1, onclick: () => { view.page--; load(); } }, 'Previous'),
			h('span', { 'aria-live': 'polite', class: 'count' }, `${first}–${Math.min(count, view.page * PAGE_SIZE)} of ${count}`),
			h('button', { type: 'button', class: 'button small', disabled: view.page >= pages, onclick: () => { view.page++; load(); } }, 'Next'));
	};

	let searchTimer = null;
	search.addEventListener('input', () => {
		clearTimeout(searchTimer);
		searchTimer = setTimeout(() => {
			view.search = search.value.trim();
			view.page = 1;
			load();
		}, 250);
	});
	const apply = h('button', { type: 'submit', class: 'button' }, 'Filter');
	const clear = h('button', { type: 'button', class: 'button ghost', onclick: () => { view.filter = null; value.value = ''; view.page = 1; showJson(); load(); } }, 'Clear');
	const filterForm = h('form', { class: 'toolbar', 'aria-label': 'Search and filter' },
		labelled('Search', search),
		me().admin ? viewAs(view, banner, () => load()) : null,
		h('details', { class: 'filters', open: Boolean(view.filter) }, h('summary', {}, 'Filter'),
			h('div', { class: 'toolbar' }, labelled('Field', field), labelled('Operator', op), labelled('Value', value), apply, clear),
			h('div', {}, h('small', { class: 'hint' }, 'As JSON (the filter query parameter):'), json)));
	filterForm.addEventListener('submit', (event) => {
		event.preventDefault();
		view.filter = { field: field.value, op: op.value, value: value.value };
		view.page = 1;
		showJson();
		load();
	});

	replace(main,
		pageHead(collection,
			h('a', { class: 'button', href: `#/model/${encodeURIComponent(collection)}` }, 'Fields'),
			h('a', { class: 'button primary', href: `#/content/${encodeURIComponent(collection)}/+` }, icon('plus'), 'New item')),
		filterForm, banner, slot, tableBox, pager);
	showViewer(view, banner);

	let subscribed = false;
	live().follow(collection, { fields: [pk] }, (event, data) => {
		if (!main.isConnected) return;
		if (event === 'error') return showError(slot, { message: `Live updates stopped: ${data?.message ?? 'error'}`, code: data?.code });
		if (event === 'init' && !subscribed) return void (subscribed = true);
		if (event === 'resume') return;
		if (event === 'create' || event === 'update') for (const row of data ?? []) fresh.add(String(row[pk]));
		reload();
	});
	await load();
}

function showViewer(view, banner) {
	banner.hidden = !view.as;
	banner.textContent = view.as ? `Viewing as ${view.as.label}: the fields and rows they read over REST, refreshed live. Read-only.` : '';
}

/** The "View as" picker: yourself, a user or a role (admins only; the server audits each preview). */
function viewAs(view, banner, load) {
	const select = h('select', { name: 'view_as' }, h('option', { value: '' }, 'Myself (admin)'));
	if (view.as) select.append(h('option', { value: `${view.as.kind}:${view.as.id}` }, view.as.label));
	select.value = view.as ? `${view.as.kind}:${view.as.id}` : '';
	let filled = false;
	const fill = async () => {
		if (filled) return;
		filled = true;
		const [users, roles] = await Promise.all([
			api('GET', '/users', { query: { fields: 'id,email', limit: -1, sort: 'email' } }),
			api('GET', '/roles', { query: { fields: 'id,name', limit: -1, sort: 'name' } }),
		]);
		const keep = select.value;
		replace(select, h('option', { value: '' }, 'Myself (admin)'),
			h('optgroup', { label: 'Users' }, users.map((u) => h('option', { value: `user:${u.id}` }, u.email))),
			h('optgroup', { label: 'Roles' }, roles.map((r) => h('option', { value: `role:${r.id}` }, `Role ${r.name}`))));
		select.value = keep;
	};
	select.addEventListener('focus', fill);
	select.addEventListener('pointerdown', fill);
	select.addEventListener('change', () => {
		const [kind, id] = select.value.split(':');
		view.as = select.value ? { kind, id, label: select.selectedOptions[0].textContent } : null;
		view.page = 1;
		showViewer(view, banner);
		load();
	});
	fill();
	select.title = 'See the table exactly as a user or role would (admins only; each look is audited).';
	return labelled('View as', select);
}

/** A table cell's text: times in the reader's own zone (the stored value on hover). */
function cell(f, value) {
	if (value && (f.type === 'timestamp' || f.type === 'dateTime')) {
		const date = new Date(value);
		if (!Number.isNaN(date.getTime())) return h('time', { datetime: value, title: value }, date.toLocaleString());
	}
	return display(value);
}

/** The input for one field, with how to read its value back (`undefined`: leave the field out). */
function inputFor(f, current) {
	const name = f.field;
	const disabled = Boolean(f.meta?.readonly);
	const base = { name, disabled };
	const type = f.type;
	const choices = f.meta?.options?.choices;
	if (Array.isArray(choices) && choices.length) {
		const select = h('select', base, h('option', { value: '' }, '—'), choices.map((c) => h('option', { value: String(c.value) }, c.text ?? String(c.value))));
		select.value = current === null || current === undefined ? '' : String(current);
		return { node: select, read: () => (select.value === '' ? null : choices.find((c) => String(c.value) === select.value).value) };
	}
	if (type === 'boolean') {
		const box = h('input', { ...base, type: 'checkbox', checked: Boolean(current) });
		return { node: box, read: () => box.checked };
	}
	if (type === 'text' || type === 'json') {
		const area = h('textarea', { ...base, value: current === null || current === undefined ? '' : type === 'json' ? JSON.stringify(current, null, 2) : current });
		return { node: area, read: () => (area.value === '' ? null : type === 'json' ? parseJson(area.value, name) : area.value) };
	}
	if (['integer', 'bigInteger', 'float', 'decimal'].includes(type)) {
		const input = h('input', { ...base, type: 'number', step: ['integer', 'bigInteger'].includes(type) ? '1' : 'any', value: current ?? '' });
		return { node: input, read: () => (input.value === '' ? null : type === 'decimal' || type === 'bigInteger' ? input.value : Number(input.value)) };
	}
	if (type === 'timestamp') {
		const input = h('input', { ...base, type: 'datetime-local', step: '1', value: current ? localInput(new Date(current)) : '' });
		return { node: input, read: () => (input.value === '' ? null : new Date(input.value).toISOString()) };
	}
	if (type === 'dateTime' || type === 'date' || type === 'time') {
		const kind = { dateTime: 'datetime-local', date: 'date', time: 'time' }[type];
		const input = h('input', { ...base, type: kind, step: type === 'date' ? null : '1', value: current ? String(current).slice(0, type === 'dateTime' ? 19 : undefined) : '' });
		return { node: input, read: () => (input.value === '' ? null : input.value) };
	}
	if (type === 'csv') {
		const input = h('input', { ...base, value: Array.isArray(current) ? current.join(', ') : current ?? '' });
		return { node: input, read: () => (input.value.trim() === '' ? null : input.value.split(',').map((s) => s.trim()).filter(Boolean)) };
	}
	if (type === 'hash') {
		const input = h('input', { ...base, type: 'password', autocomplete: 'new-password', placeholder: current ? 'unchanged' : '' });
		return { node: input, read: () => (input.value === '' ? undefined : input.value) };
	}
	const input = h('input', { ...base, value: current === null || current === undefined ? '' : typeof current === 'object' ? JSON.stringify(current) : current });
	return { node: input, read: () => (input.value === '' ? null : input.value) };
}

function parseJson(text, field) {
	try {
		return JSON.parse(text);
	} catch {
		const error = new Error('This is not valid JSON.');
		error.field = field;
		throw error;
	}
}

function localInput(date) {
	const pad = (n) => String(n).padStart(2, '0');
	return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

const PICKER_LIMIT = 200;
const LABEL_NAMES = ['title', 'name', 'label', 'email', 'text'];

/** For each many-to-one field being edited: the related items to choose from, labelled by their first text
 * field (users by e-mail); a field whose related collection cannot be read keeps its plain input. */
async function relatedChoices(collection, fields) {
	const choices = new Map();
	const relations = await api('GET', `/relations/${encodeURIComponent(collection)}`).catch(() => []);
	for (const relation of relations) {
		if (relation.collection !== collection || !relation.related_collection || !fields.some((f) => f.field === relation.field)) continue;
		try {
			choices.set(relation.field, await itemsOf(relation.related_collection));
		} catch {
			// not readable for this user: the key is typed instead
		}
	}
	return choices;
}

async function itemsOf(target) {
	if (target === 'directus_users') {
		const users = await api('GET', '/users', { query: { fields: 'id,email', limit: PICKER_LIMIT, sort: 'email' } });
		return users.map((u) => [u.id, u.email]);
	}
	const fields = await api('GET', `/fields/${encodeURIComponent(target)}`);
	const key = fields.find((f) => f.schema?.is_primary_key)?.field ?? 'id';
	const texts = fields.filter((f) => ['string', 'text'].includes(f.type) && f.field !== key && !f.meta?.options?.choices);
	const label = (texts.find((f) => LABEL_NAMES.includes(f.field)) ?? texts[0])?.field;
	const rows = await api('GET', `/items/${encodeURIComponent(target)}`, { query: { fields: label ? `${key},${label}` : key, limit: PICKER_LIMIT, sort: key } });
	return rows.map((row) => [row[key], label && row[label] ? `${row[key]} · ${row[label]}` : String(row[key])]);
}

function pickerFor(f, current, options) {
	const select = h('select', { name: f.field, disabled: Boolean(f.meta?.readonly) }, h('option', { value: '' }, '—'), options.map(([value, text]) => h('option', { value: String(value) }, text)));
	if (current !== null && current !== undefined && !options.some(([value]) => String(value) === String(current))) select.append(h('option', { value: String(current) }, String(current)));
	select.value = current === null || current === undefined ? '' : String(current);
	const byText = new Map(options.map(([value]) => [String(value), value]));
	return { node: select, read: () => (select.value === '' ? null : byText.get(select.value) ?? select.value) };
}

async function renderEditor(main, collection, fields, pk, key) {
	live().stop();
	const item = key === null ? {} : await api('GET', `/items/${encodeURIComponent(collection)}/${encodeURIComponent(key)}`);
	const editable = fields.filter((f) => f.type !== 'alias' && !(f.meta?.hidden && !(key !== null && f.field === pk)) && !(key === null && f.schema?.has_auto_increment));
	const related = await relatedChoices(collection, editable);
	const controls = editable.map((f) => {
		const current = item[f.field] ?? (key === null ? f.schema?.default_value : null);
		const { node, read } = related.has(f.field) ? pickerFor(f, current, related.get(f.field)) : inputFor(f, current);
		const slot = h('div', { class: 'field-error' });
		const hint = [f.type, f.meta?.required && 'required', f.meta?.note].filter(Boolean).join(' · ');
		const box = node.type === 'checkbox'
			? h('div', { class: 'control' }, h('label', { class: 'check' }, node, f.field), h('small', { class: 'hint' }, hint), slot)
			: h('div', { class: 'control' }, labelled(f.field, node, hint), slot);
		return { f, node, read, slot, box };
	});
	const hiddenInfo = key === null ? null : fields.filter((f) => f.meta?.hidden && f.field !== pk && f.type !== 'alias').map((f) => h('div', {}, h('strong', {}, f.field), ': ', display(item[f.field])));
	const slot = h('div');
	const save = h('button', { type: 'submit', class: 'button primary' }, key === null ? 'Create item' : 'Save');
	const back = `#/content/${encodeURIComponent(collection)}`;
	const form = h('form', { class: 'stack card', novalidate: true }, controls.map((c) => c.box), hiddenInfo?.length ? h('details', {}, h('summary', {}, 'System fields'), hiddenInfo) : null, slot,
		h('div', { class: 'actions' }, h('a', { class: 'button', href: back }, 'Back'), save));
	form.addEventListener('submit', (event) => {
		event.preventDefault();
		for (const c of controls) showError(c.slot, null);
		busy(save, null, async () => {
			const body = {};
			try {
				const missing = [];
				for (const c of controls) {
					if (c.f.meta?.readonly) continue;
					const v = c.read();
					// "Required" is the editor's rule, as in Directus's app: the API itself accepts an empty value.
					if (c.f.meta?.required && (v === null || v === '') && (key === null || item[c.f.field] != null)) missing.push(c);
					if (v === undefined) continue;
					if (key === null && v === null && c.f.schema?.default_value === undefined) continue;
					if (key !== null && JSON.stringify(v) === JSON.stringify(item[c.f.field] ?? null)) continue;
					body[c.f.field] = v;
				}
				if (missing.length) {
					for (const c of missing) showError(c.slot, { message: 'Value is required.' });
					missing[0].node.focus();
					return;
				}
				const path = `/items/${encodeURIComponent(collection)}`;
				const saved = key === null ? await api('POST', path, { body }) : await api('PATCH', `${path}/${encodeURIComponent(key)}`, { body });
				toast(key === null ? `Created item ${saved?.[pk] ?? ''}.` : 'Saved.');
				location.hash = back;
			} catch (error) {
				const owner = controls.find((c) => c.f.field === error.field);
				if (owner) {
					showError(owner.slot, error);
					owner.node.focus();
				} else showError(slot, error);
			}
		});
	});
	const remove = key === null ? null : h('button', { type: 'button', class: 'button danger', onclick: async (e) => {
		if (!(await confirmed(`Delete item ${key}?`))) return;
		await busy(e.currentTarget, slot, async () => {
			await api('DELETE', `/items/${encodeURIComponent(collection)}/${encodeURIComponent(key)}`);
			toast(`Deleted item ${key}.`);
			location.hash = back;
		});
	} }, icon('trash'), 'Delete');
	replace(main, pageHead(key === null ? `New item in ${collection}` : `${collection} · ${key}`, h('a', { class: 'button ghost', href: back }, icon('back'), 'Back to the table'), remove), form);
	const first = controls.find((c) => !c.node.disabled);
	first?.node.focus();
}
