// The official SDK's schema composables against a live server: snapshot, diff, apply, diff again.
// Usage: node sdk_schema.mjs URL ADMIN_TOKEN; prints one JSON object of what each call answered.
import { createDirectus, rest, staticToken, schemaSnapshot, schemaDiff, schemaApply } from '@directus/sdk';

const [url, token] = process.argv.slice(2);
const client = createDirectus(url).with(staticToken(token)).with(rest());
const snapshot = await client.request(schemaSnapshot());
const own = await client.request(schemaDiff(snapshot));
// A snapshot that adds a collection with a short meta (as a hand-written file would).
snapshot.collections.push({ collection: 'schema_sdk', meta: { collection: 'schema_sdk', icon: 'star' }, schema: { name: 'schema_sdk' } });
snapshot.fields.push({
  collection: 'schema_sdk', field: 'id', type: 'integer',
  meta: { collection: 'schema_sdk', field: 'id', hidden: true },
  schema: { is_primary_key: true, has_auto_increment: true },
});
const planned = await client.request(schemaDiff(snapshot, { force: true }));
const applied = await client.request(schemaApply(planned));
const after = await client.request(schemaDiff(snapshot));
console.log(JSON.stringify({
  directus: snapshot.directus,
  own,
  planned: planned.diff.collections.map((c) => [c.collection, c.diff[0].kind]),
  applied: applied ?? null,
  after: Object.fromEntries(Object.entries(after.diff).map(([k, v]) => [k, v.map((e) => [e.collection, e.field ?? null, e.diff.map((c) => [c.kind, c.path])])])),
}));
