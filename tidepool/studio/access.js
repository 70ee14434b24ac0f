// Access: roles, policies and their permissions per collection and action; users, with suspension and a
// static token generated in the browser and shown once.
import { api } from './api.js';
import { userCollections } from './app.js';
import { h, icon, replace, labelled, busy, pageHead, empty, confirmed, toast, dialog } from './ui.js';

const ACTIONS = ['create', 'read', 'update', 'delete'];
const STATUSES = ['active', 'invited', 'draft', 'suspended', 'archived'];
const RULE_OPERATORS = ['_eq', '_neq', '_contains', '_in', '_gt', '_lt', '_null', '_nnull'];

const list = (path, query = {}) => api('GET', path, { query: { limit: -1, ...query } });
const byId = (rows) => new Map(rows.map((r) => [r.id, r]));

export async function renderAccess(main, [kind, id]) {
	if (kind === 'policy' && id) return renderPolicy(main, id);
	if (kind === 'role' && id) return renderRole(main, id);
	const [roles, policies, links] = await Promise.all([list('/roles', { sort: 'name' }), list('/policies', { sort: 'name' }), list('/access')]);
	const policyOf = byId(policies);
	const roleRows = roles.map((role) => h('tr', {},
		h('td', {}, h('a', { href: `#/access/role/${role.id}` }, role.name)),
		h('td', {}, links.filter((l) => l.role === role.id).map((l) => policyOf.get(l.policy)).filter(Boolean).map((p) => h('a', { class: 'badge', href: `#/access/policy/${p.id}` }, p.name, ' '))),
		h('td', {}, role.description ?? '')));
	const policyRows = policies.map((p) => h('tr', {},
		h('td', {}, h('a', { href: `#/access/policy/${p.id}` }, p.name)),
		h('td', {}, [p.admin_access && 'admin access', p.app_access && 'app access'].filter(Boolean).map((t) => h('span', { class: 'badge' }, t, ' '))),
		h('td', {}, p.description ?? '')));
	replace(main,
		pageHead('Access', h('button', { type: 'button', class: 'button primary', onclick: newRole }, icon('plus'), 'New role'), h('button', { type: 'button', class: 'button', onclick: newPolicy }, icon('plus'), 'New policy')),
		h('p', { class: 'hint' }, 'A role groups users; a policy holds permissions. A role (or a user) gets what its attached policies allow.'),
		h('h2', {}, 'Roles'),
		roles.length ? table(['Role', 'Policies', 'Description'], roleRows) : empty('No roles yet.'),
		h('h2', {}, 'Policies'),
		policies.length ? table(['Policy', 'Flags', 'Description'], policyRows) : empty('No policies yet.'));
}

function table(headings, rows) {
	return h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows)));
}

function newRole() {
	dialog('New role', (close) => {
		const name = h('input', { name: 'name', required: true, autocomplete: 'off' });
		const withPolicy = h('input', { type: 'checkbox', name: 'with_policy', checked: true });
		const app = h('input', { type: 'checkbox', name: 'app_access' });
		const slot = h('div');
		const submit = h('button', { type: 'submit', class: 'button primary' }, 'Create role');
		const form = h('form', { class: 'stack' }, labelled('Name', name),
			h('label', { class: 'check' }, withPolicy, 'Create a policy of the same name and attach it (its permissions are set next)'),
			h('label', { class: 'check' }, app, 'That policy grants app access (its users may sign in to the Studio)'),
			slot, h('div', { class: 'actions' }, h('button', { type: 'button', class: 'button', onclick: close }, 'Cancel'), submit));
		form.addEventListener('submit', (event) => {
			event.preventDefault();
			busy(submit, slot, async () => {
				const role = await api('POST', '/roles', { body: { name: name.value.trim() } });
				if (withPolicy.checked) {
					const policy = await api('POST', '/policies', { body: { name: name.value.trim(), app_access: app.checked, admin_access: false } });
					await api('POST', '/access', { body: { role: role.id, policy: policy.id } });
					close();
					toast(`Created role ${role.name} and its policy: set its permissions now.`);
					location.hash = `#/access/policy/${policy.id}`;
				} else {
					close();
					location.hash = `#/access/role/${role.id}`;
				}
			});
		});
		setTimeout(() => name.focus());
		return form;
	});
}

function newPolicy() {
	dialog('New policy', (close) => {
		const name = h('input', { name: 'name', required: true, autocomplete: 'off' });
		const slot = h('div');
		const submit = h('button', { type: 'submit', class: 'button primary' }, 'Create policy');
		const form = h('form', { class: 'stack' }, labelled('Name', name), slot, h('div', { class: 'actions' }, h('button', { type: 'button', class: 'button', onclick: close }, 'Cancel'), submit));
		form.addEventListener('submit', (event) => {
			event.preventDefault();
			busy(submit, slot, async () => {
				const policy = await api('POST', '/policies', { body: { name: name.value.trim() } });
				close();
				location.hash = `#/access/policy/${policy.id}`;
			});
		});
		setTimeout(() => name.focus());
		return form;
	});
}

async function renderRole(main, id) {
	const [role, policies, links] = await Promise.all([api('GET', `/roles/${id}`), list('/policies', { sort: 'name' }), list('/access', { filter: { role: { _eq: id } } })]);
	const policyOf = byId(policies);
	const name = h('input', { name: 'name', value: role.name });
	const description = h('input', { name: 'description', value: role.description ?? '' });
	const slot = h('div');
	const save = h('button', { type: 'submit', class: 'button primary' }, 'Save role');
	const form = h('form', { class: 'stack card' }, h('div', { class: 'grid2' }, labelled('Name', name), labelled('Description', description)), slot, h('div', { class: 'actions' }, save));
	form.addEventListener('submit', (e) => {
		e.preventDefault();
		busy(save, slot, async () => {
			await api('PATCH', `/roles/${id}`, { body: { name: name.value.trim(), description: description.value.trim() || null } });
			toast('Saved.');
		});
	});
	const attachSlot = h('div');
	const choice = h('select', { name: 'policy' }, policies.filter((p) => !links.some((l) => l.policy === p.id)).map((p) => h('option', { value: p.id }, p.name)));
	const attach = h('button', { type: 'button', class: 'button', disabled: !choice.options.length, onclick: () => busy(attach, attachSlot, async () => {
		await api('POST', '/access', { body: { role: id, policy: choice.value } });
		await renderRole(main, id);
	}) }, 'Attach policy');
	const attached = links.map((l) => h('li', {}, h('a', { href: `#/access/policy/${l.policy}` }, policyOf.get(l.policy)?.name ?? l.policy), ' ',
		h('button', { type: 'button', class: 'button small', onclick: (e) => busy(e.currentTarget, attachSlot, async () => {
			await api('DELETE', `/access/${l.id}`);
			await renderRole(main, id);
		}) }, 'Detach')));
	const remove = h('button', { type: 'button', class: 'button danger', onclick: async () => {
		if (!(await confirmed(`Delete role ${role.name}? Its users keep their accounts without a role.`))) return;
		busy(remove, slot, async () => {
			await api('DELETE', `/roles/${id}`);
			location.hash = '#/access';
		});
	} }, icon('trash'), 'Delete role');
	replace(main, pageHead(`Role ${role.name}`, h('a', { class: 'button ghost', href: '#/access' }, icon('back'), 'Access'), remove), form,
		h('h2', {}, 'Policies'), attached.length ? h('ul', {}, attached) : empty('No policy attached: users of this role may do nothing yet.'),
		h('div', { class: 'toolbar' }, labelled('Policy', choice), attach), attachSlot);
}

async function renderPolicy(main, id) {
	const [policy, permissions, collections] = await Promise.all([api('GET', `/policies/${id}`), list('/permissions', { filter: { policy: { _eq: id } } }), userCollections(true)]);
	const name = h('input', { name: 'name', value: policy.name });
	const admin = h('input', { type: 'checkbox', name: 'admin_access', checked: policy.admin_access });
	const app = h('input', { type: 'checkbox', name: 'app_access', checked: policy.app_access });
	const slot = h('div');
	const save = h('button', { type: 'submit', class: 'button primary' }, 'Save policy');
	const form = h('form', { class: 'stack card' }, labelled('Name', name),
		h('label', { class: 'check' }, admin, 'Admin access (everything, permissions ignored)'),
		h('label', { class: 'check' }, app, 'App access (may sign in to the Studio)'), slot, h('div', { class: 'actions' }, save));
	form.addEventListener('submit', (e) => {
		e.preventDefault();
		busy(save, slot, async () => {
			await api('PATCH', `/policies/${id}`, { body: { name: name.value.trim(), admin_access: admin.checked, app_access: app.checked } });
			toast('Saved.');
		});
	});
	const rows = collections.map((c) => h('tr', {}, h('th', { scope: 'row' }, c.collection), ACTIONS.map((action) => {
		const row = permissions.find((p) => p.collection === c.collection && p.action === action);
		const level = !row ? 'none' : isFull(row) ? 'all' : 'custom';
		return h('td', {}, h('button', { type: 'button', class: 'button small cell', 'data-level': level, 'data-collection': c.collection, 'data-action': action,
			'aria-label': `${action} on ${c.collection}: ${level}`, onclick: () => permissionDialog(main, id, c.collection, action, row) }, level));
	})));
	const remove = h('button', { type: 'button', class: 'button danger', onclick: async () => {
		if (!(await confirmed(`Delete policy ${policy.name} and its permissions?`))) return;
		busy(remove, slot, async () => {
			await api('DELETE', `/policies/${id}`);
			location.hash = '#/access';
		});
	} }, icon('trash'), 'Delete policy');
	replace(main, pageHead(`Policy ${policy.name}`, h('a', { class: 'button ghost', href: '#/access' }, icon('back'), 'Access'), remove), form,
		h('h2', {}, 'Permissions'),
		policy.admin_access ? h('p', { class: 'hint' }, 'Admin access: every action on every collection is allowed whatever the table says.') : null,
		collections.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'matrix' }, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Collection'), ACTIONS.map((a) => h('th', { scope: 'col' }, a)))), h('tbody', {}, rows))) : empty('No collections yet.'));
}

function isFull(row) {
	const fields = row.fields ?? [];
	const blank = (v) => v === null || v === undefined || (typeof v === 'object' && !Object.keys(v).length);
	return fields.includes('*') && blank(row.permissions) && blank(row.validation) && blank(row.presets);
}

function jsonArea(name, value) {
	return h('textarea', { name, value: value && Object.keys(value).length ? JSON.stringify(value, null, 2) : '', spellcheck: 'false' });
}

function readJson(area, label) {
	if (!area.value.trim()) return null;
	try {
		return JSON.parse(area.value);
	} catch {
		throw new Error(`${label} is not valid JSON.`);
	}
}

async function permissionDialog(main, policy, collection, action, row) {
	const fields = (await api('GET', `/fields/${encodeURIComponent(collection)}`)).map((f) => f.field);
	dialog(`${action} on ${collection}`, (close) => {
		const level = row ? (isFull(row) ? 'all' : 'custom') : 'none';
		const radios = ['none', 'all', 'custom'].map((value) => h('label', { class: 'check' }, h('input', { type: 'radio', name: 'level', value, checked: value === level }),
			{ none: 'No access', all: 'All access (every item, every field)', custom: 'Custom' }[value]));
		const chosen = new Set(row?.fields ?? ['*']);
		const fieldBoxes = ['*', ...fields].map((f) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'fields', value: f, checked: chosen.has(f) }), f === '*' ? 'every field (*)' : f));
		const rule = jsonArea('permissions', row?.permissions);
		const validation = jsonArea('validation', row?.validation);
		const presets = jsonArea('presets', row?.presets);
		const builder = ruleBuilder(fields, rule);
		const custom = h('div', { class: 'stack' },
			h('fieldset', {}, h('legend', {}, 'Fields'), h('div', { class: 'grid2' }, fieldBoxes)),
			action === 'create' ? null : h('fieldset', {}, h('legend', {}, 'Item rule (which items)'), builder, labelled('Item rule as JSON', rule, 'A Directus filter, e.g. {"user_created":{"_eq":"$CURRENT_USER"}}')),
			action === 'create' || action === 'update' ? labelled('Validation (a filter the saved item must pass)', validation) : null,
			action === 'create' || action === 'update' ? labelled('Presets (default values, JSON object)', presets) : null);
		const sync = () => (custom.hidden = form.level.value !== 'custom');
		const slot = h('div');
		const submit = h('button', { type: 'submit', class: 'button primary' }, 'Save permission');
		const form = h('form', { class: 'stack' }, h('fieldset', {}, h('legend', {}, 'Access'), radios), custom, slot,
			h('div', { class: 'actions' }, h('button', { type: 'button', class: 'button', onclick: close }, 'Cancel'), submit));
		form.addEventListener('change', sync);
		form.addEventListener('submit', (event) => {
			event.preventDefault();
			busy(submit, slot, async () => {
				const choice = form.level.value;
				if (choice === 'none') {
					if (row) await api('DELETE', `/permissions/${row.id}`);
				} else {
					const body = choice === 'all'
						? { fields: ['*'], permissions: null, validation: null, presets: null }
						: {
							fields: fieldBoxes.map((l) => l.querySelector('input')).filter((b) => b.checked).map((b) => b.value),
							permissions: action === 'create' ? null : readJson(rule, 'The item rule'),
							validation: readJson(validation, 'The validation'),
							presets: readJson(presets, 'The presets'),
						};
					if (row) await api('PATCH', `/permissions/${row.id}`, { body });
					else await api('POST', '/permissions', { body: { policy, collection, action, ...body } });
				}
				close();
				await renderPolicy(main, policy);
			});
		});
		setTimeout(sync);
		return form;
	});
}

/** A one-condition-per-line filter builder that writes the item rule's JSON (the JSON stays editable). */
function ruleBuilder(fields, area) {
	const lines = h('div', { class: 'stack' });
	const write = () => {
		const parts = [...lines.children].map((line) => {
			const [field, op, value] = line.querySelectorAll('select, input');
			const v = op.value === '_null' || op.value === '_nnull' ? true : op.value === '_in' ? value.value.split(',').map((s) => s.trim()) : value.value;
			return { [field.value]: { [op.value]: v } };
		});
		area.value = parts.length ? JSON.stringify(parts.length === 1 ? parts[0] : { _and: parts }, null, 2) : '';
	};
	const add = () => {
		const line = h('div', { class: 'toolbar' },
			labelled('Field', h('select', { name: 'rule_field' }, fields.map((f) => h('option', { value: f }, f)))),
			labelled('Operator', h('select', { name: 'rule_operator' }, RULE_OPERATORS.map((o) => h('option', { value: o }, o)))),
			labelled('Value', h('input', { name: 'rule_value', placeholder: '$CURRENT_USER' })),
			h('button', { type: 'button', class: 'button small', onclick: () => { line.remove(); write(); } }, 'Remove'));
		line.addEventListener('input', write);
		line.addEventListener('change', write);
		lines.append(line);
		write();
	};
	return h('div', { class: 'stack' }, lines, h('button', { type: 'button', class: 'button small', onclick: add }, icon('plus'), 'Add a condition'));
}

export async function renderUsers(main, [id]) {
	if (id) return renderUser(main, id);
	const [users, roles] = await Promise.all([list('/users', { fields: 'id,email,first_name,last_name,role,status', sort: 'email' }), list('/roles')]);
	const roleOf = byId(roles);
	const rows = users.map((u) => h('tr', {},
		h('td', {}, h('a', { href: `#/users/${u.id}` }, u.email ?? '(no e-mail)')),
		h('td', {}, [u.first_name, u.last_name].filter(Boolean).join(' ')),
		h('td', {}, roleOf.get(u.role)?.name ?? '—'),
		h('td', {}, h('span', { class: u.status === 'active' ? 'badge' : 'badge warn' }, u.status))));
	replace(main, pageHead('Users', h('button', { type: 'button', class: 'button primary', onclick: () => newUser(roles) }, icon('plus'), 'New user')),
		users.length ? table(['E-mail', 'Name', 'Role', 'Status'], rows) : empty('No users.'));
}

function roleSelect(roles, current) {
	const select = h('select', { name: 'role' }, h('option', { value: '' }, '(no role)'), roles.map((r) => h('option', { value: r.id }, r.name)));
	select.value = current ?? '';
	return select;
}

function newUser(roles) {
	dialog('New user', (close) => {
		const email = h('input', { type: 'email', name: 'email', required: true, autocomplete: 'off' });
		const password = h('input', { type: 'password', name: 'password', autocomplete: 'new-password' });
		const first = h('input', { name: 'first_name' });
		const last = h('input', { name: 'last_name' });
		const role = roleSelect(roles, roles.length === 1 ? roles[0].id : null);
		const slot = h('div');
		const submit = h('button', { type: 'submit', class: 'button primary' }, 'Create user');
		const form = h('form', { class: 'stack' }, labelled('E-mail', email), labelled('Password', password, 'Leave empty for a user who only uses a static token.'),
			h('div', { class: 'grid2' }, labelled('First name', first), labelled('Last name', last)), labelled('Role', role), slot,
			h('div', { class: 'actions' }, h('button', { type: 'button', class: 'button', onclick: close }, 'Cancel'), submit));
		form.addEventListener('submit', (event) => {
			event.preventDefault();
			busy(submit, slot, async () => {
				const body = { email: email.value.trim(), first_name: first.value.trim() || null, last_name: last.value.trim() || null, role: role.value || null };
				if (password.value) body.password = password.value;
				const user = await api('POST', '/users', { body });
				close();
				toast(`Created user ${user.email}.`);
				location.hash = `#/users/${user.id}`;
			});
		});
		setTimeout(() => email.focus());
		return form;
	});
}

/** 32 random bytes as URL-safe text: the token exists only in this page until the PATCH stores its hash. */
function randomToken() {
	const bytes = crypto.getRandomValues(new Uint8Array(32));
	return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function renderUser(main, id) {
	const [user, roles] = await Promise.all([api('GET', `/users/${id}`, { query: { fields: 'id,email,first_name,last_name,role,status,token' } }), list('/roles')]);
	const email = h('input', { type: 'email', name: 'email', value: user.email ?? '' });
	const first = h('input', { name: 'first_name', value: user.first_name ?? '' });
	const last = h('input', { name: 'last_name', value: user.last_name ?? '' });
	const password = h('input', { type: 'password', name: 'password', autocomplete: 'new-password', placeholder: 'unchanged' });
	const role = roleSelect(roles, user.role);
	const status = h('select', { name: 'status' }, STATUSES.map((s) => h('option', { value: s }, s)));
	status.value = user.status;
	const slot = h('div');
	const save = h('button', { type: 'submit', class: 'button primary' }, 'Save user');
	const form = h('form', { class: 'stack card' }, h('div', { class: 'grid2' }, labelled('E-mail', email), labelled('New password', password), labelled('First name', first), labelled('Last name', last), labelled('Role', role), labelled('Status', status)), slot, h('div', { class: 'actions' }, save));
	form.addEventListener('submit', (e) => {
		e.preventDefault();
		busy(save, slot, async () => {
			const body = { email: email.value.trim(), first_name: first.value.trim() || null, last_name: last.value.trim() || null, role: role.value || null, status: status.value };
			if (password.value) body.password = password.value;
			await api('PATCH', `/users/${id}`, { body });
			toast('Saved.');
			await renderUser(main, id);
		});
	});
	const suspended = user.status === 'suspended';
	const suspend = h('button', { type: 'button', class: 'button', onclick: () => busy(suspend, slot, async () => {
		await api('PATCH', `/users/${id}`, { body: { status: suspended ? 'active' : 'suspended' } });
		toast(suspended ? 'Reactivated.' : 'Suspended: the user can no longer sign in or use a token.');
		await renderUser(main, id);
	}) }, suspended ? 'Reactivate' : 'Suspend');
	const remove = h('button', { type: 'button', class: 'button danger', onclick: async () => {
		if (!(await confirmed(`Delete user ${user.email}?`))) return;
		busy(remove, slot, async () => {
			await api('DELETE', `/users/${id}`);
			location.hash = '#/users';
		});
	} }, icon('trash'), 'Delete user');
	const tokenSlot = h('div');
	const tokenBox = h('div', { class: 'stack' });
	const generate = h('button', { type: 'button', class: 'button', id: 'generate-token', onclick: async () => {
		if (user.token && !(await confirmed('Replace the current static token? Clients using it stop working.', 'Replace'))) return;
		busy(generate, tokenSlot, async () => {
			const token = randomToken();
			await api('PATCH', `/users/${id}`, { body: { token } });
			user.token = '**********';
			const value = h('output', { class: 'secret', id: 'new-token' }, token);
			const copy = h('button', { type: 'button', class: 'button', onclick: async () => {
				try {
					await navigator.clipboard.writeText(token);
					copy.lastChild.textContent = 'Copied';
				} catch {
					getSelection().selectAllChildren(value);
					copy.lastChild.textContent = 'Selected: press Ctrl+C';
				}
			} }, icon('copy'), h('span', {}, 'Copy'));
			replace(tokenBox, h('p', {}, 'The new static token, shown this once (Tidepool stores only its hash):'), value, h('div', { class: 'actions' }, copy));
			copy.focus();
		});
	} }, icon('key'), user.token ? 'Replace the static token' : 'Generate a static token');
	replace(main, pageHead(user.email ?? 'User', h('a', { class: 'button ghost', href: '#/users' }, icon('back'), 'Users'), suspend, remove), form,
		h('h2', {}, 'Static token'),
		h('p', { class: 'hint' }, user.token ? 'This user has a static token. Generating a new one replaces it.' : 'No static token yet. A static token lets a script or page act as this user (Authorization: Bearer …).'),
		h('div', { class: 'actions' }, generate), tokenSlot, tokenBox);
}
