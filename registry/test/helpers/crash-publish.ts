/**
 * Child process of the crash tests: publishes a model and, at a chosen point, says so on stdout
 * and waits forever (the parent then SIGKILLs it there).
 *
 *   tsx crash-publish.ts <root> <modelDir> <version> <point>
 *   point: mid-blob:<n>  — during the n-th file's blob (0-based, the entry JSON is 0), after its first chunk
 *          before-commit — every blob stored, manifest not yet written
 *          none          — run to the end
 */
import { publish, type PublishProgress } from '../../src/publish.js';

const [root, modelDir, version, point] = process.argv.slice(2) as [string, string, string, string];
const blobsSeen: string[] = [];
const pause = (): Promise<void> => {
  process.stdout.write('PAUSED\n');
  return new Promise(() => undefined);
};
const onProgress = async (p: PublishProgress): Promise<void> => {
  if (p.phase === 'blob') {
    if (!blobsSeen.includes(p.file)) blobsSeen.push(p.file);
    if (point === `mid-blob:${blobsSeen.length - 1}` && p.loaded < p.total) await pause();
  }
  if (p.phase === 'commit' && point === 'before-commit') await pause();
};
await publish({
  modelDir,
  root,
  id: 'big',
  version,
  aliases: ['stable'],
  card: { task: 'image-classification', labels: Array.from({ length: 10 }, (_, i) => `c${i}`), preprocess: { width: 28, height: 28, channels: 1 } },
  onProgress,
});
process.stdout.write('DONE\n');
