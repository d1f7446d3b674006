import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { AuthenticatorRegistry } from '../../src/authn/registry.js';
import { builtInDatabase } from '../../src/authn/backends/built_in_database/index.js';
import { createLogger } from '../../src/logging/index.js';
import { BUILT_IN_PATH, startApiNode, type ApiNode } from './helpers.js';

/**
 * Schemas from fragments (issue 14, point 3): each authenticator type owns its schema
 * fragment; request bodies, answers and the OpenAPI document are assembled from the
 * registry made in the composition root, answers drop every field they do not declare, and a
 * type's `secretFields` join the one list behind the API's masking and the logs.
 */

/** A second backend type with a field of its own and a secret the built-in list does not know. */
const stubHttp = {
  mechanism: 'password_based',
  backend: 'stub_http',
  schema: Type.Object(
    {
      mechanism: Type.Literal('password_based'),
      backend: Type.Literal('stub_http'),
      enable: Type.Boolean({ default: true }),
      url: Type.String({ minLength: 1, description: 'where to ask' }),
      api_credential: Type.String(),
      id: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
  secretFields: ['api_credential'],
  async create() {
    return { authenticate: () => ({ outcome: 'ignore' as const }) };
  },
};

type Schema = Record<string, unknown>;

/** The schemas of a oneOf (or the schema itself), with their properties. */
function shapes(schema: Schema): Schema[] {
  return (schema['oneOf'] as Schema[] | undefined) ?? [schema];
}

function shapeOf(schema: Schema, backend: string): Schema | undefined {
  return shapes(schema).find((s) => ((s['properties'] as Schema | undefined)?.['backend'] as Schema | undefined)?.['const'] === backend);
}

describe('schemas assembled from the authenticator types of the registry', () => {
  let n: ApiNode;
  let doc: { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Schema }> }; responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>> };
  const secret = 'Cred-Marker-8812';

  before(async () => {
    const authenticators = new AuthenticatorRegistry().register(builtInDatabase).register(stubHttp);
    n = await startApiNode(
      `authentication = [
        { mechanism = password_based, backend = built_in_database }
        { mechanism = password_based, backend = stub_http, url = "http://127.0.0.1:1/auth", api_credential = "${secret}" }
      ]
      gateway.stomp.listeners.tcp.default.bind = "127.0.0.1:0"`,
      { authenticators },
    );
    doc = (await (await fetch(n.base.replace('/api/v5', '/api-docs'))).json()) as typeof doc;
  });
  after(() => n.stop());

  test("/api-docs shows each backend's fields in the request bodies (oneOf by mechanism and backend)", () => {
    for (const [path, method] of [
      ['/api/v5/authentication', 'post'],
      ['/api/v5/authentication/{id}', 'put'],
      ['/api/v5/listeners/{listener_id}/authentication', 'post'],
    ] as const) {
      const body = doc.paths[path]![method]!.requestBody!.content['application/json']!.schema;
      assert.deepEqual((body['x-discriminator'] as Schema)['propertyNames'], ['mechanism', 'backend'], `${method} ${path}`);
      const builtIn = shapeOf(body, 'built_in_database')!;
      for (const field of ['user_id_type', 'password_hash_algorithm', 'bootstrap_file', 'bootstrap_type']) {
        assert.ok((builtIn['properties'] as Schema)[field], `${method} ${path}: built_in_database.${field}`);
      }
      const hashNames = JSON.stringify((builtIn['properties'] as Schema)['password_hash_algorithm']);
      for (const name of ['sha256', 'bcrypt', 'pbkdf2', 'salt_position', 'salt_rounds', 'mac_fun']) assert.ok(hashNames.includes(name), `password_hash_algorithm documents ${name}`);
      const stub = shapeOf(body, 'stub_http')!;
      assert.deepEqual(Object.keys(stub['properties'] as Schema).sort(), ['api_credential', 'backend', 'enable', 'id', 'mechanism', 'url']);
      assert.deepEqual(stub['required'], ['mechanism', 'backend', 'url', 'api_credential'], 'a field with a default is not required of a client');
      assert.equal(body['x-routing'], undefined, 'what the route itself checks is not part of the document');
    }
    const gateway = doc.paths['/api/v5/gateways/{name}/authentication']!['post']!.requestBody!.content['application/json']!.schema;
    assert.ok(JSON.stringify(gateway).includes('"stub_http"'), 'the gateway form (one or a list) too');
  });

  test("/api-docs shows each backend's fields in the answers", () => {
    const list = doc.paths['/api/v5/authentication']!['get']!.responses['200']!.content!['application/json']!.schema;
    const item = list['items'] as Schema;
    const stub = shapeOf(item, 'stub_http')!;
    assert.deepEqual(Object.keys(stub['properties'] as Schema).sort(), ['api_credential', 'backend', 'enable', 'id', 'mechanism', 'url']);
    assert.equal(stub['additionalProperties'], false);
    assert.ok(shapeOf(item, 'built_in_database'));
  });

  test('every object an answer declares is closed (additionalProperties: false), so undeclared fields are dropped', () => {
    const open: string[] = [];
    const walk = (schema: unknown, where: string): void => {
      if (Array.isArray(schema)) return schema.forEach((s, i) => walk(s, `${where}[${i}]`));
      if (schema === null || typeof schema !== 'object') return;
      const s = schema as Schema;
      if ((s['type'] === 'object' || 'properties' in s) && s['additionalProperties'] !== false) open.push(where);
      for (const [k, v] of Object.entries(s)) walk(v, `${where}.${k}`);
    };
    let answers = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses)) {
          const schema = response.content?.['application/json']?.schema;
          if (!schema) continue;
          answers++;
          walk(schema, `${method} ${path} ${status}`);
        }
      }
    }
    assert.ok(answers > 100, `${answers} answer schemas`);
    assert.deepEqual(open, []);
  });

  test("a type's secretFields are masked in answers and in the node's logs (one list)", async () => {
    const chain = (await n.call('GET', '/authentication')).body as Array<Record<string, unknown>>;
    const stub = chain.find((a) => a['id'] === 'password_based:stub_http')!;
    assert.equal(stub['api_credential'], '******');
    assert.equal(stub['url'], 'http://127.0.0.1:1/auth');
    assert.ok(n.node.secrets.has('api_credential'), 'the node list has the type');
    let out = '';
    const logger = createLogger({ enable: true, level: 'info', formatter: 'json' }, new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) }), n.node.secrets);
    logger.info({ api_credential: secret, authenticator: { api_credential: secret } }, 'x');
    assert.ok(out.includes('"msg":"x"') && !out.includes(secret), out);
    // "******" in a PUT keeps the stored value (§7.2).
    assert.equal((await n.call('PUT', '/authentication/password_based%3Astub_http', { ...stub, url: 'http://127.0.0.1:2/auth' })).status, 204);
    assert.equal(n.node.authn.chain('mqtt:global')?.entries[1]?.config['api_credential'], secret);
  });

  test('an answer never carries a field its schema does not declare, even one planted in the live configuration', async () => {
    const planted = 'Planted-Marker-5530';
    const config = n.node.config as unknown as {
      authentication: Array<Record<string, unknown>>;
      listeners: { tcp: Record<string, Record<string, unknown>> };
      gateway: { stomp: Record<string, unknown> & { listeners: { tcp: Record<string, Record<string, unknown>> } } };
    };
    // Names no secret list knows: only the answer schemas stand between them and the reply.
    config.authentication[0]!['internal_token_cache'] = planted;
    config.authentication[0]!['password_hash_algorithm'] = { name: 'sha256', salt_position: 'prefix', pepper_value: planted };
    config.listeners.tcp['default']!['operator_note'] = planted;
    config.listeners.tcp['default']!['ssl_options'] = { depth: 3, private_note: planted };
    config.gateway.stomp['debug_dump'] = planted;
    config.gateway.stomp.listeners.tcp['default']!['operator_note'] = planted;
    const answers = await Promise.all(
      ['/authentication', `/authentication/${BUILT_IN_PATH}`, '/listeners', '/listeners/tcp%3Adefault', '/gateways', '/gateways/stomp', '/gateways/stomp/listeners'].map(async (p) => {
        const r = await n.call('GET', p);
        assert.equal(r.status, 200, `${p}: ${r.text}`);
        return r.text;
      }),
    );
    for (const text of answers) assert.ok(!text.includes(planted), text);
    const builtIn = (await n.call('GET', `/authentication/${BUILT_IN_PATH}`)).body;
    assert.deepEqual(builtIn.password_hash_algorithm, { name: 'sha256', salt_position: 'prefix' }, 'declared fields stay');
    assert.equal((await n.call('GET', '/listeners/tcp%3Adefault')).body.ssl_options.depth, 3);
  });
});
