/**
 * The CLI's V8 heap settings (see README, peak memory). The CLI owns its process, so it may set
 * V8's flags; the library never touches a host's.
 */
import v8 from 'node:v8';

/**
 * The young generation keeps the size it has at start-up: V8 would otherwise double its new
 * space (up to 32 MB on this Node) once enough has survived its scavenges, for as long as the
 * process lives.
 */
export const HEAP_FLAGS = ['--semi-space-growth-factor=1'] as const;

/**
 * Sets {@link HEAP_FLAGS}, and sets them again after each worker thread is created: on Node 20,
 * `new Worker()` puts V8's flags back as the command line gave them (a flag set at run time no
 * longer holds once a worker exists: the new space of this thread grew to 32 MB again).
 */
export function keepHeapsSmall(): void {
  const apply = () => {
    for (const flag of HEAP_FLAGS) v8.setFlagsFromString(flag);
  };
  apply();
  process.on('worker', apply);
}
