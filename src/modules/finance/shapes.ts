/**
 * The finance module's HTTP shapes that another module's facade answers with too (the anchor
 * module's commission-rate and withdrawal routes are "as finance's"): one definition, so the two
 * cannot drift apart.
 */
export { balanceOut, balanceSchema } from './balances/balance.schemas';
export { effectiveRateOut, effectiveRateSchema, rateOut, rateSchema } from './commission/commission.schemas';
export {
  APPLY_DESCRIPTION,
  appliedOut,
  appliedSchema,
  requestIdField,
  statusFilter,
  withdrawalAmount,
  withdrawalOut,
  withdrawalSchema,
} from './withdrawals/withdrawal.schemas';
export { WITHDRAWAL_STATUSES, type WithdrawalStatus } from './withdrawals/withdrawals.repository';
