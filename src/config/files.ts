/**
 * Reads the small files configuration points at (the options file, `_FILE` secrets, the MQTT CA)
 * safely: only regular files, never more than a cap. A named pipe would block the start forever
 * and a device such as /dev/urandom would be read without end; both are refused with a reason.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';

export const MAX_OPTIONS_BYTES = 1024 * 1024;
export const MAX_SECRET_BYTES = 64 * 1024;
export const MAX_CA_FILE_BYTES = 1024 * 1024;

export type SmallFile =
  | { kind: 'text'; text: string }
  | { kind: 'missing' }
  | { kind: 'unreadable'; reason: string }
  /** A directory, FIFO, device or socket; `what` says which ("a named pipe (FIFO)"). */
  | { kind: 'not-a-file'; what: string }
  /** Larger than the cap; `size` when the file system said how large. */
  | { kind: 'too-large'; size?: number };

function describeKind(st: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The file's text (UTF-8) when it is a regular file of at most `maxBytes`. The type is checked
 * before opening (a FIFO blocks in open()), and again on the open handle; at most `maxBytes + 1`
 * bytes are read, so a file that grows (or lies about its size, as /proc files do) is still capped.
 */
export async function readSmallFile(path: string, maxBytes: number): Promise<SmallFile> {
  try {
    const st = await stat(path);
    if (!st.isFile()) return { kind: 'not-a-file', what: describeKind(st) };
    if (st.size > maxBytes) return { kind: 'too-large', size: st.size };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'unreadable', reason: ioReason(err) };
  }
  let handle: FileHandle;
  try {
    // O_NONBLOCK: should the path have become a FIFO since stat(), open() must not wait for a writer.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'unreadable', reason: ioReason(err) };
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return { kind: 'not-a-file', what: describeKind(st) };
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) return { kind: 'too-large' };
    return { kind: 'text', text: buffer.toString('utf8', 0, length) };
  } catch (err) {
    return { kind: 'unreadable', reason: ioReason(err) };
  } finally {
    await handle.close();
  }
}

/** A short reason for an I/O error, for a problem line. */
export function ioReason(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    default:
      return (err as NodeJS.ErrnoException).code ?? 'unreadable';
  }
}
