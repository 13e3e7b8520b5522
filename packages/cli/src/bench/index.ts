export {
  type ArrivalStage,
  type ArrivalsInput,
  type ArrivalsOptions,
  arrivalsSchema,
  type BenchTarget,
  type ConcurrencyStage,
  createPoissonGaps,
  planArrivals,
  type RateStage,
} from './arrivals.js';
export type { BenchResult, BenchStepResult } from './bench-result.js';
export { type BenchProgress, type RunBenchOptions, runBench } from './bench-runner.js';
export { type CompareSetupsOptions, compareRoutingSetups } from './compare-setups.js';
export { type HtmlReportOptions, renderHtmlReport } from './html-report.js';
export type { LatencySummary } from './latency-samples.js';
export {
  createMultiTurnWorkload,
  type MultiTurnWorkloadInput,
  type MultiTurnWorkloadOptions,
  multiTurnWorkloadSchema,
} from './multi-turn-workload.js';
export { formatTarget, type NamedBenchResult } from './named-result.js';
export {
  type OracleHitRate,
  type OracleOptions,
  type OracleStepHitRate,
  oracleAssumptions,
  oracleOptionsSchema,
  promptUnits,
  replayOracle,
} from './oracle-hit-rate.js';
export { formatOracleSummary } from './oracle-summary.js';
export {
  createProgressBar,
  formatProgressLine,
  type ProgressBar,
  type ProgressBarOptions,
  type ProgressStream,
} from './progress-bar.js';
export {
  createPromptVocabulary,
  type PromptVocabulary,
  type PromptVocabularyOptions,
} from './prompt-vocabulary.js';
export {
  createRandomWorkload,
  type RandomWorkloadInput,
  type RandomWorkloadOptions,
  randomWorkloadSchema,
} from './random-workload.js';
export { formatBenchTable, formatComparisonTable } from './report-table.js';
export {
  type BenchResultsDocument,
  createResultsDocument,
  formatResultsJson,
  type ResultsDocumentExtras,
} from './results-json.js';
export { roundRobinPickerParameters, roundRobinPickerPlugin } from './round-robin-picker.js';
export {
  parseRoutingSetupList,
  type RoutingSetup,
  type RoutingSetupName,
  routingSetupNames,
  routingSetupPath,
  routingSetups,
} from './routing-setups.js';
export { createSeededRandom, type SeededRandom } from './seeded-random.js';
export {
  createSharedPrefixWorkload,
  type SharedPrefixWorkloadInput,
  type SharedPrefixWorkloadOptions,
  sharedPrefixWorkloadSchema,
} from './shared-prefix-workload.js';
export {
  endpointUrl,
  type RequestErrorKey,
  type RequestOutcome,
  type StreamingRequestOptions,
  sendStreamingRequest,
} from './streaming-client.js';
export type {
  BenchChatMessage,
  BenchRequest,
  ChatBenchRequest,
  CompletionBenchRequest,
  Workload,
  WorkloadCompletion,
} from './workload.js';
export {
  type CreateWorkloadOptions,
  createWorkload,
  type WorkloadInput,
  type WorkloadOptions,
  type WorkloadType,
  workloadOptionsSchema,
  workloadTypes,
} from './workloads.js';
