/** A zip bomb as the hostile review built one: a valid issue export whose attachments are many MiB of zeros, deflated about 1000:1. */
import { crc32, deflateRawSync } from 'node:zlib';
import { Zip, type ZipInputFile, strToU8 } from 'fflate';
import { ISSUE_EXPORT_DB } from '../../src/engine/issue-export.js';

/** `entries` attachments of `bytes` zeros each, named by db-2.0.json (so that only their size makes it wrong). */
export function zipBomb(entries: number, bytes: number): Uint8Array {
  const zeros = new Uint8Array(bytes);
  // Deflated once by zlib (fflate takes seconds for this) and added as it is: fflate's Zip takes pre-compressed data.
  const deflated = deflateRawSync(zeros, { level: 9 });
  const paths = Array.from({ length: entries }, (_, index) => `attachments/${index}`);
  const db = strToU8(JSON.stringify({
    issues: [{ id: 1, title: 'Crash', created_on: '2026-01-01T00:00:00Z' }],
    attachments: paths.map((path, index) => ({ issue: 1, filename: `core-${index}`, path, user: null })),
  }));
  const chunks: Uint8Array[] = [];
  const zip = new Zip((error, chunk) => {
    if (error) throw error;
    chunks.push(chunk);
  });
  const add = (filename: string, data: Uint8Array<ArrayBuffer>, content: Uint8Array, compression: number): void => {
    const file: ZipInputFile = { filename, size: content.length, crc: crc32(content), compression };
    zip.add(file);
    file.ondata!(null, data, true);
  };
  add(ISSUE_EXPORT_DB, db, db, 0);
  for (const path of paths) add(path, deflated, zeros, 8);
  zip.end();
  return Buffer.concat(chunks);
}
