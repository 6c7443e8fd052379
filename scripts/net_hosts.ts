/**
 * Prints the `--allow-net` list `deno task start` grants: the API host (the host of
 * `OPENAI_BASE_URL`, else api.openai.com) and the comma-separated hosts of `EXTRA_NET`, for a
 * proxy or `https://` image inputs. With `--http` (`deno task serve:http`), also the address
 * `serve --http` listens on and the OAuth issuer's host. Deno's task shell cannot build the list
 * itself.
 *
 * @module
 */

/** What `serve --http` adds: the address it listens on, and the OAuth issuer it asks for keys. */
export interface HttpNet {
  host?: string;
  port?: string;
  issuer?: string;
}

/** The hosts to grant, API host first, without duplicates or empty entries. */
export function netHosts(env: { baseURL?: string; extra?: string; http?: HttpNet }): string[] {
  let api = "api.openai.com";
  try {
    if (env.baseURL) api = new URL(env.baseURL).host;
  } catch {
    // The server itself explains a malformed OPENAI_BASE_URL at start; grant the default here.
  }
  const extra = (env.extra ?? "").split(",").map((h) => h.trim()).filter(Boolean);
  if (env.http) {
    const host = env.http.host ?? "127.0.0.1";
    extra.push(`${host.includes(":") ? `[${host}]` : host}:${env.http.port ?? "8787"}`);
    try {
      if (env.http.issuer) extra.push(new URL(env.http.issuer).host);
    } catch {
      // The server explains a malformed issuer at start.
    }
  }
  return [...new Set([api, ...extra])];
}

if (import.meta.main) {
  const env = (name: string) => Deno.env.get(name) || undefined;
  const http = Deno.args.includes("--http")
    ? {
      host: env("GPT_IMAGE_2_HTTP_HOST"),
      port: env("GPT_IMAGE_2_HTTP_PORT"),
      issuer: env("GPT_IMAGE_2_OAUTH_ISSUER"),
    }
    : undefined;
  console.log(
    netHosts({ baseURL: env("OPENAI_BASE_URL"), extra: env("EXTRA_NET"), http }).join(","),
  );
}
