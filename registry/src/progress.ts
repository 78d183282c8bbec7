/**
 * A minimal progress bar for long uploads on stderr: redrawn in place on a terminal, a line per
 * 25 % otherwise (logs stay readable in CI).
 *
 * @example
 * const bar = progressBar(process.stderr);
 * bar.update('group1-shard1of1.bin', 5_000_000, 10_000_000);   // [##########          ]  50%   4.8/9.5 MiB group1-shard1of1.bin
 * bar.done();
 */
export interface ProgressBar {
  update(label: string, loaded: number, total: number): void;
  done(): void;
}

const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);

export function progressBar(out: NodeJS.WriteStream, width = 24): ProgressBar {
  const tty = out.isTTY === true;
  let lastLabel = '';
  let lastQuarter = -1;
  let drawn = false;
  return {
    update(label, loaded, total) {
      const frac = total > 0 ? Math.min(1, loaded / total) : 1;
      const filled = Math.round(frac * width);
      const line = `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}% ${mib(loaded).padStart(6)}/${mib(total)} MiB ${label}`;
      if (tty) {
        out.write(`\r${line}\x1b[K`);
        drawn = true;
        return;
      }
      const quarter = Math.floor(frac * 4);
      if (label !== lastLabel || quarter !== lastQuarter) {
        out.write(`${line}\n`);
        lastLabel = label;
        lastQuarter = quarter;
      }
    },
    done() {
      if (tty && drawn) out.write('\n');
      drawn = false;
    },
  };
}
