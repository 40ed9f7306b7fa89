// Debian's Chromium driven by playwright-core (Playwright's own browser download is not reachable):
// .ci/run installs the chromium package when it is missing.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const candidates = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function chromiumPath(): string {
  const found = [process.env.ACCRUE_CHROMIUM, ...candidates].find(
    (candidate): candidate is string => candidate !== undefined && candidate !== '' && existsSync(candidate),
  );
  if (found === undefined)
    throw new Error(
      `no Chromium found at ${candidates.join(' or ')}: apt-get install -y chromium (or set ACCRUE_CHROMIUM)`,
    );
  return found;
}

export function launchChromium(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
}
