// Route templates as the Azure Functions host reads them (ASP.NET-style: literal segments,
// `{name}`, `{name?}`, `{*rest}`, constraints such as `maxlength(0)`), so the local host matches
// exactly what Azure would, and the OpenAPI document shows the path a caller uses.

interface Segment {
  literal?: string;
  name?: string;
  optional?: boolean;
  catchAll?: boolean;
  test?: (value: string) => boolean;
}

export interface CompiledRoute {
  /** Whether a request path (leading slash, no query) is served by this route; case-insensitive like Azure. */
  matches(path: string): boolean;
  /** The route's parameters in `path` (as the caller spelt them), or undefined when it is not served here. */
  match(path: string): Record<string, string> | undefined;
  /** The path a caller uses: parameters that can only be empty disappear (`{x:maxlength(0)?}` → `/`). */
  readonly documentedPath: string;
}

const CONSTRAINTS: Record<string, (arg: string | undefined) => (value: string) => boolean> = {
  maxlength: (n) => (v) => v.length <= Number(n),
  minlength: (n) => (v) => v.length >= Number(n),
  int: () => (v) => /^-?\d+$/.test(v),
  alpha: () => (v) => /^[a-z]+$/i.test(v),
};

function parseSegment(text: string, route: string): Segment {
  if (!text.startsWith('{')) return { literal: text };
  const inner = /^\{(\*)?([A-Za-z_]\w*)((?::[a-z]+(?:\([^)]*\))?)*)(\?)?\}$/.exec(text);
  if (!inner) throw new Error(`Route '${route}': cannot read the segment '${text}'.`);
  const [, star, name, constraintText, question] = inner;
  const tests = [...(constraintText ?? '').matchAll(/:([a-z]+)(?:\(([^)]*)\))?/g)].map(([, kind, arg]) => {
    const make = CONSTRAINTS[kind!];
    // An unknown constraint would make the local host disagree with Azure: refuse it loudly.
    if (!make) throw new Error(`Route '${route}': the constraint '${kind}' is not supported by the local host.`);
    return make(arg);
  });
  return { name, optional: question === '?', catchAll: star === '*', test: (v) => tests.every((t) => t(v)) };
}

export function compileRoute(route: string): CompiledRoute {
  const segments = route
    .split('/')
    .filter((s) => s !== '')
    .map((s) => parseSegment(s, route));
  const canOnlyBeEmpty = (s: Segment) => s.name !== undefined && s.optional === true && s.test !== undefined && !s.test('x');
  const documented = segments.filter((s) => !canOnlyBeEmpty(s)).map((s) => s.literal ?? `{${s.name}}`);
  const match = (path: string): Record<string, string> | undefined => {
    const parts = path.split('/').filter((p) => p !== '');
    const params: Record<string, string> = {};
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const part = parts[i];
      if (segment.catchAll) {
        const rest = parts.slice(i).join('/');
        if (!segment.test!(rest)) return undefined;
        params[segment.name!] = rest;
        return params;
      }
      if (part === undefined) {
        if (segment.literal !== undefined || !segment.optional) return undefined;
        continue;
      }
      if (segment.literal !== undefined) {
        if (segment.literal.toLowerCase() !== part.toLowerCase()) return undefined;
      } else if (segment.test!(part)) params[segment.name!] = part;
      else return undefined;
    }
    return parts.length <= segments.length ? params : undefined;
  };
  return {
    documentedPath: `/${documented.join('/')}`,
    match,
    matches: (path) => match(path) !== undefined,
  };
}
