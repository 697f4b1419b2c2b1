// kubectl-style argument parsing through the real command tree: the preAction hook captures what
// the command decided and stops before any I/O.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliContext, createProgram, splitAtDashDash } from '../../plugin/cli.ts';
import { type ExecPlan, execPlan, register as registerExec } from '../../plugin/exec.ts';
import { register as registerPlay } from '../../plugin/play.ts';
import { register as registerSessions } from '../../plugin/sessions.ts';

let dir: string;
let kubeconfig: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plugin-cli-'));
  kubeconfig = join(dir, 'config');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
current-context: c
contexts: [{name: c, context: {cluster: k, user: u, namespace: ctx-ns}}]
clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t0k}}]
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class Stop extends Error {}

interface Parsed {
  command: string;
  exec?: ExecPlan;
  opts: Record<string, unknown>;
  args: string[];
  stderr: string;
}

async function parse(argv: string[], opts: { stdinTty?: boolean } = {}): Promise<Parsed> {
  const { head, dashArgs } = splitAtDashDash(argv);
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (c) => {
    err += c;
  });
  const stdin = Object.assign(new PassThrough(), { isTTY: Boolean(opts.stdinTty) });
  const ctx: CliContext = {
    stdin,
    stdout: new PassThrough(),
    stderr,
    env: { KUBECONFIG: kubeconfig },
    homeDir: dir,
    dashArgs,
    exitCode: 0,
  };
  const program = createProgram(ctx);
  registerExec(program, ctx);
  registerSessions(program, ctx);
  registerPlay(program, ctx);
  let captured: Parsed | undefined;
  program.hook('preAction', (_root: Command, cmd: Command) => {
    captured = {
      command: cmd.name(),
      opts: cmd.optsWithGlobals(),
      args: cmd.args,
      stderr: '',
      ...(cmd.name() === 'exec' ? { exec: execPlan(cmd, ctx) } : {}),
    };
    throw new Stop();
  });
  try {
    await program.parseAsync(head, { from: 'user' });
  } catch (e) {
    if (!(e instanceof Stop)) throw Object.assign(e as Error, { stderr: err });
  }
  if (!captured) throw new Error('no action ran');
  return { ...captured, stderr: err };
}

describe('exec arguments', () => {
  it('-n ns pod -- cmd', async () => {
    const p = await parse(['-n', 'shop', 'web', '--', 'ls', '-la', '--', 'x']);
    expect(p.command).toBe('exec');
    expect(p.exec?.request).toMatchObject({
      kind: 'exec',
      namespace: 'shop',
      pod: 'web',
      command: ['ls', '-la', '--', 'x'],
    });
    expect(p.exec?.request.stdin).toBe(false);
  });

  it('takes the namespace from the kubeconfig context without -n, and --namespace=x / -nx forms', async () => {
    expect((await parse(['web', '--', 'ls'])).exec?.request.namespace).toBe('ctx-ns');
    expect((await parse(['web', '--namespace=a', '--', 'ls'])).exec?.request.namespace).toBe('a');
    expect((await parse(['web', '-nb', '--', 'ls'])).exec?.request.namespace).toBe('b');
  });

  it('accepts flags before and after the pod, and combined -it', async () => {
    const p = await parse(['web', '-it', '-c', 'app', '--reason', 'INC 7', '-q', '--', 'bash'], {
      stdinTty: true,
    });
    expect(p.exec?.request).toMatchObject({
      pod: 'web',
      container: 'app',
      stdin: true,
      tty: true,
      reason: 'INC 7',
    });
    expect(p.exec?.quiet).toBe(true);
    const q = await parse(['-i', '-t', 'pod/web', '--', 'bash'], { stdinTty: true });
    expect(q.exec?.request).toMatchObject({ pod: 'web', stdin: true, tty: true });
  });

  it('drops the TTY like kubectl: -t without -i silently, -it without a terminal with a warning', async () => {
    const noI = await parse(['web', '-t', '--', 'bash'], { stdinTty: true });
    expect(noI.exec).toMatchObject({ warnNoTty: false, request: { tty: false, stdin: false } });
    const noTerm = await parse(['web', '-it', '--', 'bash'], { stdinTty: false });
    expect(noTerm.exec).toMatchObject({ warnNoTty: true, request: { tty: false, stdin: true } });
  });

  it('passes remote flags after -- verbatim, --help included', async () => {
    const p = await parse(['web', '--', 'bash', '--help', '-n', 'x']);
    expect(p.exec?.request.command).toEqual(['bash', '--help', '-n', 'x']);
    expect(p.exec?.request.namespace).toBe('ctx-ns');
  });

  it('parses node/NAME with --image and --profile into a node-debug request', async () => {
    const p = await parse(['node/worker-1', '-it', '--image', 'busybox', '--profile', 'sysadmin'], {
      stdinTty: true,
    });
    expect(p.exec?.request).toMatchObject({
      kind: 'node-debug',
      node: 'worker-1',
      image: 'busybox',
      profile: 'sysadmin',
    });
  });

  it('refuses unknown flags and the pre-"--" form', async () => {
    await expect(parse(['web', '-x', '--', 'ls'])).rejects.toMatchObject({ code: 'commander.unknownOption' });
    await expect(parse(['web', '--bogus', '--', 'ls'])).rejects.toMatchObject({
      stderr: expect.stringContaining("unknown option '--bogus'"),
    });
    await expect(parse(['web', 'ls'])).rejects.toThrow(/Use exec \[POD\] -- \[COMMAND\] instead/);
  });

  it('still answers to an explicit exec subcommand', async () => {
    const p = await parse(['exec', 'web', '--', 'id']);
    expect(p.exec?.request).toMatchObject({ pod: 'web', command: ['id'] });
  });
});

describe('other subcommands', () => {
  it('sessions takes -A, -o and the global -n anywhere', async () => {
    const p = await parse(['sessions', '-A', '-o', 'json', '--user', 'alice', '-n', 'x']);
    expect(p.command).toBe('sessions');
    expect(p.opts).toMatchObject({ allNamespaces: true, output: 'json', user: 'alice', namespace: 'x' });
    await expect(parse(['sessions', '-o', 'yaml'])).rejects.toMatchObject({
      code: 'commander.invalidArgument',
    });
  });

  it('play takes an id, --speed and --idle-time-limit', async () => {
    const p = await parse(['play', 'abcd1234', '--speed', '2.5', '--idle-time-limit', '1']);
    expect(p.command).toBe('play');
    expect(p.args).toEqual(['abcd1234']);
    expect(p.opts).toMatchObject({ speed: 2.5, idleTimeLimit: 1 });
    await expect(parse(['play', 'x', '--speed', '0'])).rejects.toThrow(/--speed must be a positive number/);
  });
});
