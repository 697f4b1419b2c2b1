// The data disk's headroom. The database and the recordings share one disk, and a recording that
// fills it would leave no room for the session's final state. So the recorder keeps a "ballast"
// file of reserved space in the data directory: when a database write finds the disk full the
// ballast is deleted (release) and the write retried at once into the space it held; the ballast
// is written again once an operator has freed enough space. Meanwhile the disk counts as full:
// readiness says so and new sessions are refused before any exec.
import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, statfsSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../../common/errors.ts';

export const BALLAST_FILE = 'disk-reserve.ballast';
export const DISK_FULL_MESSAGE =
  "the recorder's disk is full; free space in its data directory (e.g. old recordings) and try again";

export interface DiskFigures {
  freeBytes: number;
  totalBytes: number;
  ballastHeld: boolean;
}

export interface DiskLimits {
  ballastBytes: number;
  /** below this much free space the disk counts as full */
  lowWaterBytes: number;
}

export interface DiskState {
  full: boolean;
  /** one sentence for readiness and logs, when full */
  reason?: string;
  freeBytes: number;
  /** the ballast is gone and there is room to write it again */
  restoreBallast: boolean;
}

/** Sizes for a disk of `totalBytes`: a small disk (a 256 KiB tmpfs) still gets a usable reserve. */
export function defaultLimits(totalBytes: number): DiskLimits {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(Math.floor(v), lo), hi);
  return {
    ballastBytes: clamp(totalBytes / 8, 32 * 1024, 16 * 1024 * 1024),
    lowWaterBytes: clamp(totalBytes / 32, 8 * 1024, 64 * 1024 * 1024),
  };
}

/**
 * Pure: whether the disk counts as full. Without its ballast the disk stays "full" until there is
 * room to write the ballast again, so the recorder never runs on without a reserve.
 */
export function judgeDisk(d: DiskFigures, limits: DiskLimits): DiskState {
  const needed = d.ballastHeld ? limits.lowWaterBytes : limits.ballastBytes + limits.lowWaterBytes;
  const full = d.freeBytes < needed;
  return {
    full,
    ...(full
      ? {
          reason: `${DISK_FULL_MESSAGE} (${kib(d.freeBytes)} free, ${kib(needed)} needed${d.ballastHeld ? '' : ' to restore the reserve'})`,
        }
      : {}),
    freeBytes: d.freeBytes,
    restoreBallast: !d.ballastHeld && !full,
  };
}

function kib(n: number): string {
  return `${Math.floor(n / 1024)} KiB`;
}

export interface DiskReserveOptions {
  dataDir: string;
  /** Default: defaultLimits(size of the data disk). */
  limits?: Partial<DiskLimits>;
  log: (line: string) => void;
}

export class DiskReserve {
  readonly #path: string;
  readonly #dataDir: string;
  readonly #limits: DiskLimits;
  readonly #log: (line: string) => void;

  constructor(options: DiskReserveOptions) {
    this.#dataDir = options.dataDir;
    this.#path = join(options.dataDir, BALLAST_FILE);
    this.#log = options.log;
    const fs = statfsSync(options.dataDir);
    this.#limits = { ...defaultLimits(fs.blocks * fs.bsize), ...options.limits };
  }

  get limits(): DiskLimits {
    return this.#limits;
  }

  /** Writes the ballast if it is missing and fits; never throws (a full disk must not stop start-up). */
  start(): DiskState {
    const state = this.check();
    if (!this.held() && !state.restoreBallast) {
      this.#log(`warning: ${state.reason ?? DISK_FULL_MESSAGE}; running without a disk reserve`);
    }
    return state;
  }

  /** The disk's state now (one statfs); writes the ballast back when there is room for it. */
  check(): DiskState {
    let state = this.#judge();
    if (state.restoreBallast && this.#writeBallast()) state = this.#judge();
    return state;
  }

  /** Frees the reserved space; true when there was a ballast to free (worth retrying the write). */
  release(): boolean {
    if (!this.held()) return false;
    try {
      unlinkSync(this.#path);
    } catch {
      return false;
    }
    this.#log(`disk full: released the ${kib(this.#limits.ballastBytes)} reserve to store session states`);
    return true;
  }

  held(): boolean {
    try {
      return statSync(this.#path).size >= this.#limits.ballastBytes;
    } catch {
      return false;
    }
  }

  #judge(): DiskState {
    let fs: ReturnType<typeof statfsSync>;
    try {
      fs = statfsSync(this.#dataDir);
    } catch {
      // Unknown is not "full": the writes themselves still find out, and the reserve is released then.
      return { full: false, freeBytes: Number.NaN, restoreBallast: false };
    }
    return judgeDisk(
      { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize, ballastHeld: this.held() },
      this.#limits,
    );
  }

  #writeBallast(): boolean {
    // Random bytes, not zeros or a sparse file: compressing or deduplicating filesystems would
    // reserve nothing for those.
    const chunk = randomFillSync(Buffer.alloc(Math.min(this.#limits.ballastBytes, 1024 * 1024)));
    let fd: number | undefined;
    try {
      fd = openSync(this.#path, 'w', 0o600);
      for (let done = 0; done < this.#limits.ballastBytes; ) {
        done += writeSync(fd, chunk, 0, Math.min(chunk.length, this.#limits.ballastBytes - done));
      }
      return true;
    } catch (err) {
      this.#log(`warning: could not write the disk reserve ${this.#path}: ${errorMessage(err)}`);
      try {
        unlinkSync(this.#path);
      } catch {
        // nothing was written
      }
      return false;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}
