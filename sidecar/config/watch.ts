// Reloads a config file when it changes. Watches the directory, not the file: editors and Kubernetes
// ConfigMap volumes replace files by rename, which a watch on the old inode would miss.

import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

export function watchFile(path: string, onChange: () => void, debounceMs = 100): { close(): void } {
  const abs = resolve(path);
  const name = basename(abs);
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dirname(abs), (_event, file) => {
    // ConfigMap updates swap a `..data` symlink, so any change in the directory counts then.
    if (file !== null && file !== name && !file.startsWith('..')) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  return { close: () => { clearTimeout(timer); watcher.close(); } };
}
