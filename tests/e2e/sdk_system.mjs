// The official @directus/sdk's system commands against a running Tidepool, unchanged: what the SDK's
// readProviders, readUserPermissions, readItemPermissions, readRolesMe, readPolicyGlobals, randomString,
// utilitySort and clearCache get back, for the admin and for a limited user.
//
// Usage: node sdk_system.mjs <base-url> <admin-token> <user-token> <first-id> <last-id>
// Prints one JSON object: {"<who>:<command>": {"data": ...} | {"status": ..., "errors": [...]}}.
import {
	clearCache, createDirectus, randomString, readItemPermissions, readPolicyGlobals, readProviders,
	readRolesMe, readUserPermissions, rest, staticToken, utilitySort,
} from '@directus/sdk';

const [baseUrl, adminToken, userToken, firstId, lastId] = process.argv.slice(2);

const commands = {
	providers: () => readProviders(),
	providersSessionOnly: () => readProviders(true),
	userPermissions: () => readUserPermissions(),
	itemPermissions: () => readItemPermissions('ranked', firstId),
	rolesMe: () => readRolesMe({ fields: ['id'] }),
	policyGlobals: () => readPolicyGlobals(),
	randomString: () => randomString(12),
	sort: () => utilitySort('ranked', Number(lastId), Number(firstId)),
	clearCache: () => clearCache(),
};

const results = {};
for (const [who, token] of [['admin', adminToken], ['user', userToken]]) {
	const client = createDirectus(baseUrl).with(staticToken(token)).with(rest());
	for (const [name, command] of Object.entries(commands)) {
		try {
			results[`${who}:${name}`] = { data: (await client.request(command())) ?? null };
		} catch (error) {
			results[`${who}:${name}`] = { status: error?.response?.status ?? null, errors: error?.errors ?? String(error) };
		}
	}
}
process.stdout.write(JSON.stringify(results) + '\n');
