// The dashboard's browser tests share one way to drive Debian's headless Chromium (through
// playwright-core): the executable, the requirement (a test that needs it fails in CI when
// it is missing, and skips outside CI saying what to install), how it is launched, and a page
// that records every dialog (script from untrusted text that ran) and every script or console
// error.
import { chromium, type Browser, type Page } from 'playwright-core';
import { executable, needs } from './requirements.js';

export const CHROMIUM = '/usr/bin/chromium';

export const browserTest = needs({ what: 'headless Chromium', packages: ['chromium'], check: () => executable(CHROMIUM), serial: true });

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export interface PageRecord {
  /** Messages of the dialogs the page opened (each dismissed). */
  readonly dialogs: string[];
  /** Uncaught script errors and console errors, but those `expected` matches. */
  readonly problems: string[];
}

/** Records what `page` does from now on; `expected`: console errors the test causes on purpose (a refused API call). */
export function recordPage(page: Page, opts: { expected?: RegExp } = {}): PageRecord {
  const record: PageRecord = { dialogs: [], problems: [] };
  page.on('dialog', (d) => {
    record.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !(opts.expected?.test(m.text()) ?? false)) record.problems.push(m.text());
  });
  page.on('pageerror', (e) => record.problems.push(e.message));
  return record;
}
