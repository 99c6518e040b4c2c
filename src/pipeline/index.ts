export { DataCatalog, type DatasetInfo } from './catalog.ts';
export { type DemoOptions, type DemoResult, runDemo, writeDemoProject } from './demo.ts';
export {
  type ErrorContext,
  ErrorHandler,
  type ErrorHandlerOptions,
  type HandledError,
} from './error-handler.ts';
export {
  DataIngester,
  type IngestCsvOptions,
  type IngestFileOutcome,
  type IngestResult,
  ROOT_SOURCE,
} from './ingester.ts';
export { type EnvManifest, LAYERS, Lake, type LakeFile, MANIFEST_KEY } from './lake.ts';
export { type DatasetRecord, readLoadRecord } from './load-records.ts';
export {
  downstreamOf,
  findReferences,
  loadModels,
  type ModelDef,
  orderModels,
  parseModel,
} from './models.ts';
export { type PipelineOptions, storageOptionsFrom } from './options.ts';
export {
  PIPELINE_MODES,
  Pipeline,
  type PipelineMode,
  type PipelineStatus,
  type RunOptions,
} from './pipeline.ts';
export { DataPromoter, type PromoteOptions, type PromotionResult } from './promoter.ts';
export { type PruneOptions, type PruneResult, pruneVersions } from './prune.ts';
export type { RunRecord, StepRecord } from './run-history.ts';
export {
  COLUMN_TYPES,
  type ColumnSchema,
  type ColumnTypeName,
  duckdbType,
  loadSchemaFile,
  parseSchema,
} from './schema.ts';
export { type ModelOutcome, Transformer, type TransformRunOptions } from './transformer.ts';
