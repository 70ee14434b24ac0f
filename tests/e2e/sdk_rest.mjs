// Every REST composable of the official @directus/sdk against one server, as the admin and as a limited
// user, in a fixed order: the SDK REST suite (tests/e2e/test_sdk_rest.py) runs it against Tidepool and
// compares with the answers recorded from Directus 12.4.1 by record_directus.py.
//
// Usage: node sdk_rest.mjs <base-url> <admin-static-token>
// Prints one JSON line per call: {name, as, requests: [[method, path, status]...], status, data | errors}.
// `status` is the HTTP status of the call's last request. Everything it creates is named `sw_*` / `sw-*`
// (so it can run against a shared Directus) and removed again at the end; leftovers of an aborted run are
// removed, unrecorded, first.
import {
	aggregate,
	authenticateShare,
	authentication,
	clearCache,
	compareContentVersion,
	createCollection,
	createComment,
	createContentVersion,
	createDashboard,
	createDirectus,
	createField,
	createFlow,
	createFolder,
	createItem,
	createItems,
	createNotification,
	createOperation,
	createPanel,
	createPermission,
	createPolicy,
	createPreset,
	createRelation,
	createRole,
	createShare,
	createTranslation,
	createUser,
	deleteCollection,
	deleteComment,
	deleteContentVersion,
	deleteDashboard,
	deleteField,
	deleteFile,
	deleteFlow,
	deleteFolder,
	deleteItem,
	deleteItems,
	deleteNotification,
	deleteOperation,
	deletePanel,
	deletePermission,
	deletePolicy,
	deletePreset,
	deleteRelation,
	deleteRole,
	deleteShare,
	deleteTranslation,
	deleteUser,
	importFile,
	passwordRequest,
	promoteContentVersion,
	randomString,
	readActivities,
	readActivity,
	readAssetArrayBuffer,
	readCollection,
	readCollections,
	readComment,
	readComments,
	readContentVersion,
	readContentVersions,
	readDashboard,
	readDashboards,
	readExtensions,
	readField,
	readFields,
	readFieldsByCollection,
	readFile,
	readFiles,
	readFlow,
	readFlows,
	readFolder,
	readFolders,
	readItem,
	readItemPermissions,
	readItems,
	readMe,
	readNotification,
	readNotifications,
	readOpenApiSpec,
	readOperation,
	readOperations,
	readPanel,
	readPanels,
	readPermission,
	readPermissions,
	readPolicies,
	readPolicy,
	readPolicyGlobals,
	readPreset,
	readPresets,
	readProviders,
	readRelation,
	readRelationByCollection,
	readRelations,
	readRevision,
	readRevisions,
	readRole,
	readRoles,
	readRolesMe,
	readSettings,
	readShare,
	readShareInfo,
	readShares,
	readSingleton,
	readTranslation,
	readTranslations,
	readUser,
	readUserPermissions,
	readUsers,
	rest,
	saveToContentVersion,
	schemaDiff,
	schemaSnapshot,
	serverHealth,
	serverInfo,
	serverPing,
	staticToken,
	updateCollection,
	updateComment,
	updateContentVersion,
	updateDashboard,
	updateField,
	updateFile,
	updateFlow,
	updateFolder,
	updateItem,
	updateItems,
	updateItemsBatch,
	updateMe,
	updateNotification,
	updateOperation,
	updatePanel,
	updatePermission,
	updatePolicy,
	updatePreset,
	updateRelation,
	updateRole,
	updateSettings,
	updateShare,
	updateSingleton,
	updateTranslation,
	updateUser,
	uploadFiles,
	utilitySort,
} from '@directus/sdk';

const [baseUrl, adminToken] = process.argv.slice(2);
const USER = { email: 'sw-user@example.com', password: 'sw-user-pass', token: 'sw-user-static-token' };

// Every request of the current call, as [method, path, status]: the SDK returns only the data.
let requests = [];
async function recordingFetch(input, init) {
	const response = await fetch(input, init);
	const url = new URL(typeof input === 'string' ? input : input.url);
	requests.push([(init && init.method) || 'GET', url.pathname + url.search, response.status]);
	return response;
}

function client(token) {
	return createDirectus(baseUrl, { globals: { fetch: recordingFetch } }).with(staticToken(token)).with(rest());
}

const admin = client(adminToken);
const user = client(USER.token);
const ctx = {};

function emit(line) {
	process.stdout.write(JSON.stringify(line) + '\n');
}

// One recorded call: `view` turns a large or random answer into its comparable part.
async function call(name, who, run, view = (data) => data) {
	requests = [];
	const entry = { name, as: who };
	try {
		const data = await run();
		Object.assign(entry, { ok: true, data: data === undefined ? null : view(data) });
	} catch (error) {
		const status = error && error.response ? error.response.status : null;
		entry.ok = false;
		entry.errors = error && error.errors ? error.errors : [{ message: String(error) }];
		entry.errorStatus = status;
	}
	entry.requests = requests;
	entry.status = requests.length ? requests[requests.length - 1][2] : null;
	emit(entry);
	return entry.ok ? entry.data : undefined;
}

// Unrecorded housekeeping (clean-up of an earlier run): errors ignored.
async function quietly(run) {
	try {
		return await run();
	} catch {
		return undefined;
	}
}

// A 1×1 PNG: the file the suite uploads.
const PIXEL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const bytes = (data) => ({ byteLength: data.byteLength });
const keysOf = (data) => Object.keys(data).sort();

async function cleanUp() {
	for (const name of ['sw_tags', 'sw_notes', 'sw_single']) await quietly(() => admin.request(deleteCollection(name)));
	const users = (await quietly(() => admin.request(readUsers({ filter: { email: { _eq: USER.email } } })))) || [];
	for (const found of users) await quietly(() => admin.request(deleteUser(found.id)));
	const roles = (await quietly(() => admin.request(readRoles({ filter: { name: { _starts_with: 'sw ' } } })))) || [];
	for (const found of roles) await quietly(() => admin.request(deleteRole(found.id)));
	const policies = (await quietly(() => admin.request(readPolicies({ filter: { name: { _starts_with: 'sw ' } } })))) || [];
	for (const found of policies) await quietly(() => admin.request(deletePolicy(found.id)));
	for (const [read, remove] of [
		[readFlows, deleteFlow],
		[readDashboards, deleteDashboard],
		[readFolders, deleteFolder],
		[readPresets, deletePreset],
	]) {
		const rows = (await quietly(() => admin.request(read({ filter: { name: { _starts_with: 'sw ' } } })))) || [];
		for (const row of rows) await quietly(() => admin.request(remove(row.id)));
	}
	const files = (await quietly(() => admin.request(readFiles({ filter: { title: { _starts_with: 'sw ' } } })))) || [];
	for (const row of files) await quietly(() => admin.request(deleteFile(row.id)));
	const words = (await quietly(() => admin.request(readTranslations({ filter: { key: { _starts_with: 'sw_' } } })))) || [];
	for (const row of words) await quietly(() => admin.request(deleteTranslation(row.id)));
}

const NOTES = {
	collection: 'sw_notes',
	meta: { icon: 'note', sort_field: 'sort', versioning: true, accountability: 'all' },
	schema: {},
	fields: [
		{ field: 'id', type: 'integer', meta: { hidden: true, readonly: true }, schema: { is_primary_key: true, has_auto_increment: true } },
		{ field: 'title', type: 'string', meta: { interface: 'input' }, schema: {} },
		{ field: 'count', type: 'integer', meta: { interface: 'input' }, schema: {} },
		{ field: 'sort', type: 'integer', meta: { hidden: true }, schema: {} },
		{ field: 'date_created', type: 'timestamp', meta: { special: ['date-created'], readonly: true }, schema: {} },
	],
};

async function server() {
	await call('serverPing', 'admin', () => admin.request(serverPing()));
	await call('serverHealth', 'admin', () => admin.request(serverHealth()), keysOf);
	await call('serverInfo', 'admin', () => admin.request(serverInfo()));
	await call('readProviders', 'admin', () => admin.request(readProviders()));
	await call('readProviders(sessionOnly)', 'admin', () => admin.request(readProviders(true)));
	await call('readOpenApiSpec', 'admin', () => admin.request(readOpenApiSpec()), openApiView);
	await call('passwordRequest(unknown email)', 'admin', () => admin.request(passwordRequest('sw-nobody@example.com')));
}

// The OpenAPI document's comparable part: its version, info keys and the paths outside other people's
// collections on a shared server.
function openApiView(spec) {
	const paths = Object.keys(spec.paths || {}).filter((path) => !path.startsWith('/items/') || path.startsWith('/items/sw_'));
	return { openapi: spec.openapi, info: keysOf(spec.info || {}), paths: paths.sort() };
}

async function schema() {
	await call('createCollection', 'admin', () => admin.request(createCollection(NOTES)));
	await call('readCollections', 'admin', () => admin.request(readCollections()));
	await call('readCollection', 'admin', () => admin.request(readCollection('sw_notes')));
	await call('updateCollection', 'admin', () => admin.request(updateCollection('sw_notes', { meta: { note: 'sw notes' } })));
	await call('readFields', 'admin', () => admin.request(readFields()));
	await call('readFieldsByCollection', 'admin', () => admin.request(readFieldsByCollection('sw_notes')));
	await call('readField', 'admin', () => admin.request(readField('sw_notes', 'title')));
	await call('createField', 'admin', () => admin.request(createField('sw_notes', { field: 'extra', type: 'integer', meta: {}, schema: {} })));
	await call('updateField', 'admin', () => admin.request(updateField('sw_notes', 'extra', { meta: { note: 'more' } })));
	await call('deleteField', 'admin', () => admin.request(deleteField('sw_notes', 'extra')));
	await call('createCollection(singleton)', 'admin', () =>
		admin.request(
			createCollection({
				collection: 'sw_single',
				meta: { singleton: true },
				schema: {},
				fields: [
					{ field: 'id', type: 'integer', schema: { is_primary_key: true, has_auto_increment: true } },
					{ field: 'motto', type: 'string', meta: {}, schema: {} },
				],
			}),
		),
	);
	await call('createCollection(tags)', 'admin', () =>
		admin.request(
			createCollection({
				collection: 'sw_tags',
				meta: {},
				schema: {},
				fields: [
					{ field: 'id', type: 'integer', schema: { is_primary_key: true, has_auto_increment: true } },
					{ field: 'label', type: 'string', meta: {}, schema: {} },
					{ field: 'note', type: 'integer', meta: { special: ['m2o'] }, schema: {} },
				],
			}),
		),
	);
	await call('createRelation', 'admin', () =>
		admin.request(createRelation({ collection: 'sw_tags', field: 'note', related_collection: 'sw_notes', meta: {}, schema: { on_delete: 'SET NULL' } })),
	);
	await call('readRelations', 'admin', () => admin.request(readRelations()));
	await call('readRelationByCollection', 'admin', () => admin.request(readRelationByCollection('sw_tags')));
	await call('readRelation', 'admin', () => admin.request(readRelation('sw_tags', 'note')));
	await call('updateRelation', 'admin', () => admin.request(updateRelation('sw_tags', 'note', { meta: { sort_field: null } })));
}

async function items() {
	const one = await call('createItem', 'admin', () => admin.request(createItem('sw_notes', { title: 'first', count: 1 })));
	ctx.note = one && one.id;
	const many = await call('createItems', 'admin', () =>
		admin.request(createItems('sw_notes', [{ title: 'second', count: 2 }, { title: 'third', count: 3 }, { title: 'fourth', count: 4 }])),
	);
	ctx.notes = (many || []).map((row) => row.id);
	await call('readItems', 'admin', () => admin.request(readItems('sw_notes', { sort: ['id'] })));
	await call('readItems(fields,filter,limit)', 'admin', () =>
		admin.request(readItems('sw_notes', { fields: ['id', 'title'], filter: { count: { _gte: 2 } }, sort: ['-count'], limit: 2 })),
	);
	await call('readItems(search)', 'admin', () => admin.request(readItems('sw_notes', { search: 'thi', fields: ['title'] })));
	await call('readItems($NOW filter)', 'admin', () =>
		admin.request(readItems('sw_notes', { fields: ['title'], sort: ['id'], filter: { date_created: { _gte: '$NOW(-1 day)' } } })),
	);
	await call('readItems(meta)', 'admin', () => admin.request(readItems('sw_notes', { fields: ['id'], meta: '*', limit: 1 })));
	await call('aggregate', 'admin', () => admin.request(aggregate('sw_notes', { aggregate: { count: '*', sum: 'count' } })));
	await call('aggregate(groupBy)', 'admin', () =>
		admin.request(aggregate('sw_notes', { aggregate: { count: '*' }, groupBy: ['title'], query: { sort: ['title'] } })),
	);
	await call('readItem', 'admin', () => admin.request(readItem('sw_notes', ctx.note)));
	await call('readItem(missing)', 'admin', () => admin.request(readItem('sw_notes', 999999)));
	await call('readItems(unknown collection)', 'admin', () => admin.request(readItems('sw_nowhere')));
	await call('updateItem', 'admin', () => admin.request(updateItem('sw_notes', ctx.note, { title: 'first, edited' })));
	await call('updateItems', 'admin', () => admin.request(updateItems('sw_notes', ctx.notes.slice(0, 2), { count: 20 })));
	await call('updateItemsBatch', 'admin', () =>
		admin.request(updateItemsBatch('sw_notes', [{ id: ctx.notes[0], title: 'second, edited' }, { id: ctx.notes[1], title: 'third, edited' }])),
	);
	await call('utilitySort', 'admin', () => admin.request(utilitySort('sw_notes', ctx.notes[1], ctx.note)));
	await call('createItem(tag)', 'admin', () => admin.request(createItem('sw_tags', { label: 'red', note: ctx.note })));
	await call('readItems(m2o fields)', 'admin', () => admin.request(readItems('sw_tags', { fields: ['label', 'note.title'] })));
	await call('readSingleton', 'admin', () => admin.request(readSingleton('sw_single')));
	await call('updateSingleton', 'admin', () => admin.request(updateSingleton('sw_single', { motto: 'carpe diem' })));
	await call('deleteItem', 'admin', () => admin.request(deleteItem('sw_notes', ctx.notes[2])));
	await call('deleteItems', 'admin', () => admin.request(deleteItems('sw_tags', { filter: { label: { _eq: 'red' } } })));
}

async function access() {
	const policy = await call('createPolicy', 'admin', () =>
		admin.request(createPolicy({ name: 'sw policy', icon: 'badge', app_access: false, admin_access: false, enforce_tfa: false })),
	);
	ctx.policy = policy && policy.id;
	await call('readPolicies', 'admin', () => admin.request(readPolicies({ filter: { name: { _starts_with: 'sw ' } } })));
	await call('readPolicy', 'admin', () => admin.request(readPolicy(ctx.policy)));
	await call('updatePolicy', 'admin', () => admin.request(updatePolicy(ctx.policy, { description: 'for the SDK suite' })));
	await call('readPolicyGlobals', 'admin', () => admin.request(readPolicyGlobals()));
	const read = await call('createPermission', 'admin', () =>
		admin.request(createPermission({ policy: ctx.policy, collection: 'sw_notes', action: 'read', fields: ['*'], permissions: {}, validation: {} })),
	);
	ctx.permission = read && read.id;
	await call('createPermission(create)', 'admin', () =>
		admin.request(createPermission({ policy: ctx.policy, collection: 'sw_notes', action: 'create', fields: ['*'], permissions: {}, validation: {} })),
	);
	await call('readPermissions', 'admin', () => admin.request(readPermissions({ filter: { policy: { _eq: ctx.policy } }, sort: ['action'] })));
	await call('readPermission', 'admin', () => admin.request(readPermission(ctx.permission)));
	await call('updatePermission', 'admin', () => admin.request(updatePermission(ctx.permission, { fields: ['*'] })));
	await call('updatePermission(field list)', 'admin', () =>
		admin.request(updatePermission(ctx.permission, { fields: ['id', 'title', 'count', 'sort', 'date_created'] })),
	);
	// Directus refuses that one (a departure); back to every field so the calls after it compare alike.
	await quietly(() => admin.request(updatePermission(ctx.permission, { fields: ['*'] })));
	await call('readUserPermissions', 'admin', () => admin.request(readUserPermissions()), (rows) => filterCollections(rows));
	await call('readItemPermissions', 'admin', () => admin.request(readItemPermissions('sw_notes', String(ctx.note))));
	const role = await call('createRole', 'admin', () => admin.request(createRole({ name: 'sw role', icon: 'face' })));
	ctx.role = role && role.id;
	await call('readRoles', 'admin', () => admin.request(readRoles({ filter: { name: { _starts_with: 'sw ' } } })));
	await call('readRole', 'admin', () => admin.request(readRole(ctx.role)));
	await call('updateRole(policies)', 'admin', () => admin.request(updateRole(ctx.role, { policies: { create: [{ policy: ctx.policy }] } })));
	await call('readRolesMe', 'admin', () => admin.request(readRolesMe()));
	const created = await call('createUser', 'admin', () =>
		admin.request(createUser({ email: USER.email, password: USER.password, role: ctx.role, token: USER.token, status: 'active', first_name: 'Sw' })),
	);
	ctx.user = created && created.id;
	await call('readUsers', 'admin', () => admin.request(readUsers({ filter: { email: { _eq: USER.email } } })));
	await call('readUser', 'admin', () => admin.request(readUser(ctx.user)));
	await call('updateUser', 'admin', () => admin.request(updateUser(ctx.user, { last_name: 'Walker' })));
	const me = await call('readMe', 'admin', () => admin.request(readMe()));
	ctx.admin = me && me.id;
	await call('readMe(fields)', 'admin', () => admin.request(readMe({ fields: ['email', 'role.name', 'policies'] })));
	await call('updateMe', 'admin', () => admin.request(updateMe({ language: 'en-US' })));
}

// Lists that may name other people's collections on a shared server keep only system and sw_ ones.
function filterCollections(rows) {
	if (rows && typeof rows === 'object' && !Array.isArray(rows)) {
		return Object.fromEntries(Object.entries(rows).filter(([name]) => name.startsWith('directus_') || name.startsWith('sw_')));
	}
	return rows;
}

async function system() {
	const settings = await call('readSettings', 'admin', () => admin.request(readSettings()));
	await call('updateSettings', 'admin', () => admin.request(updateSettings({ project_descriptor: 'sw walk' })));
	await quietly(() => admin.request(updateSettings({ project_descriptor: settings ? settings.project_descriptor : null })));
	const activity = await call('readActivities', 'admin', () =>
		admin.request(readActivities({ filter: { collection: { _eq: 'sw_notes' } }, sort: ['id'], limit: 3 })),
	);
	await call('readActivity', 'admin', () => admin.request(readActivity(activity && activity[0] ? activity[0].id : 0)));
	const revisions = await call('readRevisions', 'admin', () =>
		admin.request(readRevisions({ filter: { collection: { _eq: 'sw_notes' } }, sort: ['id'], limit: 3 })),
	);
	await call('readRevision', 'admin', () => admin.request(readRevision(revisions && revisions[0] ? revisions[0].id : 0)));
	const preset = await call('createPreset', 'admin', () =>
		admin.request(createPreset({ bookmark: 'sw bookmark', collection: 'sw_notes', user: ctx.admin, layout: 'tabular', search: 'x' })),
	);
	ctx.preset = preset && preset.id;
	await call('readPresets', 'admin', () => admin.request(readPresets({ filter: { collection: { _eq: 'sw_notes' } } })));
	await call('readPreset', 'admin', () => admin.request(readPreset(ctx.preset)));
	await call('updatePreset', 'admin', () => admin.request(updatePreset(ctx.preset, { search: 'y' })));
	await call('deletePreset', 'admin', () => admin.request(deletePreset(ctx.preset)));
	const word = await call('createTranslation', 'admin', () => admin.request(createTranslation({ key: 'sw_hello', language: 'en-US', value: 'Hello' })));
	ctx.translation = word && word.id;
	await call('readTranslations', 'admin', () => admin.request(readTranslations({ filter: { key: { _starts_with: 'sw_' } } })));
	await call('readTranslation', 'admin', () => admin.request(readTranslation(ctx.translation)));
	await call('updateTranslation', 'admin', () => admin.request(updateTranslation(ctx.translation, { value: 'Hi' })));
	await call('deleteTranslation', 'admin', () => admin.request(deleteTranslation(ctx.translation)));
	await call('readExtensions', 'admin', () => admin.request(readExtensions()));
	await call('randomString', 'admin', () => admin.request(randomString(24)), (text) => ({ type: typeof text, length: text.length }));
	await call('clearCache', 'admin', () => admin.request(clearCache()));
	await call('schemaSnapshot', 'admin', () => admin.request(schemaSnapshot()), snapshotView);
	const full = await quietly(() => admin.request(schemaSnapshot()));
	await call('schemaDiff(no changes)', 'admin', () => admin.request(schemaDiff(full || {})));
}

function snapshotView(snapshot) {
	const mine = (row) => row.collection.startsWith('sw_');
	return {
		keys: keysOf(snapshot),
		version: snapshot.version,
		directus: snapshot.directus,
		collections: (snapshot.collections || []).filter(mine),
		fields: (snapshot.fields || []).filter(mine),
		relations: (snapshot.relations || []).filter(mine),
	};
}

async function files() {
	const folder = await call('createFolder', 'admin', () => admin.request(createFolder({ name: 'sw folder' })));
	ctx.folder = folder && folder.id;
	await call('readFolders', 'admin', () => admin.request(readFolders({ filter: { name: { _starts_with: 'sw ' } } })));
	await call('readFolder', 'admin', () => admin.request(readFolder(ctx.folder)));
	await call('updateFolder', 'admin', () => admin.request(updateFolder(ctx.folder, { name: 'sw folder, renamed' })));
	const form = new FormData();
	form.append('title', 'sw hello');
	form.append('folder', ctx.folder || '');
	form.append('file', new Blob([Buffer.from(PIXEL, 'base64')], { type: 'image/png' }), 'sw-pixel.png');
	const uploaded = await call('uploadFiles', 'admin', () => admin.request(uploadFiles(form)));
	ctx.file = uploaded && uploaded.id;
	await call('readFiles', 'admin', () => admin.request(readFiles({ filter: { title: { _starts_with: 'sw ' } } })));
	await call('readFile', 'admin', () => admin.request(readFile(ctx.file)));
	await call('updateFile', 'admin', () => admin.request(updateFile(ctx.file, { description: 'a text file' })));
	await call('readAssetArrayBuffer', 'admin', () => admin.request(readAssetArrayBuffer(ctx.file)), bytes);
	await call('readAssetArrayBuffer(download)', 'admin', () => admin.request(readAssetArrayBuffer(ctx.file, { download: true })), bytes);
	await call('readAssetArrayBuffer(transformed)', 'admin', () =>
		admin.request(readAssetArrayBuffer(ctx.file, { width: 2, height: 2, fit: 'cover', format: 'webp', quality: 80 })),
		(data) => ({ nonEmpty: data.byteLength > 0 }),
	);
	await call('importFile(loopback URL)', 'admin', () => admin.request(importFile(`${baseUrl}/server/ping`, { title: 'sw imported' })));
	await call('deleteFile', 'admin', () => admin.request(deleteFile(ctx.file)));
	await call('deleteFolder', 'admin', () => admin.request(deleteFolder(ctx.folder)));
}

async function automation() {
	const flow = await call('createFlow', 'admin', () =>
		admin.request(createFlow({ name: 'sw flow', icon: 'bolt', status: 'active', trigger: 'manual', options: { collections: ['sw_notes'] } })),
	);
	ctx.flow = flow && flow.id;
	await call('readFlows', 'admin', () => admin.request(readFlows({ filter: { name: { _starts_with: 'sw ' } } })));
	await call('readFlow', 'admin', () => admin.request(readFlow(ctx.flow)));
	await call('updateFlow', 'admin', () => admin.request(updateFlow(ctx.flow, { description: 'does nothing' })));
	const operation = await call('createOperation', 'admin', () =>
		admin.request(createOperation({ flow: ctx.flow, key: 'sw_log', name: 'sw log', type: 'log', position_x: 19, position_y: 1, options: { message: 'hi' } })),
	);
	ctx.operation = operation && operation.id;
	await call('readOperations', 'admin', () => admin.request(readOperations({ filter: { flow: { _eq: ctx.flow } } })));
	await call('readOperation', 'admin', () => admin.request(readOperation(ctx.operation)));
	await call('updateOperation', 'admin', () => admin.request(updateOperation(ctx.operation, { position_y: 3 })));
	await call('deleteOperation', 'admin', () => admin.request(deleteOperation(ctx.operation)));
	await call('deleteFlow', 'admin', () => admin.request(deleteFlow(ctx.flow)));
	const board = await call('createDashboard', 'admin', () => admin.request(createDashboard({ name: 'sw dashboard', icon: 'space_dashboard' })));
	ctx.dashboard = board && board.id;
	await call('readDashboards', 'admin', () => admin.request(readDashboards({ filter: { name: { _starts_with: 'sw ' } } })));
	await call('readDashboard', 'admin', () => admin.request(readDashboard(ctx.dashboard)));
	await call('updateDashboard', 'admin', () => admin.request(updateDashboard(ctx.dashboard, { note: 'numbers' })));
	const panel = await call('createPanel', 'admin', () =>
		admin.request(
			createPanel({ dashboard: ctx.dashboard, name: 'sw panel', type: 'label', position_x: 1, position_y: 1, width: 6, height: 4, show_header: false, options: { text: 'hi' } }),
		),
	);
	ctx.panel = panel && panel.id;
	await call('readPanels', 'admin', () => admin.request(readPanels({ filter: { dashboard: { _eq: ctx.dashboard } } })));
	await call('readPanel', 'admin', () => admin.request(readPanel(ctx.panel)));
	await call('updatePanel', 'admin', () => admin.request(updatePanel(ctx.panel, { width: 8 })));
	await call('deletePanel', 'admin', () => admin.request(deletePanel(ctx.panel)));
	await call('deleteDashboard', 'admin', () => admin.request(deleteDashboard(ctx.dashboard)));
}

async function collaboration() {
	const note = await call('createNotification', 'admin', () =>
		admin.request(createNotification({ recipient: ctx.admin, subject: 'sw subject', message: 'sw message', collection: 'sw_notes', item: String(ctx.note) })),
	);
	ctx.notification = note && note.id;
	await call('readNotifications', 'admin', () => admin.request(readNotifications({ filter: { subject: { _starts_with: 'sw ' } } })));
	await call('readNotification', 'admin', () => admin.request(readNotification(ctx.notification)));
	await call('updateNotification', 'admin', () => admin.request(updateNotification(ctx.notification, { status: 'archived' })));
	await call('deleteNotification', 'admin', () => admin.request(deleteNotification(ctx.notification)));
	const share = await call('createShare', 'admin', () =>
		admin.request(createShare({ name: 'sw share', collection: 'sw_notes', item: String(ctx.note), role: ctx.role })),
	);
	ctx.share = share && share.id;
	await call('readShares', 'admin', () => admin.request(readShares({ filter: { name: { _starts_with: 'sw ' } } })));
	await call('readShare', 'admin', () => admin.request(readShare(ctx.share)));
	await call('updateShare', 'admin', () => admin.request(updateShare(ctx.share, { max_uses: 5 })));
	await call('readShareInfo', 'admin', () => admin.request(readShareInfo(ctx.share)));
	await call('authenticateShare', 'admin', () => admin.request(authenticateShare(ctx.share, undefined, 'json')));
	await call('deleteShare', 'admin', () => admin.request(deleteShare(ctx.share)));
	const comment = await call('createComment', 'admin', () =>
		admin.request(createComment({ collection: 'sw_notes', item: String(ctx.note), comment: 'sw comment' })),
	);
	ctx.comment = comment && comment.id;
	await call('readComments', 'admin', () => admin.request(readComments({ filter: { collection: { _eq: 'sw_notes' } } })));
	await call('readComment', 'admin', () => admin.request(readComment(ctx.comment)));
	await call('updateComment', 'admin', () => admin.request(updateComment(ctx.comment, { comment: 'sw comment, edited' })));
	await call('deleteComment', 'admin', () => admin.request(deleteComment(ctx.comment)));
	const version = await call('createContentVersion', 'admin', () =>
		admin.request(createContentVersion({ key: 'sw-draft', name: 'sw draft', collection: 'sw_notes', item: String(ctx.note) })),
	);
	ctx.version = version && version.id;
	await call('readContentVersions', 'admin', () => admin.request(readContentVersions({ filter: { collection: { _eq: 'sw_notes' } } })));
	await call('readContentVersion', 'admin', () => admin.request(readContentVersion(ctx.version)));
	await call('updateContentVersion', 'admin', () => admin.request(updateContentVersion(ctx.version, { name: 'sw draft 2' })));
	await call('saveToContentVersion', 'admin', () => admin.request(saveToContentVersion(ctx.version, { title: 'drafted' })));
	const compared = await call('compareContentVersion', 'admin', () => admin.request(compareContentVersion(ctx.version)));
	await call('promoteContentVersion', 'admin', () =>
		admin.request(promoteContentVersion(ctx.version, compared && compared.main ? compared.mainHash || '' : '')),
	);
	await call('deleteContentVersion', 'admin', () => admin.request(deleteContentVersion(ctx.version)));
}

// The limited user: read + create on sw_notes only, no app access.
async function limitedUser() {
	const as = 'user';
	await call('readMe', as, () => user.request(readMe()));
	await call('updateMe', as, () => user.request(updateMe({ first_name: 'Sally' })));
	await call('readItems', as, () => user.request(readItems('sw_notes', { fields: ['title'], sort: ['id'] })));
	await call('readItems($NOW filter)', as, () =>
		user.request(readItems('sw_notes', { fields: ['title'], sort: ['id'], filter: { date_created: { _gte: '$NOW(-1 day)' } } })),
	);
	await call('createItem', as, () => user.request(createItem('sw_notes', { title: 'from the user' })));
	await call('updateItem', as, () => user.request(updateItem('sw_notes', ctx.note, { title: 'not allowed' })));
	await call('deleteItem', as, () => user.request(deleteItem('sw_notes', ctx.note)));
	await call('readItems(no permission)', as, () => user.request(readItems('sw_tags')));
	await call('readSingleton(no permission)', as, () => user.request(readSingleton('sw_single')));
	await call('aggregate', as, () => user.request(aggregate('sw_notes', { aggregate: { count: '*' } })));
	const reads = [
		['readCollections', () => readCollections()],
		['readCollection', () => readCollection('sw_notes')],
		['readFields', () => readFields()],
		['readFieldsByCollection', () => readFieldsByCollection('sw_notes')],
		['readRelations', () => readRelations()],
		['readRoles', () => readRoles()],
		['readRolesMe', () => readRolesMe()],
		['readPolicies', () => readPolicies()],
		['readPolicyGlobals', () => readPolicyGlobals()],
		['readPermissions', () => readPermissions()],
		['readUserPermissions', () => readUserPermissions()],
		['readItemPermissions', () => readItemPermissions('sw_notes', String(ctx.note))],
		['readUsers', () => readUsers()],
		['readSettings', () => readSettings()],
		['updateSettings', () => updateSettings({ project_descriptor: 'not allowed' })],
		['readActivities', () => readActivities({ limit: 1 })],
		['readRevisions', () => readRevisions({ limit: 1 })],
		['readPresets', () => readPresets()],
		['readTranslations', () => readTranslations({ filter: { key: { _starts_with: 'sw_' } } })],
		['readExtensions', () => readExtensions()],
		['readFiles', () => readFiles({ limit: 1 })],
		['readFolders', () => readFolders({ limit: 1 })],
		['readFlows', () => readFlows()],
		['readOperations', () => readOperations()],
		['readDashboards', () => readDashboards()],
		['readPanels', () => readPanels()],
		['readNotifications', () => readNotifications()],
		['readShares', () => readShares()],
		['readComments', () => readComments()],
		['readContentVersions', () => readContentVersions()],
		['schemaSnapshot', () => schemaSnapshot()],
		['clearCache', () => clearCache()],
		['serverInfo', () => serverInfo()],
		['readProviders', () => readProviders()],
	];
	for (const [name, command] of reads) await call(name, as, () => user.request(command()), filterCollections);
	await call('randomString', as, () => user.request(randomString(8)), (text) => ({ type: typeof text, length: text.length }));
	await call('readOpenApiSpec', as, () => user.request(readOpenApiSpec()), openApiView);
	const login = createDirectus(baseUrl, { globals: { fetch: recordingFetch } }).with(authentication('json')).with(rest());
	await call('login', as, () => login.login({ email: USER.email, password: USER.password }), keysOf);
	await call('refresh', as, () => login.refresh(), keysOf);
	await call('logout', as, () => login.logout());
}

async function teardown() {
	await call('deleteRelation', 'admin', () => admin.request(deleteRelation('sw_tags', 'note')));
	await call('deleteUser', 'admin', () => admin.request(deleteUser(ctx.user)));
	await call('deletePermission', 'admin', () => admin.request(deletePermission(ctx.permission)));
	await call('deleteRole', 'admin', () => admin.request(deleteRole(ctx.role)));
	await call('deletePolicy', 'admin', () => admin.request(deletePolicy(ctx.policy)));
	await call('deleteCollection', 'admin', () => admin.request(deleteCollection('sw_tags')));
	await call('readCollection(deleted)', 'admin', () => admin.request(readCollection('sw_tags')));
	await quietly(() => admin.request(deleteCollection('sw_single')));
	await quietly(() => admin.request(deleteCollection('sw_notes')));
}

try {
	await cleanUp();
	await server();
	await schema();
	await items();
	await access();
	await system();
	await files();
	await automation();
	await collaboration();
	await limitedUser();
	await teardown();
	emit({ name: 'done' });
	process.exit(0);
} catch (error) {
	emit({ name: 'crashed', error: String(error && error.stack ? error.stack : error) });
	await cleanUp();
	process.exit(1);
}
