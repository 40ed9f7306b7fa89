// PostgreSQL takes at most 65,535 parameters in one statement, so a multi-row INSERT of many rows
// goes in slices that stay under it.
const parametersPerStatementMax = 65_535;

/** `rows` cut into slices of at most as many rows as fit one statement at `columns` per row. */
export function parameterSlices<T>(rows: T[], columns: number): T[][] {
  const size = Math.max(1, Math.floor(parametersPerStatementMax / columns));
  const slices: T[][] = [];
  for (let start = 0; start < rows.length; start += size) slices.push(rows.slice(start, start + size));
  return slices;
}
