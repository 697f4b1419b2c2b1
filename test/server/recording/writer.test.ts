import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsciicast } from '../../../common/asciicast.ts';
import { RecordingWriter, recordingPath, reserveRecording } from '../../../server/recording/writer.ts';

describe('RecordingWriter', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'server-recording-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes asciicast v2 with a running digest equal to the file, and input only when asked', async () => {
    const id = '11111111-1111-4111-8111-111111111111';
    await reserveRecording(dir, id);
    let now = 1000;
    const w = await RecordingWriter.open({
      path: recordingPath(dir, id),
      startedAt: new Date(1_700_000_000_000),
      recordInput: false,
      now: () => now,
    });
    await w.resize({ width: 100, height: 30 });
    now = 1500;
    const euro = Buffer.from('€');
    await w.output(1, Buffer.concat([Buffer.from('a'), euro.subarray(0, 2)]));
    await w.input(Buffer.from('secret'));
    now = 2250;
    await w.output(1, euro.subarray(2));
    await w.output(2, Buffer.from('err'));
    await w.resize({ width: 90, height: 20 });
    const { bytes, sha256 } = await w.close();
    const file = await readFile(recordingPath(dir, id));
    expect(bytes).toBe(file.length);
    expect(sha256).toBe(createHash('sha256').update(file).digest('hex'));
    const cast = decodeAsciicast(file.toString('utf8'));
    expect(cast.header).toMatchObject({ version: 2, width: 100, height: 30, timestamp: 1_700_000_000 });
    expect(cast.events).toEqual([
      { time: 0.5, code: 'o', data: 'a' },
      { time: 1.25, code: 'o', data: '€' },
      { time: 1.25, code: 'o', data: 'err' },
      { time: 1.25, code: 'r', data: '90x20' },
    ]);
  });

  it('refuses to reserve the same session twice', async () => {
    const id = '22222222-2222-4222-8222-222222222222';
    await reserveRecording(dir, id);
    await expect(reserveRecording(dir, id)).rejects.toMatchObject({ code: 'EEXIST' });
  });
});
