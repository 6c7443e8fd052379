/** Deno permission checks that explain, before an operation is tried, which flag is missing. */

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false;
  }
}

/** Why this process may not write into `dir`, or undefined when it may. */
export function writeScopeProblem(dir: string): string | undefined {
  if (granted({ name: "write", path: dir })) return undefined;
  return `the server's write permission does not cover it. Add --allow-write=${dir} ` +
    `(or a parent folder) to the server's command line, or choose a folder inside the granted scope.`;
}

/** Why this process may not read `path`, or undefined when it may. */
export function readScopeProblem(path: string): string | undefined {
  if (granted({ name: "read", path })) return undefined;
  return `the server's read permission does not cover it. Add --allow-read=${path} to the server's command line.`;
}

/** Why this process may not connect to `host` (`name` or `name:port`), or undefined when it may. */
export function netScopeProblem(host: string): string | undefined {
  if (granted({ name: "net", host })) return undefined;
  return `the server's network permission does not cover ${host}. Add --allow-net=${host} ` +
    `to the server's command line.`;
}

/** Whether DNS look-ups are allowed (they need net access to the system's name server). */
export function canResolveDns(): boolean {
  return granted({ name: "net" });
}
