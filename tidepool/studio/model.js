// Data model: the collections, a new collection with the Data Studio's optional system fields, and each
// collection's fields (add, edit, delete), many-to-one and one-to-many relations included.
import { api } from './api.js';
import { userCollections, forgetCollections } from './app.js';
import { h, icon, replace, labelled, busy, dialog, confirmed, pageHead, empty, toast } from './ui.js';

export const TYPES = ['string', 'text', 'integer', 'bigInteger', 'float', 'decimal', 'boolean', 'date', 'time', 'dateTime', 'timestamp', 'json', 'uuid', 'csv', 'hash'];

function stamp(type, special, display, interface_ = 'datetime', extra = {}) {
	return { type, meta: { special: [special], interface: interface_, readonly: true, hidden: true, width: 'half', display, ...extra }, schema: {} };
}

// The optional system fields, defined as the Data Studio defines them (and as `tidepool collections create`).
export const SYSTEM_FIELDS = {
	status: {
		label: 'Status', hint: 'published / draft / archived, the archive field',
		field: { type: 'string', meta: { interface: 'select-dropdown', width: 'full', options: { choices: [{ text: 'Published', value: 'published' }, { text: 'Draft', value: 'draft' }, { text: 'Archived', value: 'archived' }] } }, schema: { default_value: 'draft', is_nullable: false } },
	},
	sort: { label: 'Sort', hint: 'an integer for manual ordering', field: { type: 'integer', meta: { interface: 'input', hidden: true }, schema: {} } },
	date_created: { label: 'Created on', hint: 'date_created, set when an item is created', field: stamp('timestamp', 'date-created', 'datetime', 'datetime', { display_options: { relative: true } }) },
	date_updated: { label: 'Updated on', hint: 'date_updated, set on every update', field: stamp('timestamp', 'date-updated', 'datetime', 'datetime', { display_options: { relative: true } }) },
	user_created: { label: 'Created by', hint: 'user_created, the user who created it', field: stamp('uuid', 'user-created', 'user', 'select-dropdown-m2o') },
	user_updated: { label: 'Updated by', hint: 'user_updated, the user who last changed it', field: stamp('uuid', 'user-updated', 'user', 'select-dropdown-m2o') },
};

const PRIMARY_KEYS = {
	integer: { label: 'Auto-incremented integer', field: { type: 'integer', meta: { hidden: true, interface: 'input', readonly: true }, schema: { is_primary_key: true, has_auto_increment: true } } },
	bigInteger: { label: 'Auto-incremented big integer', field: { type: 'bigInteger', meta: { hidden: true, interface: 'input', readonly: true }, schema: { is_primary_key: true, has_auto_increment: true } } },
	uuid: { label: 'Generated UUID', field: { type: 'uuid', meta: { special: ['uuid'], hidden: true, readonly: true, interface: 'input' }, schema: { is_primary_key: true } } },
	string: { label: 'Manually entered string', field: { type: 'string', meta: { interface: 'input', readonly: false, hidden: false }, schema: { is_primary_key: true, is_nullable: false } } },
};

/** The payload of POST /collections for the form's choices. */
export function collectionPayload(name, primaryType, primaryName, chosen, note) {
	const fields = [{ field: primaryName || 'id', ...structuredClone(PRIMARY_KEYS[primaryType].field) }];
	for (const key of chosen) fields.push({ field: key, ...structuredClone(SYSTEM_FIELDS[key].field) });
	const meta = { note: note || null };
	if (chosen.includes('sort')) meta.sort_field = 'sort';
	if (chosen.includes('status')) Object.assign(meta, { archive_field: 'status', archive_value: 'archived', unarchive_value: 'draft' });
	return { collection: name, meta, schema: {}, fields };
}

export async function renderModel(main, [collection]) {
	const collections = await userCollections(true);
	const side = h('aside', { class: 'side', 'aria-label': 'Collections' },
		h('h2', {}, 'Collections'),
		collections.length ? h('ul', {}, collections.map((c) => h('li', {}, h('a', { href: `#/model/${encodeURIComponent(c.collection)}`, 'aria-current': c.collection === collection ? 'page' : false }, c.collection)))) : h('p', { class: 'hint' }, 'None yet.'));
	const body = h('section', { class: 'stack' });
	replace(main, pageHead('Data model', h('button', { type: 'button', class: 'button primary', onclick: () => newCollection(main) }, icon('plus'), 'New collection')), h('div', { class: 'columns' }, side, body));
	if (!collection) {
		replace(body, collections.length ? empty('Pick a collection to see its fields.') : empty('No collections yet. A collection is a table: create one to start.', h('button', { type: 'button', class: 'button primary', onclick: () => newCollection(main) }, icon('plus'), 'New collection')));
		return;
	}
	await renderFields(body, collection, main);
}

function newCollection(main) {
	dialog('New collection', (close) => {
		const name = h('input', { name: 'collection', required: true, pattern: '[A-Za-z_][A-Za-z0-9_]{0,63}', autocomplete: 'off', spellcheck: 'false' });
		const pkName = h('input', { name: 'primary_key', value: 'id' });
		const pkType = h('select', { name: 'primary_key_type' }, Object.entries(PRIMARY_KEYS).map(([value, { label }]) => h('option', { value }, label)));
		const note = h('input', { name: 'note' });
		const boxes = Object.entries(SYSTEM_FIELDS).map(([key, def]) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: key }), h('span', {}, def.label, ' ', h('code', {}, key), ' ', h('small', { class: 'hint' }, '— ', def.hint))));
		const slot = h('div');
		const submit = h('button', { type: 'submit', class: 'button primary' }, 'Create collection');
		const form = h('form', { class: 'stack' },
			labelled('Name', name, 'Letters, digits and _; this is the table name.'),
			h('div', { class: 'grid2' }, labelled('Primary key field', pkName), labelled('Primary key type', pkType)),
			h('fieldset', {}, h('legend', {}, 'Optional system fields'), boxes),
			labelled('Note', note),
			slot,
			h('div', { class: 'actions' }, h('button', { type: 'button', class: 'button', onclick: close }, 'Cancel'), submit));
		form.addEventListener('submit', (event) => {
			event.preventDefault();
			const chosen = boxes.map((label) => label.querySelector('input')).filter((box) => box.checked).map((box) => box.name);
			busy(submit, slot, async () => {
				const created = await api('POST', '/collections', { body: collectionPayload(name.value.trim(), pkType.value, pkName.value.trim(), chosen, note.value.trim()) });
				for (const key of chosen.filter((k) => k.startsWith('user_'))) {
					await api('POST', '/relations', { body: { collection: created.collection, field: key, related_collection: 'directus_users' } });
				}
				forgetCollections();
				close();
				toast(`Created collection ${created.collection}.`);
				location.hash = `#/model/${encodeURIComponent(created.collection)}`;
			});
		});
		setTimeout(() => name.focus());
		return form;
	});
}

async function renderFields(body, collection, main) {
	const [fields, relations] = await Promise.all([api('GET', `/fields/${encodeURIComponent(collection)}`), api('GET', '/relations')]);
	const rows = fields.map((f) => {
		const rel = relations.find((r) => r.collection === collection && r.field === f.field);
		const o2m = relations.find((r) => r.related_collection === collection && r.meta?.one_field === f.field);
		const kind = rel ? `m2o → ${rel.related_collection}` : o2m ? `o2m ← ${o2m.collection}.${o2m.field}` : f.type;
		const flags = [f.schema?.is_primary_key && 'primary key', f.meta?.required && 'required', f.schema?.is_unique && 'unique', f.meta?.hidden && 'hidden', f.meta?.readonly && 'read-only', ...(f.meta?.special ?? []).filter((s) => !s.startsWith('cast-'))].filter(Boolean);
		return h('tr', {},
			h('td', {}, h('strong', {}, f.field)),
			h('td', {}, kind),
			h('td', {}, flags.map((flag) => h('span', { class: 'badge' }, flag, ' '))),
			h('td', {}, f.schema?.default_value ?? '—'),
			h('td', {}, f.meta?.note ?? ''),
			h('td', {}, h('div', { class: 'actions' },
				h('button', { type: 'button', class: 'button small', onclick: () => fieldDialog(collection, f, main), 'aria-label': `Edit field ${f.field}` }, 'Edit'),
				f.schema?.is_primary_key ? null : h('button', { type: 'button', class: 'button small danger', 'aria-label': `Delete field ${f.field}`, onclick: () => deleteField(collection, f.field, main) }, icon('trash')))));
	});
	const slot = h('div');
	replace(body,
		h('div', { class: 'page-head' }, h('h2', {}, collection), h('div', { class: 'actions' },
			h('a', { class: 'button', href: `#/content/${encodeURIComponent(collection)}` }, 'Open content'),
			h('button', { type: 'button', class: 'button primary', onclick: () => fieldDialog(collection, null, main) }, icon('plus'), 'New field'),
			h('button', { type: 'button', class: 'button danger', onclick: (e) => deleteCollection(e.currentTarget, slot, collection) }, icon('trash'), 'Delete collection'))),
		slot,
		h('div', { class: 'table-wrap' }, h('table', {}, h('caption', { class: 'skip' }, `Fields of ${collection}`),
			h('thead', {}, h('tr', {}, ['Field', 'Type', 'Flags', 'Default', 'Note', ''].map((t) => h('th', { scope: 'col' }, t)))),
			h('tbody', {}, rows))));
}

async function deleteCollection(button, slot, collection) {
	if (!(await confirmed(`Delete ${collection} and all its items?`))) return;
	await busy(button, slot, async () => {
		await api('DELETE', `/collections/${encodeURIComponent(collection)}`);
		forgetCollections();
		toast(`Deleted collection ${collection}.`);
		location.hash = '#/model';
	});
}

async function deleteField(collection, field, main) {
	if (!(await confirmed(`Delete field ${field} and its values?`))) return;
	try {
		await api('DELETE', `/fields/${encodeURIComponent(collection)}/${encodeURIComponent(field)}`);
		toast(`Deleted field ${field}.`);
		await renderModel(main, [collection]);
	} catch (error) {
		toast(`Could not delete ${field}: ${error.message}`, 'error');
	}
}

function fieldDialog(collection, existing, main) {
	dialog(existing ? `Field ${existing.field}` : `New field in ${collection}`, (close) => {
		const name = h('input', { name: 'field', required: true, value: existing?.field ?? '', disabled: Boolean(existing), autocomplete: 'off', spellcheck: 'false' });
		const kinds = [...TYPES.map((t) => [t, t]), ['m2o', 'Many-to-one (m2o) relation'], ['o2m', 'One-to-many (o2m) relation']];
		const type = h('select', { name: 'type', disabled: Boolean(existing) }, kinds.map(([value, label]) => h('option', { value }, label)));
		if (existing) type.value = existing.type === 'alias' ? 'o2m' : existing.type;
		const related = h('select', { name: 'related' });
		const relatedField = h('select', { name: 'related_field' });
		const relatedBox = h('div', { class: 'grid2', hidden: true }, labelled('Related collection', related), h('div', { hidden: true }, labelled('Its m2o field pointing here', relatedField)));
		const required = h('input', { type: 'checkbox', name: 'required', checked: existing?.meta?.required });
		const notNull = h('input', { type: 'checkbox', name: 'not_null', checked: existing ? existing.schema?.is_nullable === false : false });
		const unique = h('input', { type: 'checkbox', name: 'unique', checked: existing?.schema?.is_unique });
		const hidden = h('input', { type: 'checkbox', name: 'hidden', checked: existing?.meta?.hidden });
		const readonly = h('input', { type: 'checkbox', name: 'readonly', checked: existing?.meta?.readonly });
		const fallback = h('input', { name: 'default_value', value: existing?.schema?.default_value ?? '' });
		const note = h('input', { name: 'note', value: existing?.meta?.note ?? '' });
		const slot = h('div');
		const submit = h('button', { type: 'submit', class: 'button primary' }, existing ? 'Save field' : 'Create field');
		const relationKind = () => ['m2o', 'o2m'].includes(type.value) && !existing;
		const onType = async () => {
			relatedBox.hidden = !relationKind();
			relatedField.parentElement.parentElement.hidden = type.value !== 'o2m';
			if (!relationKind() || related.options.length) return;
			const collections = await userCollections();
			replace(related, collections.map((c) => h('option', { value: c.collection }, c.collection)), h('option', { value: 'directus_users' }, 'directus_users'));
			await onRelated();
		};
		const onRelated = async () => {
			if (type.value !== 'o2m') return;
			const relations = await api('GET', `/relations/${encodeURIComponent(related.value)}`).catch(() => []);
			const pointing = relations.filter((r) => r.collection === related.value && r.related_collection === collection && !r.meta?.one_field);
			replace(relatedField, pointing.length ? pointing.map((r) => h('option', { value: r.field }, r.field)) : h('option', { value: '' }, `(no m2o field of ${related.value} points at ${collection})`));
		};
		type.addEventListener('change', onType);
		related.addEventListener('change', onRelated);
		const form = h('form', { class: 'stack' },
			h('div', { class: 'grid2' }, labelled('Name', name), labelled('Type', type)),
			relatedBox,
			h('fieldset', {}, h('legend', {}, 'Options'),
				h('label', { class: 'check' }, required, 'Required (the item editor asks for a value)'),
				h('label', { class: 'check' }, notNull, 'Not nullable (the database refuses an empty value)'),
				h('label', { class: 'check' }, unique, 'Unique (no two items share a value)'),
				h('label', { class: 'check' }, hidden, 'Hidden in the item editor'),
				h('label', { class: 'check' }, readonly, 'Read-only in the item editor')),
			h('div', { class: 'grid2' }, labelled('Default value', fallback, 'Empty for none.'), labelled('Note', note)),
			slot,
			h('div', { class: 'actions' }, h('button', { type: 'button', class: 'button', onclick: close }, 'Cancel'), submit));
		form.addEventListener('submit', (event) => {
			event.preventDefault();
			busy(submit, slot, async () => {
				const meta = { required: required.checked, hidden: hidden.checked, readonly: readonly.checked, note: note.value.trim() || null };
				const schema = { is_unique: unique.checked, is_nullable: !notNull.checked, default_value: fallback.value === '' ? null : fallback.value };
				const path = `/fields/${encodeURIComponent(collection)}`;
				if (existing) await api('PATCH', `${path}/${encodeURIComponent(existing.field)}`, { body: { meta, schema: existing.type === 'alias' ? undefined : schema } });
				else await createField(collection, name.value.trim(), type.value, meta, schema, related.value, relatedField.value);
				close();
				toast(`Saved field ${existing?.field ?? name.value.trim()}.`);
				await renderModel(main, [collection]);
			});
		});
		setTimeout(() => (existing ? required : name).focus());
		return form;
	});
}

async function createField(collection, field, type, meta, schema, related, relatedField) {
	const path = `/fields/${encodeURIComponent(collection)}`;
	if (type === 'o2m') {
		if (!relatedField) throw new Error(`Create a many-to-one field in ${related} that points at ${collection} first.`);
		await api('POST', path, { body: { field, type: 'alias', meta: { ...meta, special: ['o2m'], interface: 'list-o2m' }, schema: null } });
		await api('PATCH', `/relations/${encodeURIComponent(related)}/${encodeURIComponent(relatedField)}`, { body: { meta: { one_field: field } } });
		return;
	}
	if (type === 'm2o') {
		const pk = (await api('GET', `/fields/${encodeURIComponent(related)}`)).find((f) => f.schema?.is_primary_key);
		await api('POST', path, { body: { field, type: pk?.type ?? 'integer', meta: { ...meta, special: ['m2o'], interface: 'select-dropdown-m2o' }, schema } });
		await api('POST', '/relations', { body: { collection, field, related_collection: related } });
		return;
	}
	await api('POST', path, { body: { field, type, meta: { ...meta, interface: interfaceFor(type) }, schema } });
}

export function interfaceFor(type) {
	return { text: 'input-multiline', boolean: 'boolean', json: 'input-code', date: 'datetime', time: 'datetime', dateTime: 'datetime', timestamp: 'datetime', csv: 'tags', hash: 'input-hash' }[type] ?? 'input';
}
