import { describe, expect, it } from 'vitest';
import { buildSessionRequest, parseTarget } from '../../plugin/target.ts';

const base = { namespace: 'ns', stdin: false, tty: false };

describe('parseTarget', () => {
  it('accepts POD, pod/NAME, pods/NAME, po/NAME and node/NAME', () => {
    expect(parseTarget('web')).toEqual({ kind: 'pod', name: 'web' });
    expect(parseTarget('pod/web')).toEqual({ kind: 'pod', name: 'web' });
    expect(parseTarget('pods/web')).toEqual({ kind: 'pod', name: 'web' });
    expect(parseTarget('po/web')).toEqual({ kind: 'pod', name: 'web' });
    expect(parseTarget('node/worker-1')).toEqual({ kind: 'node', name: 'worker-1' });
    expect(parseTarget('Nodes/worker-1')).toEqual({ kind: 'node', name: 'worker-1' });
  });

  it('refuses controllers with a sentence that says what to do', () => {
    expect(() => parseTarget('deployment/web')).toThrow(/named pod, not deployment\/web.*pod\/NAME/);
    expect(() => parseTarget('deploy.apps/web')).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_TARGET' }),
    );
    expect(() => parseTarget('svc/web')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_TARGET' }));
    expect(() => parseTarget('configmap/x')).toThrow(/must be POD, pod\/NAME or node\/NAME/);
  });

  it('refuses empty and nested names', () => {
    expect(() => parseTarget('pod/')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => parseTarget('pod/a/b')).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});

describe('buildSessionRequest', () => {
  it('builds an exec request from the operands and the arguments after --', () => {
    const req = buildSessionRequest({
      ...base,
      operands: ['pod/web'],
      dashArgs: ['sh', '-c', 'echo hi --help'],
      container: 'app',
      reason: 'INC-1',
      ticket: 'T-9',
      stdin: true,
      tty: true,
    });
    expect(req).toEqual({
      kind: 'exec',
      namespace: 'ns',
      pod: 'web',
      container: 'app',
      command: ['sh', '-c', 'echo hi --help'],
      stdin: true,
      tty: true,
      reason: 'INC-1',
      ticket: 'T-9',
    });
  });

  it('answers like kubectl 1.32 to a missing target, a missing command and the pre-"--" form', () => {
    expect(() => buildSessionRequest({ ...base, operands: [], dashArgs: ['ls'] })).toThrow(
      /POD is a required argument/,
    );
    expect(() => buildSessionRequest({ ...base, operands: ['web'], dashArgs: null })).toThrow(
      'you must specify at least one command for the container',
    );
    expect(() => buildSessionRequest({ ...base, operands: ['web'], dashArgs: [] })).toThrow(
      /at least one command/,
    );
    expect(() => buildSessionRequest({ ...base, operands: ['web', 'ls'], dashArgs: null })).toThrow(
      'exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead',
    );
  });

  it('turns node/NAME into a node-debug request with image and profile; the command may be empty', () => {
    const req = buildSessionRequest({
      ...base,
      operands: ['node/worker-1'],
      dashArgs: null,
      image: 'busybox',
      profile: 'sysadmin',
      stdin: true,
      tty: true,
    });
    expect(req).toEqual({
      kind: 'node-debug',
      node: 'worker-1',
      namespace: 'ns',
      image: 'busybox',
      profile: 'sysadmin',
      command: [],
      stdin: true,
      tty: true,
    });
  });

  it('refuses flags that do not fit the target', () => {
    expect(() =>
      buildSessionRequest({ ...base, operands: ['node/n'], dashArgs: null, profile: 'root' }),
    ).toThrow(/invalid --profile "root": one of legacy, general/);
    expect(() =>
      buildSessionRequest({ ...base, operands: ['node/n'], dashArgs: null, container: 'x' }),
    ).toThrow(/-c\/--container does not apply/);
    expect(() =>
      buildSessionRequest({ ...base, operands: ['web'], dashArgs: ['ls'], image: 'busybox' }),
    ).toThrow(/only apply to node\/NAME/);
  });
});
