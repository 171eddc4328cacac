// Starts one hubcalls server (in-memory store, random port, random token) for a test file and
// stops it when the file's tests are done (or, at the latest, when the process exits).
//
// `node --test` runs every test file in its own process, so each file gets its own server.
// The binary is $HUBCALLS_BIN (resolved against the current directory) or
// <repo>/target/debug/hubcalls.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { Client } from '@hubspot/api-client';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');
const LISTEN_RE = /listening on (http:\/\/\S+)/;
const STARTUP_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

// The in-memory store, or a fresh PostgreSQL schema when HUBCALLS_TEST_DATABASE_URL is set (as
// for the Rust suite, so the SDK tests run against both stores); with HUBCALLS_TEST_SHARDS=2 as
// well, two fresh schemas as two shards, declared in a configuration file in `workdir` as
// tests/common/mod.rs declares them (portal 1 on shard s1, not the default one).
function storeArgs(workdir) {
  const url = (process.env.HUBCALLS_TEST_DATABASE_URL ?? '').trim();
  if (!url) return ['--in-memory'];
  const base = `hubcalls_test_sdk_${randomBytes(8).toString('hex')}`;
  const shards = Number.parseInt((process.env.HUBCALLS_TEST_SHARDS ?? '').trim(), 10);
  if (!(shards >= 2)) return ['--database-url', url, '--database-schema', base];
  let toml = '[postgres]\npool_size = 4\ndefault_shard = "s0"\n';
  for (let n = 0; n < shards; n += 1) {
    toml +=
      `\n[[postgres.shards]]\nname = "s${n}"\nurl = "${url}"\nschema = "${base}_s${n}"\n` +
      `id_range = ${n}\nportals = [${n === 1 ? '1' : ''}]\n`;
  }
  const config = path.join(workdir, 'shards.toml');
  writeFileSync(config, toml);
  return ['--config', config];
}

export function binaryPath() {
  const env = process.env.HUBCALLS_BIN;
  return env ? path.resolve(env) : path.join(REPO_ROOT, 'target', 'debug', 'hubcalls');
}

/**
 * Starts the server. Resolves to { baseUrl, token, logPath, stop() } once it printed
 * `listening on http://...`.
 */
export async function startServer() {
  const bin = binaryPath();
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(
      `hubcalls binary not found or not executable at ${bin}. ` +
        'Build it with `cargo build` at the repository root, or point HUBCALLS_BIN at it.',
    );
  }

  const token = `pat-na1-${randomBytes(16).toString('hex')}`;
  const workdir = mkdtempSync(path.join(tmpdir(), 'hubcalls-sdk-node-'));
  const logPath = path.join(workdir, 'server.log');
  const log = createWriteStream(logPath);

  const child = spawn(
    bin,
    ['serve', ...storeArgs(workdir), '--listen', '127.0.0.1:0', '--token', token],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Keep draining both pipes for the life of the server so it never blocks on a full pipe.
  child.stderr.pipe(log, { end: false });

  let exited = false;
  const exitPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    });
  });
  // Last resort: never leave the server behind when this test process goes away.
  const killOnExit = () => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const seen = [];
  const baseUrl = await new Promise((resolve, reject) => {
    let found = false;
    const timer = setTimeout(() => {
      if (!found) {
        child.kill('SIGKILL');
        reject(new Error(`hubcalls did not print 'listening on http://...' within ${STARTUP_TIMEOUT_MS} ms; ` +
          `stdout so far: ${JSON.stringify(seen.join('\n'))}; stderr: ${logPath}`));
      }
    }, STARTUP_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      log.write(line + '\n');
      if (found) return;
      seen.push(line);
      const m = LISTEN_RE.exec(line);
      if (m) {
        found = true;
        clearTimeout(timer);
        resolve(m[1].replace(/\/+$/, ''));
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    exitPromise.then(({ code, signal }) => {
      if (!found) {
        clearTimeout(timer);
        reject(new Error(`hubcalls exited before listening (code ${code}, signal ${signal}); ` +
          `stdout: ${JSON.stringify(seen.join('\n'))}; stderr: ${logPath}`));
      }
    });
  });

  async function stop() {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, STOP_TIMEOUT_MS);
      await exitPromise;
      clearTimeout(timer);
    }
    process.removeListener('exit', killOnExit);
    log.end();
  }

  return { baseUrl, token, logPath, stop };
}

/** An SDK client exactly as a user builds one, with only the base path changed. */
export function makeClient(server, token = server.token) {
  const config = { basePath: server.baseUrl };
  if (token !== null) config.accessToken = token;
  return new Client(config);
}

/** A value unique to this test run, usable as a call title or a property name suffix. */
export function unique(prefix = 'sdk') {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/**
 * Runs `fn`, which must reject with the SDK's ApiException; returns it.
 * The SDK throws `ApiException` with `code` (HTTP status), `body` (parsed `Error` model) and
 * `headers`.
 */
export async function apiError(fn) {
  try {
    await fn();
  } catch (e) {
    if (typeof e?.code !== 'number') throw e;
    return e;
  }
  throw new Error('expected the SDK call to throw an ApiException, but it resolved');
}
