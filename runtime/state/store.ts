/**
 * Container state under --root: one directory per container holding state.json
 * (written atomically: temp file + rename), exec.fifo, and the directory itself as
 * the lock (flock), so concurrent commands on one container take turns. Directories
 * are 0700 and files 0600: no one else may read or forge a container's state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../../addon';
import { HutchError } from '../errors';
import type { ContainerRecord } from './record';

const ID_PATTERN = /^[\w+.-]+$/;

export function validateId(op: string, id: string): void {
  if (!id || !ID_PATTERN.test(id) || id === '.' || id === '..') {
    throw new HutchError(op, `invalid container id "${id}": use letters, digits, "_", "+", "-" and "."`, {
      kind: 'invalid-argument',
      field: 'container-id',
    });
  }
}

function notExist(op: string, id: string): HutchError {
  return new HutchError(op, `container "${id}" does not exist`, { kind: 'not-found', errno: 'ENOENT' });
}

/** A held lock on one container's directory; release() when done. */
export interface ContainerLock {
  readonly id: string;
  readonly dir: string;
  release(): void;
}

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return path.join(this.root, id);
  }

  statePath(id: string): string {
    return path.join(this.dir(id), 'state.json');
  }

  execFifoPath(id: string): string {
    return path.join(this.dir(id), 'exec.fifo');
  }

  ensureRoot(): void {
    fs.mkdirSync(this.root, { recursive: true, mode: 0o700 });
  }

  /** Makes the container's directory (the id is taken or not, atomically) and locks it. */
  async claim(op: string, id: string): Promise<ContainerLock> {
    validateId(op, id);
    this.ensureRoot();
    try {
      fs.mkdirSync(this.dir(id), { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new HutchError(op, `container with id "${id}" already exists`, { kind: 'already-exists', errno: 'EEXIST' });
      }
      throw e;
    }
    return this.lockDir(op, id, true);
  }

  /** Locks an existing container; fails with "does not exist" when it is not there (any more). */
  async lock(op: string, id: string): Promise<ContainerLock> {
    validateId(op, id);
    return this.lockDir(op, id, false);
  }

  private async lockDir(op: string, id: string, fresh: boolean): Promise<ContainerLock> {
    const dir = this.dir(id);
    let fd: number;
    try {
      fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notExist(op, id);
      throw e;
    }
    const n = native();
    if (!n.flockNow(fd, true)) await n.flock(fd, true);
    // Deleted while we waited: the directory we hold is gone from the tree.
    if (!fresh && !fs.existsSync(path.join(dir, 'state.json'))) {
      fs.closeSync(fd);
      throw notExist(op, id);
    }
    let held = true;
    return {
      id,
      dir,
      release: () => {
        if (held) fs.closeSync(fd);
        held = false;
      },
    };
  }

  read(op: string, id: string): ContainerRecord {
    validateId(op, id);
    let text: string;
    try {
      text = fs.readFileSync(this.statePath(id), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notExist(op, id);
      throw e;
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch {
      throw new HutchError(op, `state of "${id}" is corrupt: ${this.statePath(id)}`, { kind: 'internal' });
    }
  }

  exists(id: string): boolean {
    return fs.existsSync(this.statePath(id));
  }

  write(record: ContainerRecord): void {
    const file = this.statePath(record.id);
    const tmp = path.join(path.dirname(file), '.state.json.tmp');
    // No fsync: --root lives on tmpfs (/run) and does not outlive a boot; the rename
    // alone keeps readers from ever seeing a half-written file.
    fs.writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
    fs.renameSync(tmp, file);
  }

  /** Removes the container's directory (and everything in it: a few plain files). */
  remove(id: string): void {
    const dir = this.dir(id);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const name of names) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    fs.rmdirSync(dir);
  }

  list(): string[] {
    try {
      return fs.readdirSync(this.root).filter((n) => ID_PATTERN.test(n) && this.exists(n)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }
}
