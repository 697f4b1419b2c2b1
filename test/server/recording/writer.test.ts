import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsciicast } from '../../../common/asciicast.ts';
import {
  RecordingFailedError,
  RecordingWriter,
  recordingPath,
  reserveRecording,
} from '../../../server/recording/writer.ts';

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

  it('writes a marker event whose label survives quotes, newlines and control characters', async () => {
    const id = '55555555-5555-4555-8555-555555555555';
    await reserveRecording(dir, id);
    let now = 1000;
    const w = await RecordingWriter.open({
      path: recordingPath(dir, id),
      startedAt: new Date(1_700_000_000_000),
      recordInput: false,
      now: () => now,
    });
    w.output(1, Buffer.from('$ '));
    now = 3000;
    const label = 'terminated by mod: "stop"\n\u001b[31m';
    w.marker(label);
    const { sha256 } = await w.close();
    const file = await readFile(recordingPath(dir, id));
    expect(sha256).toBe(createHash('sha256').update(file).digest('hex'));
    expect(decodeAsciicast(file.toString('utf8')).events).toEqual([
      { time: 0, code: 'o', data: '$ ' },
      { time: 2, code: 'm', data: label },
    ]);
  });

  it("puts t=0 at the header's whole second, so timestamp + t is each event's wall-clock time", async () => {
    const id = '44444444-4444-4444-8444-444444444444';
    await reserveRecording(dir, id);
    let now = 5000;
    const started = 1_700_000_000_700; // 0.7 s past the second the header can name
    const w = await RecordingWriter.open({
      path: recordingPath(dir, id),
      startedAt: new Date(started),
      recordInput: false,
      now: () => now,
    });
    await w.output(1, Buffer.from('at start'));
    now = 5300;
    await w.output(1, Buffer.from('0.3 s later'));
    await w.close();
    const cast = decodeAsciicast(await readFile(recordingPath(dir, id), 'utf8'));
    const wall = cast.events.map((e) => (cast.header.timestamp ?? 0) * 1000 + e.time * 1000);
    expect(wall).toEqual([started, started + 300]);
  });

  it('writes several frames as one event, synchronously, and large output unchanged', async () => {
    const id = '33333333-3333-4333-8333-333333333333';
    await reserveRecording(dir, id);
    const w = await RecordingWriter.open({
      path: recordingPath(dir, id),
      startedAt: new Date(),
      recordInput: true,
    });
    const euro = Buffer.from('€');
    w.output(1, [Buffer.from('a"\x1b'), euro.subarray(0, 1), euro.subarray(1), Buffer.from('\\')]);
    // In the file as soon as output() returns: what the relay forwards next is already recorded.
    expect((await readFile(recordingPath(dir, id), 'utf8')).trimEnd().split('\n')).toHaveLength(2);
    const big = Buffer.alloc(200_000, 'x');
    w.output(2, [big.subarray(0, 70_000), big.subarray(70_000)]);
    w.input(Buffer.from('ls\r'));
    // Frames as on the wire: one event per run of one stream; resize frames become `r` events.
    w.outputFrames([Buffer.from('\x01a'), Buffer.from('\x01b'), Buffer.from('\x02c'), Buffer.from('\x01d')]);
    w.clientFrame(Buffer.from('\x04{"Width":100,"Height":40}'));
    const { bytes, sha256 } = await w.close();
    const file = await readFile(recordingPath(dir, id));
    expect(bytes).toBe(file.length);
    expect(sha256).toBe(createHash('sha256').update(file).digest('hex'));
    const events = decodeAsciicast(file.toString('utf8')).events;
    expect(events.map((e) => [e.code, e.data])).toEqual([
      ['o', 'a"\x1b€\\'],
      ['o', big.toString()],
      ['i', 'ls\r'],
      ['o', 'ab'],
      ['o', 'c'],
      ['o', 'd'],
      ['r', '100x40'],
    ]);
    expect(() => w.output(1, Buffer.from('late'))).toThrow(/closed/);
  });

  it('refuses to reserve the same session twice', async () => {
    const id = '22222222-2222-4222-8222-222222222222';
    await reserveRecording(dir, id);
    await expect(reserveRecording(dir, id)).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('fails with RecordingFailedError on a full disk, and keeps failing (the session must end)', async () => {
    // /dev/full answers every write with ENOSPC.
    const w = await RecordingWriter.open({ path: '/dev/full', startedAt: new Date(), recordInput: false });
    let err: unknown;
    try {
      w.outputFrames([Buffer.from('\x01hello', 'latin1')]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RecordingFailedError);
    expect(err).toMatchObject({ code: 'RECORDING_FAILED', message: expect.stringMatching(/no disk space/) });
    expect(w.failure).toBe(err);
    await w.close().catch(() => {});
  });
});
