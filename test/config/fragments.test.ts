import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { Type } from '@sinclair/typebox';
import { FragmentRegistry, type SchemaFragment } from '../../src/config/fragments.js';

/**
 * The registry behind authenticator types is generic: an authorization source registry is
 * the same class told apart by `type` (emqx5-auth.md §8.3 `sources`). Its checks and its
 * assembled schemas work the same way.
 */

interface SourceType extends SchemaFragment {
  readonly type: string;
}

const file: SourceType = {
  type: 'file',
  schema: Type.Object({ type: Type.Literal('file'), enable: Type.Boolean({ default: true }), path: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
};
const http: SourceType = {
  type: 'http',
  schema: Type.Object({ type: Type.Literal('http'), enable: Type.Boolean({ default: true }), url: Type.String(), bearer: Type.String() }, { additionalProperties: false }),
  secretFields: ['bearer'],
};

test('a source registry by `type`: ids, unknown types named with what is available, the fragment checks and fills defaults', () => {
  const sources = new FragmentRegistry<SourceType>('authorization source', ['type']).register(file).register(http);
  assert.deepEqual(sources.ids(), ['file', 'http']);
  assert.deepEqual(sources.secretFields(), ['bearer']);
  assert.throws(() => sources.register(file), /registered twice/);

  assert.deepEqual(sources.blockProblems('authorization.sources.0', { type: 'ldap' }).problems, [
    { path: 'authorization.sources.0.type', message: 'unknown authorization source "ldap"; available: file, http' },
  ]);
  const block: Record<string, unknown> = { type: 'file', path: 'etc/acl.conf' };
  assert.deepEqual(sources.blockProblems('authorization.sources.1', block).problems, []);
  assert.equal(block['enable'], true, 'the fragment default is filled in');
  const bad = sources.blockProblems('authorization.sources.2', { type: 'http', url: 'x', bearer: ['S3cret-Source-1'] }).problems;
  assert.deepEqual(bad.map((p) => p.path), ['authorization.sources.2.bearer']);
  assert.ok(!JSON.stringify(bad).includes('S3cret-Source-1'), "a type's secret field is never repeated in a message");
});

test('assembled schemas: the body is oneOf the fragments, the answer drops what its type does not declare', async () => {
  const sources = new FragmentRegistry<SourceType>('authorization source', ['type']).register(file).register(http);
  const body = sources.bodySchema() as unknown as { oneOf: unknown[]; 'x-discriminator': unknown };
  assert.equal(body.oneOf.length, 2);
  assert.deepEqual(body['x-discriminator'], { propertyNames: ['type'] });

  const app = Fastify();
  app.get('/sources', { schema: { response: { 200: Type.Array(sources.viewSchema()) } } }, async () => [
    { type: 'file', enable: true, path: 'acl.conf', bearer: 'not-a-file-field' },
    { type: 'http', enable: false, url: 'http://x', bearer: '******', cached_token: 'leak' },
  ]);
  const res = await app.inject('/sources');
  await app.close();
  assert.deepEqual(JSON.parse(res.body), [
    { type: 'file', enable: true, path: 'acl.conf' },
    { type: 'http', enable: false, url: 'http://x', bearer: '******' },
  ]);
});
