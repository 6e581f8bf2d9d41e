// Crash-safe file writes: the bytes go to a temporary file in the target's
// folder, are fsync'ed, and the temporary file is renamed over the target
// (atomic on POSIX file systems), then the folder is fsync'ed so the rename
// itself is durable. A crash at any point leaves either the old file or the
// new one, never a torn mix. A crash does leave the temporary file behind: the
// next write of the same target removes those of processes no longer alive.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Writes `chunks` to `file` atomically (temporary file, fsync, rename, fsync of the folder). */
export function writeFileAtomic(file: string, chunks: readonly Uint8Array[]): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) off += fs.writeSync(fd, c, off, c.byteLength - off);
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  syncDir(dir);
  removeStaleTemporaries(dir, path.basename(file));
}

// Temporary files of earlier writes of `base` whose process has died (a crash mid-write).
function removeStaleTemporaries(dir: string, base: string): void {
  const prefix = `.${base}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) continue;
    fs.rmSync(path.join(dir, name), { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

// fsync of a folder makes a rename in it durable; some platforms cannot open folders (ignored there).
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows and some file systems: nothing more to do.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
