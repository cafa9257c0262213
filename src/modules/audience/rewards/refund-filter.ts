import type { Knex } from 'knex';

/**
 * Leaves refunded rewards out of a query over `recharge`: an anti-join on `recharge_refund`'s primary
 * key, one probe of a small table per reward the query's index yields, so covering-index reads stay
 * index reads. `idColumn` names the reward id in the outer query (`recharge.id`, or its alias's).
 */
export function notRefunded<Q extends Knex.QueryBuilder>(query: Q, idColumn = 'recharge.id'): Q {
  return query.whereNotExists(function refunded(this: Knex.QueryBuilder) {
    void this.select('recharge_refund.recharge_id').from('recharge_refund').whereRaw('recharge_refund.recharge_id = ??', [idColumn]);
  }) as Q;
}

/** The same anti-join as SQL text, for statements written by hand (`alias`: the reward table's name there). */
export function notRefundedSql(alias: string): string {
  return `NOT EXISTS (SELECT 1 FROM recharge_refund rf WHERE rf.recharge_id = ${alias}.id)`;
}

/** A select column, 1 when the reward is refunded and 0 when not (the record lists show every reward with its state). */
export function refundedColumn(db: Knex, idColumn = 'recharge.id'): Knex.Raw {
  return db.raw('(CASE WHEN EXISTS (SELECT 1 FROM recharge_refund rf WHERE rf.recharge_id = ??) THEN 1 ELSE 0 END) AS refunded', [
    idColumn,
  ]);
}
