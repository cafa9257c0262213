/** A JSON request over real HTTP (to nginx or an instance), as an outside client sends it. */
export interface JsonAnswer<T> {
  status: number;
  headers: Headers;
  /** The parsed JSON (its shape is the caller's to assert), or the text when it is not JSON. */
  body: T;
}

export async function fetchJson<T = unknown>(
  base: string,
  method: string,
  path: string,
  options: { auth?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<JsonAnswer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth) headers['Authorization'] = options.auth;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (metrics, an nginx error page): the text itself.
  }
  return { status: res.status, headers: res.headers, body: body as T };
}

/** Like fetchJson, but anything but `expected` fails with what was answered. */
export async function expectJson<T>(
  expected: number,
  base: string,
  method: string,
  path: string,
  options: Parameters<typeof fetchJson>[3] = {},
): Promise<T> {
  const answer = await fetchJson<T>(base, method, path, options);
  if (answer.status !== expected)
    throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)} (wanted ${expected})`);
  return answer.body;
}
