/**
 * The fs driver's atomic put on a real full disk (a small tmpfs, see helpers/full-disk.ts): the
 * put is refused with E012 naming the object, the object it would have replaced (and its
 * metadata) stays as it was, no temp file stays behind, and puts work again once space is freed.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { useFullDisk } from '../helpers/full-disk.ts';

const disk = useFullDisk('fs-full', '8m');

/** Every temp file under the disk (puts name theirs `*.sluice-tmp`). */
const temps = () =>
  readdirSync(disk.dir, { recursive: true, encoding: 'utf8' }).filter((n) => n.includes('sluice-tmp'));

describe('fs storage on a full disk', () => {
  it('refuses a put that does not fit with E012, keeps the old object and its metadata, leaves no temp file, and puts again once space is freed', async () => {
    const root = path.join(disk.dir, 'root');
    const storage = createFsStorage({ root });
    await storage.put('a/obj.bin', 'old bytes', { metadata: { version: '1' }, contentType: 'text/plain' });
    const file = path.join(root, 'a', 'obj.bin');
    try {
      expect(disk.fill(16 << 10).code).toBe('ENOSPC');
      const big = Buffer.alloc(64 << 10, 1);
      for (const body of [big, () => Readable.from([big, big])]) {
        const put = storage.put('a/obj.bin', typeof body === 'function' ? body() : body, {
          metadata: { version: '2' },
        });
        await expect(put).rejects.toMatchObject({ code: 'E012' });
        await expect(put).rejects.toThrow(`disk full writing ${file}`);
        expect((await storage.get('a/obj.bin')).toString()).toBe('old bytes');
        expect((await storage.stat('a/obj.bin')).metadata).toEqual({ version: '1' });
        expect(temps()).toEqual([]);
      }

      // Room for the data to the byte, none for its metadata sidecar: the sidecar is refused.
      disk.fill();
      disk.free();
      disk.fill(8192);
      const exact = storage.put('a/new.bin', Buffer.alloc(8192, 2), { metadata: { version: '3' } });
      await expect(exact).rejects.toMatchObject({ code: 'E012' });
      expect(await storage.exists('a/new.bin')).toBe(false);
      expect(temps()).toEqual([]);
    } finally {
      disk.free();
    }
    await storage.put('a/obj.bin', Buffer.alloc(64 << 10, 3), { metadata: { version: '4' } });
    expect((await storage.get('a/obj.bin')).equals(Buffer.alloc(64 << 10, 3))).toBe(true);
    expect((await storage.stat('a/obj.bin')).metadata).toEqual({ version: '4' });
    expect(temps()).toEqual([]);
  });
});
