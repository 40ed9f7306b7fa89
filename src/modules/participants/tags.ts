// Tags are lower-cased, trimmed and unique, whoever writes them (API, upsert, rules). Pure.

export function normalizeTags(tags: string[]): string[] {
  return [...new Set(tags.map((tag) => tag.trim().toLowerCase()))];
}
