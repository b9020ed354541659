/**
 * Reading a small file safely: only a regular file (a FIFO would hang the start, a device such as
 * /dev/urandom would be read forever) of bounded size. Never: parse or judge the contents.
 */
import { constants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';

export type BoundedRead =
  | { kind: 'ok'; text: string }
  | { kind: 'missing' }
  | { kind: 'bad'; reason: string };

/** Reads `path` as UTF-8 when it is a regular file (symlinks to one are fine) of at most `maxBytes`. */
export async function readBoundedFile(path: string, maxBytes: number): Promise<BoundedRead> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (err) {
    return failed(err);
  }
  const refused = refusal(info, maxBytes);
  if (refused) return { kind: 'bad', reason: refused };
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: should a FIFO appear between stat and open, opening it does not wait for a writer.
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return failed(err);
  }
  try {
    const again = refusal(await fh.stat(), maxBytes);
    if (again) return { kind: 'bad', reason: again };
    const buf = Buffer.alloc(maxBytes + 1);
    let total = 0;
    while (total < buf.length) {
      const { bytesRead } = await fh.read(buf, total, buf.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    if (total > maxBytes) {
      return {
        kind: 'bad',
        reason: `it grew past ${formatBytes(maxBytes)} while being read, so it was not used`,
      };
    }
    return { kind: 'ok', text: buf.subarray(0, total).toString('utf8') };
  } catch (err) {
    return failed(err);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function failed(err: unknown): BoundedRead {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
  return { kind: 'bad', reason: `cannot read it: ${(err as Error).message}` };
}

/** Why a file is not read, or null when it may be. */
function refusal(info: Stats, maxBytes: number): string | null {
  if (!info.isFile()) return `it is ${describeKind(info)}, not a regular file, so it was not read`;
  if (info.size > maxBytes) {
    return `it is ${formatBytes(info.size)}, more than the ${formatBytes(maxBytes)} such a file may be, so it was not read`;
  }
  return null;
}

export function describeKind(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isCharacterDevice()) return 'a device (character device)';
  if (info.isBlockDevice()) return 'a device (block device)';
  if (info.isSocket()) return 'a socket';
  return 'something other than a file';
}

export function formatBytes(n: number): string {
  const round = (v: number) => String(Number(v.toFixed(1)));
  if (n >= 1024 * 1024) return `${round(n / (1024 * 1024))} MiB`;
  if (n >= 1024) return `${round(n / 1024)} KiB`;
  return `${n} bytes`;
}
