#!/usr/bin/env node
/**
 * P5 on PostgreSQL, explained (docs/performance.md, P5): what the batched token lookup costs
 * PostgreSQL itself with 1,000 tokens stored and with 1,000,000. Seeds two throw-away databases
 * as `npm run bench` does, then runs the server's own lookup statement (the one
 * tokens/kysely-token-lookup.ts prepares: `digest = any($1)`, joined to the owner) for batches of
 * 25 load tokens under EXPLAIN (ANALYZE, BUFFERS), and prints per database: the index's height,
 * the buffers each probe touches, and the execution time per token. The server's side of a
 * lookup (parsing the rows, building the answer) does not depend on how many tokens are stored.
 *
 *   node bench/p5-postgres-plan.mjs          LATCHKEY_BENCH_PG_URL as for npm run bench
 */
import pg from 'pg';
import { hashToken } from '@latchkey/contract/token';
import { seedInWorker } from './lib/seed-worker.mjs';

const adminUrl = process.env.LATCHKEY_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BATCH = 25;
const BATCHES = 40;

/** The lookup as the server sends it (kysely-token-lookup.ts, tokensForAuthQuery), read from its compiled form. */
async function lookupSql(databaseUrl) {
  const { openDatabase } = await import('../packages/server/dist/database/open-database.js');
  const database = openDatabase(databaseUrl);
  try {
    const captured = [];
    const { createTokenLookup } = await import('../packages/server/dist/tokens/kysely-token-lookup.js');
    const spy = { ...database, runHotQueryRows: async (sql) => (captured.push(sql), []), poolSize: database.poolSize };
    await createTokenLookup(spy)(Buffer.alloc(32));
    return captured[0];
  } finally {
    await database.close();
  }
}

async function main() {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const prefix = `latchkey_p5plan_${process.pid}`;
  const results = [];
  try {
    for (const [label, total] of [['1k', 1_000], ['1M', 1_000_000]]) {
      const name = `${prefix}_${label.toLowerCase()}`;
      await admin.query(`create database ${name}`);
      try {
        const url = new URL(adminUrl);
        url.pathname = `/${name}`;
        const started = Date.now();
        const seeded = await seedInWorker({ databaseUrl: url.toString(), total, loadTokens: 1_000, extraTokens: 0 });
        const sql = await lookupSql(url.toString());
        const client = new pg.Client({ connectionString: url.toString() });
        await client.connect();
        try {
          await client.query('analyze');
          const height = await indexHeight(client);
          const digests = seeded.tokens.map((token) => hashToken(token));
          let executionMs = 0;
          let hits = 0;
          let reads = 0;
          for (let round = 0; round < 2; round++) {
            // Round 0 warms the cache as the bench's warm-up does; round 1 is reported.
            executionMs = 0;
            hits = 0;
            reads = 0;
            for (let batch = 0; batch < BATCHES; batch++) {
              const slice = digests.slice((batch * BATCH) % digests.length, ((batch * BATCH) % digests.length) + BATCH);
              const { rows } = await client.query(`explain (analyze, buffers, format json) ${sql}`, [slice]);
              const plan = rows[0]['QUERY PLAN'][0];
              executionMs += plan['Execution Time'];
              hits += plan.Plan['Shared Hit Blocks'] ?? 0;
              reads += plan.Plan['Shared Read Blocks'] ?? 0;
            }
          }
          const lookups = BATCH * BATCHES;
          results.push({ label, total, seconds: (Date.now() - started) / 1000, height, perToken: (executionMs * 1000) / lookups, buffers: hits / lookups, reads });
          console.log(
            `${label.padEnd(3)} ${total.toLocaleString('en-US').padStart(9)} tokens: tokens_digest index height ${height}; ` +
              `per token looked up ${((executionMs * 1000) / lookups).toFixed(1)} µs of execution, ${(hits / lookups).toFixed(1)} buffers hit, ${reads} read from disk`,
          );
        } finally {
          await client.end();
        }
      } finally {
        await admin.query(`drop database if exists ${name} with (force)`);
      }
    }
    const [small, big] = results;
    console.log(`1M/1k: execution per token ×${(big.perToken / small.perToken).toFixed(2)}, buffers per token +${(big.buffers - small.buffers).toFixed(1)}`);
  } finally {
    await admin.end();
  }
}

/** Levels of the unique index on tokens.digest: the root page's level + 1 (from its metapage). */
async function indexHeight(client) {
  const { rows } = await client.query(
    `select indexrelid::regclass::text as name from pg_index where indrelid = 'tokens'::regclass and indisunique
       and pg_get_indexdef(indexrelid) like '%(digest)%'`,
  );
  const index = rows[0]?.name;
  if (!index) return 'unknown';
  try {
    await client.query('create extension if not exists pageinspect');
    const meta = await client.query('select level from bt_metap($1)', [index]);
    return Number(meta.rows[0].level) + 1;
  } catch {
    return 'unknown (pageinspect not available)';
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
