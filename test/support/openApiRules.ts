// The OpenAPI 3.1 rules our document relies on, checked structurally (no validator package is
// installed): versions, unique operation ids, responses with descriptions, parameters, security
// schemes that exist, $refs that resolve, and JSON Schema types that exist.

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
const PATH_ITEM_FIELDS = new Set([...METHODS, 'summary', 'description', 'servers', 'parameters', '$ref']);
const JSON_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);
const STATUS_KEY = /^([1-5]\d\d|[1-5]XX|default)$/;
const MEDIA_TYPE = /^[a-z]+\/[a-z0-9.+*-]+$/i;

/** Every violation found, as readable sentences; an empty list means the document passes. */
export function openApiProblems(doc: any): string[] {
  const problems: string[] = [];
  const fail = (where: string, what: string) => problems.push(`${where}: ${what}`);
  if (typeof doc?.openapi !== 'string' || !/^3\.1\.\d+$/.test(doc.openapi)) fail('openapi', `must be 3.1.x, is ${doc?.openapi}`);
  if (typeof doc?.info?.title !== 'string' || typeof doc?.info?.version !== 'string') fail('info', 'needs title and version strings');
  if (typeof doc?.paths !== 'object') fail('paths', 'missing');
  const schemes = doc?.components?.securitySchemes ?? {};
  for (const [name, scheme] of Object.entries<any>(schemes)) {
    if (scheme.type === 'apiKey' && !(typeof scheme.name === 'string' && ['query', 'header', 'cookie'].includes(scheme.in)))
      fail(`securityScheme ${name}`, 'apiKey needs name and in');
    else if (scheme.type === 'http' && typeof scheme.scheme !== 'string') fail(`securityScheme ${name}`, 'http needs scheme');
    else if (!['apiKey', 'http', 'oauth2', 'openIdConnect', 'mutualTLS'].includes(scheme.type))
      fail(`securityScheme ${name}`, `unknown type ${scheme.type}`);
  }
  const checkSecurity = (where: string, security: unknown) => {
    if (security === undefined) return;
    if (!Array.isArray(security)) return fail(where, 'security must be an array');
    for (const requirement of security)
      for (const name of Object.keys(requirement)) if (!schemes[name]) fail(where, `security scheme ${name} is not defined`);
  };
  checkSecurity('root', doc?.security);

  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries<any>(doc?.paths ?? {})) {
    if (!path.startsWith('/')) fail(path, 'paths start with /');
    const templateParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [field, op] of Object.entries<any>(item)) {
      if (!PATH_ITEM_FIELDS.has(field)) fail(path, `unknown path item field ${field}`);
      if (!METHODS.has(field)) continue;
      const where = `${field.toUpperCase()} ${path}`;
      if (typeof op.operationId === 'string') {
        if (operationIds.has(op.operationId)) fail(where, `duplicate operationId ${op.operationId}`);
        operationIds.add(op.operationId);
      }
      checkSecurity(where, op.security);
      for (const p of op.parameters ?? []) {
        if (typeof p.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(p.in))
          fail(where, `bad parameter ${JSON.stringify(p)}`);
        if (p.in === 'path' && p.required !== true) fail(where, `path parameter ${p.name} must be required`);
        if (!p.schema && !p.content) fail(where, `parameter ${p.name} needs a schema or content`);
      }
      for (const name of templateParams)
        if (!(op.parameters ?? []).some((p: any) => p.in === 'path' && p.name === name))
          fail(where, `path parameter ${name} is not declared`);
      if (op.requestBody && typeof op.requestBody.content !== 'object') fail(where, 'requestBody needs content');
      const responses = op.responses;
      if (!responses || Object.keys(responses).length === 0) fail(where, 'needs at least one response');
      for (const [status, response] of Object.entries<any>(responses ?? {})) {
        if (!STATUS_KEY.test(status)) fail(where, `bad response key ${status}`);
        if (typeof response.description !== 'string') fail(`${where} ${status}`, 'response needs a description');
        for (const media of Object.keys(response.content ?? {}))
          if (!MEDIA_TYPE.test(media)) fail(`${where} ${status}`, `bad media type ${media}`);
      }
    }
  }

  // Every $ref resolves inside the document; every "type" is a JSON Schema type.
  const walk = (node: unknown, where: string) => {
    if (Array.isArray(node)) {
      node.forEach((n, i) => {
        walk(n, `${where}[${i}]`);
      });
      return;
    }
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') {
        if (!v.startsWith('#/') || resolvePointer(doc, v) === undefined) fail(where, `unresolvable $ref ${v}`);
      } else if (k === 'type' && /schema/i.test(where) && !/securitySchemes/.test(where)) {
        // A property *named* "type" holds a schema object; only string values are JSON Schema types.
        const types = typeof v === 'string' ? [v] : Array.isArray(v) ? v : [];
        for (const t of types) if (!JSON_TYPES.has(t)) fail(where, `unknown JSON Schema type ${t}`);
      }
      walk(v, `${where}.${k}`);
    }
  };
  walk(doc, '#');
  return problems;
}

function resolvePointer(doc: any, ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((node: any, key) => (node === undefined ? undefined : node[key]), doc);
}
