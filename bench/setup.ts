// Creates the standard workload's program through the API, and checks balances against the
// generator's prediction afterwards.
import { createAgent, send } from './http-load.js';
import {
  assetBodies,
  type Expected,
  programSetup,
  ruleBodies,
  tierBody,
  type WorkloadIds,
} from './workload.js';

async function call(port: number, key: string, method: string, path: string, body?: unknown) {
  const agent = createAgent(1);
  const response = await send(agent, port, {
    method,
    path,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'x-api-key': key },
  });
  agent.destroy();
  if (response.status >= 300)
    throw new Error(`${method} ${path} answered ${response.status}: ${response.body}`);
  return JSON.parse(response.body) as Record<string, unknown>;
}

export async function setUpProgram(port: number, key: string): Promise<WorkloadIds> {
  const program = await call(port, key, 'POST', '/v1/programs', programSetup().program);
  const programId = String(program.id);
  const assets = assetBodies(programId);
  const points = await call(port, key, 'POST', '/v1/assets', assets.points);
  const lots = await call(port, key, 'POST', '/v1/assets', assets.lots);
  const ids = { programId, pointsAssetId: String(points.id), lotAssetId: String(lots.id) };
  for (const rule of ruleBodies(ids)) await call(port, key, 'POST', '/v1/rules', rule);
  await call(port, key, 'POST', `/v1/programs/${programId}/tiers`, tierBody()).catch((error: Error) => {
    process.stderr.write(`bench: tier not created (${error.message.slice(0, 120)})\n`);
  });
  return ids;
}

function toMinor(amount: string): bigint {
  const [whole = '0', fraction = ''] = amount.split('.');
  return BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2));
}

/** Every participant's available balances must equal what the generator predicted. */
export async function verifyBalances(port: number, key: string, ids: WorkloadIds, expected: Expected) {
  let matched = 0;
  const mismatches: string[] = [];
  const externalIds = [...expected.purchases.keys()];
  const lanes = 8;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = lane; i < externalIds.length; i += lanes) {
        const externalId = externalIds[i] ?? '';
        const found = await call(port, key, 'GET', `/v1/participants?external_id=${externalId}`);
        const id = (found.data as { id: string }[])[0]?.id;
        const participant = id === undefined ? {} : await call(port, key, 'GET', `/v1/participants/${id}`);
        const balances = (participant.balances ?? []) as { asset_id: string; available: string }[];
        const of = (assetId: string) =>
          toMinor(balances.find((b) => b.asset_id === assetId)?.available ?? '0');
        const ok =
          of(ids.pointsAssetId) === (expected.points.get(externalId) ?? 0n) &&
          of(ids.lotAssetId) === (expected.miles.get(externalId) ?? 0n);
        if (ok) matched += 1;
        else if (mismatches.length < 5) mismatches.push(externalId);
      }
    }),
  );
  return { checked: externalIds.length, matched, mismatches };
}
