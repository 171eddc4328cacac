// Test harness: one hubcalls server (in-memory store, random port, two portals) and one
// headless Debian Chromium per test file, both stopped when the file's tests are done.
//
// The binary is $HUBCALLS_BIN (resolved against the current directory) or
// <repo>/target/debug/hubcalls. The browser is $CHROMIUM_BIN or /usr/bin/chromium; Playwright
// never downloads a browser of its own here (playwright-core has no browsers).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, createWriteStream, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');
export const OUTPUT_DIR = path.join(HERE, 'output');
const LISTEN_RE = /listening on (http:\/\/\S+)/;
const STARTUP_TIMEOUT_MS = 30_000;

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function binaryPath() {
  const env = process.env.HUBCALLS_BIN;
  return env ? path.resolve(env) : path.join(REPO_ROOT, 'target', 'debug', 'hubcalls');
}

/**
 * Starts hubcalls with two portals. Resolves to { baseUrl, tokens: {portal1, portal2}, stop() }
 * once it printed `listening on http://...`.
 */
export async function startServer() {
  const bin = binaryPath();
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`hubcalls binary not found or not executable at ${bin}; run \`cargo build\` or set HUBCALLS_BIN`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'hubcalls-console-'));
  const tokens = {
    portal1: `pat-na1-${randomBytes(12).toString('hex')}`,
    portal2: `pat-na1-${randomBytes(12).toString('hex')}`,
  };
  const configPath = path.join(dir, 'hubcalls.toml');
  writeFileSync(configPath,
    `[[tokens]]\ntoken = "${tokens.portal1}"\nportal = 1\n\n[[tokens]]\ntoken = "${tokens.portal2}"\nportal = 2\n`,
    { mode: 0o600 });
  const log = createWriteStream(path.join(dir, 'server.log'));
  const child = spawn(bin, ['serve', '--in-memory', '--listen', '127.0.0.1:0', '--config', configPath],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.pipe(log, { end: false });
  let exited = false;
  const exitPromise = new Promise((resolve) => child.once('exit', (code, signal) => {
    exited = true;
    resolve({ code, signal });
  }));
  const killOnExit = () => { if (!exited) child.kill('SIGKILL'); };
  process.once('exit', killOnExit);

  const baseUrl = await new Promise((resolve, reject) => {
    let found = false;
    const timer = setTimeout(() => {
      if (!found) {
        child.kill('SIGKILL');
        reject(new Error(`hubcalls did not start within ${STARTUP_TIMEOUT_MS} ms; log in ${dir}`));
      }
    }, STARTUP_TIMEOUT_MS);
    createInterface({ input: child.stdout }).on('line', (line) => {
      log.write(`${line}\n`);
      const m = LISTEN_RE.exec(line);
      if (!found && m) {
        found = true;
        clearTimeout(timer);
        resolve(m[1].replace(/\/+$/, ''));
      }
    });
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    exitPromise.then(({ code, signal }) => {
      if (!found) {
        clearTimeout(timer);
        reject(new Error(`hubcalls exited before listening (code ${code}, signal ${signal}); log in ${dir}`));
      }
    });
  });

  async function stop() {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 10_000);
      await exitPromise;
      clearTimeout(timer);
    }
    process.removeListener('exit', killOnExit);
    log.end();
  }

  return { baseUrl, tokens, stop };
}

/** Debian's Chromium, headless, driven over CDP by playwright-core. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    // The flags above are the whole command line we want; Playwright adds its own headless flag.
    headless: true,
  });
}

/** A page that records every request it makes and every console error (CSP reports included). */
export async function openPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.requests = [];
  page.problems = [];
  page.on('request', (r) => page.requests.push(r.url()));
  // A refused 401 also logs a console error; only policy violations count as problems.
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) page.problems.push(m.text());
  });
  page.on('pageerror', (e) => page.problems.push(String(e)));
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(OUTPUT_DIR, `${name}.png`), fullPage: true });
}

/** A request to hubcalls' API as an integration would make it. */
export async function api(server, token, method, pathname, body) {
  const response = await fetch(`${server.baseUrl}${pathname}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${pathname}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

export function createCall(server, token, properties) {
  return api(server, token, 'POST', '/crm/v3/objects/calls',
    { properties: { hs_timestamp: '2025-04-24T20:01:33.000Z', ...properties } });
}
