export {
  type DuckDBConnection,
  Engine,
  type EngineOptions,
  quoteIdent,
  quoteLiteral,
  wrapDuckDBError,
} from './duckdb.ts';
