// CSV downloads of list endpoints and reports: the same route and filters, asked for with
// `?format=csv` or `Accept: text/csv`. Rows are written page by page (keyset pages of at most
// pageSizeMax rows) to the reply stream, which waits for the client when it reads slowly, so an
// export of any size holds one page in memory, never the whole result.
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type TSchema, Type } from 'typebox';

/** The `format` query parameter of every route that can answer CSV. */
export const ExportFormatField = {
  format: Type.Optional(
    Type.Enum(['json', 'csv'], {
      description:
        'csv: the same rows as a CSV download (RFC 4180, a header row, streamed); also asked for with Accept: text/csv',
    }),
  ),
};

/**
 * The 200 response of a route that also answers CSV, for the reference and the serializer alike:
 * `json` as application/json, and text/csv with `csvExample` (made by `csvText` from the JSON
 * schema's own examples, so both show the same rows).
 */
export function jsonOrCsvResponse(json: TSchema, description: string, csvExample: string) {
  return {
    description,
    content: {
      'application/json': { schema: json },
      'text/csv': {
        schema: Type.String({
          description:
            'The same rows as CSV (RFC 4180, a header row, streamed), with ?format=csv or Accept: text/csv',
        }),
        example: csvExample,
      },
    },
  };
}

/** The examples a schema declares (`examples: [...]`), typed as its rows. */
export function examplesOf<Row>(schema: TSchema): Row[] {
  return ((schema as { examples?: Row[] }).examples ?? []).slice();
}

/** The whole CSV text of `rows`, as a download of them would read: for the reference's examples. */
export function csvText<Row>(columns: readonly CsvColumn<Row>[], rows: readonly Row[]): string {
  return (
    csvLine(columns.map(([header]) => header)) +
    rows.map((row) => csvLine(columns.map(([, read]) => read(row)))).join('')
  );
}

type Cell = string | number | boolean | null | undefined | object;

/** A column: its header, and how to read its cell from a row. */
export type CsvColumn<Row> = readonly [header: string, read: (row: Row) => Cell];

/** One column per field, in order, each read from the row's field of the same name. */
export function fieldColumns<Row extends object>(fields: readonly (keyof Row & string)[]): CsvColumn<Row>[] {
  return fields.map((field) => [field, (row: Row) => row[field] as Cell] as const);
}

/**
 * CSV when `?format=csv`, or without a format when the Accept header names text/csv before any JSON
 * type (or alone). `?format=json` always answers JSON.
 */
export function wantsCsv(request: FastifyRequest): boolean {
  const format = (request.query as { format?: string } | undefined)?.format;
  if (format !== undefined) return format === 'csv';
  const types = (request.headers.accept ?? '').split(',').map((part) => part.split(';')[0]?.trim() ?? '');
  const csv = types.indexOf('text/csv');
  const json = types.findIndex((type) => type === 'application/json' || type === '*/*');
  return csv !== -1 && (json === -1 || csv < json);
}

/**
 * Answers `pages` as a CSV attachment named `<name>.csv`, written to the reply as they come. The
 * first page is read before anything is sent, so a bad filter or cursor still answers its 400.
 */
export async function sendCsv<Row>(
  reply: FastifyReply,
  name: string,
  columns: readonly CsvColumn<Row>[],
  pages: AsyncIterable<readonly Row[]>,
): Promise<FastifyReply> {
  const iterator = pages[Symbol.asyncIterator]();
  const first = await iterator.next();
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}.csv"`)
    .send(Readable.from(csvLines(columns, first, iterator)));
}

async function* csvLines<Row>(
  columns: readonly CsvColumn<Row>[],
  first: IteratorResult<readonly Row[]>,
  rest: AsyncIterator<readonly Row[]>,
): AsyncGenerator<string> {
  yield csvLine(columns.map(([header]) => header));
  for (let page = first; page.done !== true; page = await rest.next()) {
    if (page.value.length > 0)
      yield page.value.map((row) => csvLine(columns.map(([, read]) => read(row)))).join('');
  }
}

function csvLine(cells: Cell[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/**
 * RFC 4180 quoting, and no cell that a spreadsheet would run as a formula: text starting with =, +,
 * @, a tab or a carriage return, or a - that does not start a number, is prefixed with a quote.
 * Amounts stay exact decimal strings, so -12.50 is still a number.
 */
export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  const guarded = /^([=+@\t\r]|-(?![\d.]))/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}

export interface KeysetPage<Row> {
  data: Row[];
  pagination: { has_more: boolean; next_cursor: string | null };
}

/** Every page of a keyset-paginated read, from `cursor` on, one page in memory at a time. */
export async function* keysetPages<Row>(
  cursor: string | undefined,
  readPage: (cursor: string | undefined) => Promise<KeysetPage<Row>>,
): AsyncGenerator<Row[]> {
  let next = cursor;
  for (;;) {
    const page = await readPage(next);
    yield page.data;
    if (!page.pagination.has_more || page.pagination.next_cursor === null) return;
    next = page.pagination.next_cursor;
  }
}

/** A result that is one bounded list (a report per asset), as a single page. */
export async function* onePage<Row>(rows: readonly Row[]): AsyncGenerator<readonly Row[]> {
  yield rows;
}
