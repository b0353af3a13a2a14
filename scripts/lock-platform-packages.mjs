#!/usr/bin/env node
// Usage: node scripts/lock-platform-packages.mjs package-lock.json  (after any npm install that changed the lock)
// npm leaves out of the lock the optional platform packages that the registry reached here does
// not serve (dbmate's and Litestream's builds for other platforms), and npm ci then refuses the
// lock as out of sync. Each is recorded with the os/cpu its name states, so npm skips it here.
import fs from 'node:fs';
const lockFile = process.argv[2];
const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
const pk = lock.packages;
const OS = { darwin: 'darwin', linux: 'linux', win32: 'win32', windows: 'win32', freebsd: 'freebsd' };
let added = 0;
for (const [key, entry] of Object.entries(pk)) {
  for (const [dep, ver] of Object.entries(entry.optionalDependencies ?? {})) {
    if (pk[`node_modules/${dep}`] || pk[`${key}/node_modules/${dep}`]) continue;
    const m = /[-/](darwin|linux|win32|windows|freebsd)-(x64|arm64|arm|ia32|386|amd64)$/.exec(dep);
    if (!m) throw new Error(`no platform in ${dep}`);
    const cpu = { amd64: 'x64', 386: 'ia32' }[m[2]] ?? m[2];
    pk[`node_modules/${dep}`] = { version: ver, cpu: [cpu], dev: true, optional: true, os: [OS[m[1]]] };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(pk).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
fs.writeFileSync(lockFile, JSON.stringify(lock, null, 2) + '\n');
console.log(added, 'added');
