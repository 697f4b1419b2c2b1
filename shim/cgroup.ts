// Container id from /proc/PID/cgroup text. Pure, so it is tested against real-world cgroup paths:
//   0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope
//   0::/system.slice/docker-<id>.scope
//   12:pids:/kubepods/besteffort/pod<uid>/<id>          (cgroup v1, cgroupfs driver)
//   0::/../crio-<id>.scope, 0::/libpod_parent/libpod-<id>
// The id is the last 64-hex run in the path, with any runtime prefix and ".scope" removed.

const HEX64 = /(?:^|[/\-:])([0-9a-f]{64})(?:\.scope)?(?=$|\/)/g;

export function containerIdFromCgroup(text: string): string | null {
  let found: string | null = null;
  for (const line of text.split('\n')) {
    // "hierarchy:controllers:path"; the path may itself contain ':' (kubelet systemd driver).
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const path = line.slice(second + 1);
    let last: string | null = null;
    for (const m of path.matchAll(HEX64)) last = m[1]!;
    if (last !== null) {
      found = last;
      // cgroup v2's unified line is authoritative; v1 lines all name the same container.
      if (line.startsWith('0::')) return found;
    }
  }
  return found;
}
