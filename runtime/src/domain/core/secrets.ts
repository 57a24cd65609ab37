// Where a container group (the SDK's flattened model, which ACICreate and fleet templates take)
// holds secrets, and the one redaction every answer that shows a group or a template goes through
// (ACIDetails, the fleets API). Pure.

/**
 * Every property the Container Instance REST spec (api-version 2023-05-01) marks `x-ms-secret`,
 * plus the secret material it does not mark — an Azure Files account key, secret volumes'
 * contents, extensions' protected settings. `[]` is every element of an array, `{}` every value
 * of a map. ARM should not return them; the fleet makes sure, whatever ARM (or the emulator) answers.
 */
export const SECRET_PATHS = [
  'containers[].environmentVariables[].secureValue',
  'initContainers[].environmentVariables[].secureValue',
  'imageRegistryCredentials[].password',
  'diagnostics.logAnalytics.workspaceKey',
  'diagnostics.logAnalytics.workspaceResourceId',
  'volumes[].azureFile.storageAccountKey',
  'volumes[].secret{}',
  'extensions[].protectedSettings{}',
] as const;

/** What is shown instead of a secret; sending it back would make it the secret. */
export const REDACTED = '<redacted>';

/** Calls `visit` with each secret place present in `group`: its holder, its key, and its path. */
function eachSecret(group: unknown, visit: (holder: Record<string, unknown>, key: string, path: Array<string | number>) => void): void {
  const walk = (value: unknown, steps: string[], path: Array<string | number>): void => {
    const [step, ...rest] = steps;
    if (step === undefined || value === null || typeof value !== 'object') return;
    const target = value as Record<string, unknown>;
    const name = step.replace(/(\[\]|\{\})$/, '');
    const child = target[name];
    if (step.endsWith('[]')) {
      if (Array.isArray(child)) for (const [i, element] of child.entries()) walk(element, rest, [...path, name, i]);
    } else if (step.endsWith('{}')) {
      if (child && typeof child === 'object')
        for (const key of Object.keys(child)) visit(child as Record<string, unknown>, key, [...path, name, key]);
    } else if (rest.length === 0) {
      if (child !== undefined) visit(target, name, [...path, name]);
    } else walk(child, rest, [...path, name]);
  };
  for (const p of SECRET_PATHS) walk(group, p.split('.'), []);
}

/** A copy of a container group with every secret replaced by `<redacted>`, and credentials taken out of git URLs. */
export function redactSecrets<T>(group: T): T {
  const copy = structuredClone(group);
  eachSecret(copy, (holder, key) => {
    holder[key] = REDACTED;
  });
  for (const volume of ((copy as { volumes?: unknown }).volumes ?? []) as Array<{ gitRepo?: { repository?: string } }>) {
    if (volume?.gitRepo?.repository) volume.gitRepo.repository = withoutCredentials(volume.gitRepo.repository);
  }
  return copy;
}

/** Paths of the secrets in `group` that are the placeholder: a body sent back as shown, which would make `<redacted>` the secret. */
export function redactedPlaceholders(group: unknown): Array<Array<string | number>> {
  const found: Array<Array<string | number>> = [];
  eachSecret(group, (holder, key, path) => {
    if (holder[key] === REDACTED) found.push(path);
  });
  return found;
}

/** `https://user:token@host/repo.git` → `https://host/repo.git`; anything that is not a URL stays as it is. */
function withoutCredentials(repository: string): string {
  try {
    const url = new URL(repository);
    if (!url.username && !url.password) return repository;
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return repository;
  }
}
