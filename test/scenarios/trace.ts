// A capture as a short process trace (one line per exec/fork event, in log order), for the message
// of a failing scenario: what the shim read, so a failure seen once on a busy machine can be
// reasoned about without the machine.

import { EventAssembler } from '../../shim/assembler.ts';
import { interpretEvent } from '../../shim/exec-event.ts';
import { parseAuditLine } from '../../shim/parser.ts';

export function processTrace(lines: readonly string[]): string {
  const out: string[] = [];
  const assembler = new EventAssembler({
    onEvent: (event) => {
      const p = interpretEvent(event);
      if (p === null) return;
      const who = `${p.serial} pid ${p.pid} ppid ${p.ppid} comm ${p.comm} exe ${p.exe}`;
      if (p.kind === 'fork') out.push(`fork ${who} → ${p.childPid}`);
      else out.push(`exec ${who}${p.success ? '' : ' (failed)'} ${JSON.stringify(p.argv)}`);
    },
  });
  for (const l of lines) {
    const r = parseAuditLine(l);
    if (r.kind === 'record') assembler.push(r);
  }
  assembler.flush();
  return out.join('\n');
}
