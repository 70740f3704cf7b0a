/**
 * The emulator's state as one JSON document, `<dataDir>/state.json`. Writes are
 * atomic (a temporary file renamed over the old one) and serialized, so a crash
 * leaves either the old or the new state, never half of one.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmulatorState } from './model.js';

function emptyState(): EmulatorState {
  return { version: 1, users: [], workspaces: [], projects: [], repositories: [], accessTokens: [], repositoryData: {}, nextIds: {} };
}

export class Store {
  private writing: Promise<void> = Promise.resolve();
  /** A write queued but not yet started: later saves join it instead of queueing more. */
  private queued: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    readonly state: EmulatorState,
    /** Whether the state came from disk (false: a fresh, empty world). */
    readonly existed: boolean,
  ) {}

  static async open(dataDir: string): Promise<Store> {
    await mkdir(dataDir, { recursive: true });
    const file = join(dataDir, 'state.json');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Store(file, emptyState(), false);
      throw error;
    }
    const state = JSON.parse(text) as EmulatorState;
    if (state.version !== 1) throw new Error(`${file}: unsupported state version ${String(state.version)}`);
    return new Store(file, { ...emptyState(), ...state }, true);
  }

  /** Persists the state as it is when the write starts. */
  save(): Promise<void> {
    if (this.queued) return this.queued;
    const write = this.writing.then(async () => {
      this.queued = undefined;
      const temporary = `${this.file}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(this.state, null, 2)}\n`);
      await rename(temporary, this.file);
    });
    this.queued = write;
    this.writing = write.catch(() => undefined);
    return write;
  }

  /** Resolves when every save so far has been written. */
  flush(): Promise<void> {
    return this.writing;
  }

  nextId(sequence: string): number {
    const next = (this.state.nextIds[sequence] ?? 0) + 1;
    this.state.nextIds[sequence] = next;
    return next;
  }
}
