// The console's only way to the server: the public /v1 API, with the key kept for this browser
// session only (sessionStorage), so the console sees exactly what an integrator's key sees.
const keyItem = 'accrue.apiKey';

export const session = {
  key: () => sessionStorage.getItem(keyItem),
  signIn: (key) => sessionStorage.setItem(keyItem, key),
  signOut: () => sessionStorage.removeItem(keyItem),
};

/** An answer other than 2xx: the API's code and message, and the field it names, if any. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `the server answered ${status}`);
    this.status = status;
    this.code = body?.code ?? 'http_error';
    this.field = body?.details?.field;
  }
}

function signOutOn401(response, path) {
  if (response.status === 401 && path !== '/v1/programs?limit=1') {
    session.signOut();
    window.dispatchEvent(new Event('accrue:signed-out'));
  }
}

export async function api(method, path, body) {
  const headers = { 'X-API-Key': session.key() ?? '' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text === '' ? null : JSON.parse(text);
  signOutOn401(response, path);
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/** A GET of `path` as the server's CSV: the file and the name the server gives it. */
export async function apiDownload(path) {
  const separator = path.includes('?') ? '&' : '?';
  const response = await fetch(`${path}${separator}format=csv`, {
    headers: { 'X-API-Key': session.key() ?? '', Accept: 'text/csv' },
  });
  signOutOn401(response, path);
  if (!response.ok) {
    const text = await response.text();
    throw new ApiError(response.status, text === '' ? null : JSON.parse(text));
  }
  const named = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '');
  return { blob: await response.blob(), filename: named?.[1] ?? 'export.csv' };
}

/** A query string of the parameters that have a value. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
