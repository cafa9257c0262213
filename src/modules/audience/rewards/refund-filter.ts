import type { Knex } from 'knex';

/**
 * Leaves refunded rewards out of a query over `recharge`: a LEFT JOIN … IS NULL on `recharge_refund`'s
 * primary key, which MariaDB runs as one eq_ref probe per reward the query's index yields ("Not
 * exists"), so covering-index reads stay index reads. (A NOT EXISTS subquery would be materialized
 * whole on every statement.) No column of `recharge_refund` shares a name with one of `recharge`, so
 * the query's unqualified columns stay unambiguous. `idColumn` names the reward id in the outer query.
 */
export function notRefunded<Q extends Knex.QueryBuilder>(query: Q, idColumn = 'recharge.id'): Q {
  return query.leftJoin('recharge_refund as rf', 'rf.recharge_id', idColumn).whereNull('rf.recharge_id') as Q;
}

/**
 * The same filter as SQL text for statements written by hand: `join` goes after `FROM recharge <alias>`,
 * `where` among its conditions.
 */
export function notRefundedSql(alias: string): { join: string; where: string } {
  const refund = `${alias}_rf`;
  return { join: `LEFT JOIN recharge_refund ${refund} ON ${refund}.recharge_id = ${alias}.id`, where: `${refund}.recharge_id IS NULL` };
}

/** A select column, 1 when the reward is refunded and 0 when not (the record lists show every reward with its state). */
export function refundedColumn(db: Knex, idColumn = 'recharge.id'): Knex.Raw {
  return db.raw('(CASE WHEN EXISTS (SELECT 1 FROM recharge_refund rf1 WHERE rf1.recharge_id = ??) THEN 1 ELSE 0 END) AS refunded', [
    idColumn,
  ]);
}
