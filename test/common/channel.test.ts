import { describe, expect, it } from 'vitest';
import { Channel, decodeFrame, encodeFrame, encodeResize, parseResize } from '../../common/channel.ts';
import { exitCodeFromStatus, exitStatusPayload } from '../../common/status.ts';

describe('channel frames', () => {
  it('round-trips channel and payload', () => {
    const frame = decodeFrame(encodeFrame(Channel.stderr, 'oops'));
    expect(frame?.channel).toBe(2);
    expect(frame?.payload.toString()).toBe('oops');
  });

  it('ignores empty messages', () => {
    expect(decodeFrame(Buffer.alloc(0))).toBeNull();
  });
});

describe('resize', () => {
  it('matches keys case-insensitively (client-go and client-node spellings)', () => {
    expect(parseResize('{"Width":80,"Height":24}')).toEqual({ width: 80, height: 24 });
    expect(parseResize('{"height":50,"width":132}')).toEqual({ width: 132, height: 50 });
    expect(parseResize(encodeResize({ width: 3, height: 4 }).subarray(1))).toEqual({ width: 3, height: 4 });
  });

  it('refuses garbage and absurd sizes', () => {
    expect(parseResize('nope')).toBeNull();
    expect(parseResize('{"width":-1,"height":2}')).toBeNull();
    expect(parseResize('{"width":1e9,"height":2}')).toBeNull();
    expect(parseResize('[80,24]')).toBeNull();
  });
});

describe('exit status', () => {
  it('round-trips zero and non-zero codes', () => {
    expect(exitCodeFromStatus(exitStatusPayload(0))).toEqual({ code: 0 });
    expect(exitCodeFromStatus(exitStatusPayload(3)).code).toBe(3);
  });

  it('reports a failure without an exit code as null with its message', () => {
    const r = exitCodeFromStatus('{"status":"Failure","message":"no such file"}');
    expect(r).toEqual({ code: null, message: 'no such file' });
  });
});
