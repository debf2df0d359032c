/** The two SQL dialects one schema, one migration list and one set of queries serve. */
export type Dialect = 'sqlite' | 'postgres';
