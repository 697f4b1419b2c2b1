import { describe, expect, it } from 'vitest';
import { decodeKubeProtobuf } from './protobuf.ts';

// A minimal protobuf writer, enough to build what kubectl's typed client sends.
type Field = [number, string | number | boolean | Buffer | Field[]];
function encode(fields: Field[]): Buffer {
  const parts: Buffer[] = [];
  const varint = (n: number): Buffer => {
    const out: number[] = [];
    do {
      out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n);
    return Buffer.from(out);
  };
  for (const [num, v] of fields) {
    if (typeof v === 'number' || typeof v === 'boolean') parts.push(varint(num << 3), varint(Number(v)));
    else {
      const body = typeof v === 'string' ? Buffer.from(v) : Buffer.isBuffer(v) ? v : encode(v);
      parts.push(varint((num << 3) | 2), varint(body.length), body);
    }
  }
  return Buffer.concat(parts);
}

describe('decodeKubeProtobuf', () => {
  it('decodes the pod kubectl debug node sends (field numbers of core/v1)', () => {
    const pod: Field[] = [
      [
        1,
        [
          [1, 'node-debugger-vm-abcde'],
          [2, ''],
          [
            11,
            [
              [1, 'app'],
              [2, 'dbg'],
            ],
          ],
        ],
      ],
      [
        2,
        [
          [
            1,
            [
              [1, 'host-root'],
              [
                2,
                [
                  [
                    1,
                    [
                      [1, '/'],
                      [2, ''],
                    ],
                  ],
                ],
              ],
            ],
          ],
          [
            2,
            [
              [1, 'debugger'],
              [2, 'busybox'],
              [3, 'sh'],
              [
                7,
                [
                  [1, 'A'],
                  [2, 'b'],
                ],
              ],
              [
                9,
                [
                  [1, 'host-root'],
                  [2, false],
                  [3, '/host'],
                ],
              ],
              [15, [[2, true]]],
              [16, true],
              [18, true],
            ],
          ],
          [3, 'Never'],
          [10, 'vm'],
          [12, true],
        ],
      ],
    ];
    const envelope = Buffer.concat([
      Buffer.from('k8s\0', 'latin1'),
      encode([
        [
          1,
          [
            [1, 'v1'],
            [2, 'Pod'],
          ],
        ],
        [2, encode(pod)],
      ]),
    ]);
    expect(decodeKubeProtobuf(envelope)).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'node-debugger-vm-abcde', labels: { app: 'dbg' } },
      spec: {
        volumes: [{ name: 'host-root', hostPath: { path: '/' } }],
        containers: [
          {
            name: 'debugger',
            image: 'busybox',
            command: ['sh'],
            env: [{ name: 'A', value: 'b' }],
            volumeMounts: [{ name: 'host-root', mountPath: '/host' }],
            securityContext: { privileged: true },
            stdin: true,
            tty: true,
          },
        ],
        restartPolicy: 'Never',
        nodeName: 'vm',
        hostPID: true,
      },
    });
  });

  it('refuses kinds it does not map', () => {
    const envelope = Buffer.concat([
      Buffer.from('k8s\0', 'latin1'),
      encode([
        [
          1,
          [
            [1, 'v1'],
            [2, 'Secret'],
          ],
        ],
      ]),
    ]);
    expect(() => decodeKubeProtobuf(envelope)).toThrow(/not supported/);
  });
});
