/**
 * Prints the `--allow-net` list `deno task start` grants: the API host (the host of
 * `OPENAI_BASE_URL`, else api.openai.com) and the comma-separated hosts of `EXTRA_NET`, for a
 * proxy or `https://` image inputs. Deno's task shell cannot build the list itself.
 *
 * @module
 */

/** The hosts to grant, API host first, without duplicates or empty entries. */
export function netHosts(env: { baseURL?: string; extra?: string }): string[] {
  let api = "api.openai.com";
  try {
    if (env.baseURL) api = new URL(env.baseURL).host;
  } catch {
    // The server itself explains a malformed OPENAI_BASE_URL at start; grant the default here.
  }
  const extra = (env.extra ?? "").split(",").map((h) => h.trim()).filter(Boolean);
  return [...new Set([api, ...extra])];
}

if (import.meta.main) {
  console.log(
    netHosts({ baseURL: Deno.env.get("OPENAI_BASE_URL"), extra: Deno.env.get("EXTRA_NET") })
      .join(","),
  );
}
