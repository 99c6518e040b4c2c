/** Provenance: lineage records written beside the data, read back, traced and verified (docs/lineage.md). */
export {
  type CompactedDay,
  type CompactLineageOptions,
  type CompactReport,
  compactLineage,
} from './compact.ts';
export { GroupLog, type GroupLogOptions, type IntentLog } from './group-log.ts';
export { GroupedLineageLog, lineageEnabled } from './grouped.ts';
export { LINEAGE_PREFIX, LineageLog, outputUrl, type PlannedWrite, type WrittenOutput } from './log.ts';
export {
  type DatasetRef,
  datasetName,
  newRunId,
  OPENLINEAGE_SCHEMA_URL,
  type RunEventType,
  runEvent,
  type SluiceRun,
} from './openlineage.ts';
export { openLineageEventsOf } from './openlineage-run.ts';
export {
  createOpenLineageEmitter,
  type OpenLineageEmitter,
  type OpenLineageTarget,
  openLineageEndpoint,
} from './openlineage-transport.ts';
export { currentWrite, indexRecords, type LineageIndex, type LineageWrite, readLineage } from './read.ts';
export {
  type IntentRecord,
  LINEAGE_FORMAT_VERSION,
  type LineageInput,
  type LineageRecord,
  lineageInputSchema,
  lineageRecordSchema,
  parseLineageLine,
} from './record.ts';
export { type LineageNode, type LineageOfOptions, lineageOf, lineageUrl } from './trace.ts';
export { type VerifiedOutput, type VerifyReport, type VerifyStatus, verifyLineage } from './verify.ts';
export { writtenText } from './written.ts';
