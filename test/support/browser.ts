// Headless Chromium for page tests: Debian's `chromium` driven by playwright-core (no browser is
// ever downloaded). Without it the page tests skip locally, but on CI (CI=true) they must run.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);

export const chromiumPath = CANDIDATES.find((p) => existsSync(p));

/** Why the browser tests cannot run here, or undefined when they can (on CI they always must). */
export const browserSkipReason =
  chromiumPath || process.env.CI === 'true'
    ? undefined
    : 'Debian chromium is not installed (apt-get install chromium); .ci/run installs it';

export function launchChromium(): Promise<Browser> {
  if (!chromiumPath) throw new Error(`No Chromium at ${CANDIDATES.join(', ')}; install Debian's chromium package.`);
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
