export { DataWriter, TASK_SUBDIRS } from './data-writer.ts';
export { fileStamp } from './output.ts';
export { openOutput, readOutputBytes, readOutputRows } from './read-back.ts';
export type * from './types.ts';
