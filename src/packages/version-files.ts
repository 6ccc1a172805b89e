// The list of files a version installs, as stored in its row (versions.files): compact JSON pairs [path, size], in
// path order. Pure: what publish writes and what the package page reads back, so the two cannot drift apart.
import type { ListedFile } from '../tarball/inspect.ts';

export const encodeFiles = (files: readonly ListedFile[]): string => JSON.stringify(files.map((f) => [f.path, f.size]));

/** The stored list, or null when the column holds anything else (never written by this code: treated as unknown). */
export function decodeFiles(stored: string): ListedFile[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed)) return null;
  const files: ListedFile[] = [];
  for (const item of parsed) {
    if (!Array.isArray(item) || typeof item[0] !== 'string' || typeof item[1] !== 'number') return null;
    files.push({ path: item[0], size: item[1] });
  }
  return files;
}
