// Assets: the units of value (points, miles, cash) and their links to programs. Invariants: symbol
// unique per organization; inventory_mode, issuance_policy and scale never change; archiving is
// permanent and an archived asset takes no new ledger entry; a link becomes permanent with the
// first journal entry of the asset in that program.
export { assetRoutes, assetSchemas } from './assets.routes.js';
export {
  findAssetRow,
  findAssetScales,
  requireLinkedAsset,
  requireUsableAsset,
} from './assets.service.js';
export type { AssetRow } from './assets.store.js';
