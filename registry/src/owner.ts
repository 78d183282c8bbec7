/**
 * Who owns a lock or a temp file, and whether that owner still runs: a process id plus a machine tag
 * (a hash of the host name and the kernel's boot id), so a dead owner on this machine is recognised at
 * once, a process id reused after a reboot is not mistaken for the owner, and an owner on another
 * machine (a shared filesystem) is never judged by our process table.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(); // Linux
  } catch {
    // Elsewhere: the boot time, to the minute (uptime drifts by the second).
    return String(Math.round((Date.now() / 1000 - os.uptime()) / 60));
  }
}

/** This machine and boot, as 8 hex digits. */
export const MACHINE = createHash('sha256').update(`${os.hostname()}\n${bootId()}`).digest('hex').slice(0, 8);

/** This process, as the owner tag written into lock files and temp file names: `{pid}.{machine}`. */
export const OWNER = `${process.pid}.${MACHINE}`;

/** Whether process `pid` exists on this machine (EPERM: it exists, owned by another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/**
 * What is known of an owner tag: `'alive'`, `'dead'` (a process of this machine and boot that no longer
 * runs, or of an earlier boot of this machine cannot be told from another machine: `'unknown'`).
 *
 * @example
 * ownerState(OWNER); // 'alive'
 * ownerState(`999999.${MACHINE}`); // 'dead'
 * ownerState('123.0badf00d'); // 'unknown' — another machine, or this one before a reboot
 */
export function ownerState(tag: string | undefined): 'alive' | 'dead' | 'unknown' {
  const m = tag === undefined ? null : /^(\d+)\.([0-9a-f]{8})$/.exec(tag);
  if (!m) return 'unknown';
  if (m[2] !== MACHINE) return 'unknown';
  return processAlive(Number(m[1])) ? 'alive' : 'dead';
}

/** The owner tag in a temp file name (`.tmp-{base}-{pid}.{machine}-{random}`), if it has one. */
export function tempOwner(name: string): string | undefined {
  return /-(\d+\.[0-9a-f]{8})-[0-9a-f]{12}$/.exec(name)?.[1];
}
