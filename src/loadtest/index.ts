/** Public surface of the load-testing framework (for the CLI subcommand and the admin API). */
export { runLoadTest, checkRun, resolveExecutor } from './run.ts';
export type { RunOptions, ScenarioSource } from './run.ts';
export { defineScenario } from './scenario.ts';
export type { Scenario, ScenarioOptions, ExecutorConfig, IterationContext, SetupContext, ThresholdInput, Stage, ThinkTime } from './scenario.ts';
export type { RunResult, MetricSummary, EndpointSummary, TimelinePoint } from './results.ts';
export { parseThresholds, evaluateThresholds } from './thresholds.ts';
export type { Threshold, ThresholdResult } from './thresholds.ts';
export { saveBaseline, loadBaseline, toBaseline, compareWithBaseline } from './baseline.ts';
export type { Baseline, CompareOptions, Comparison, MetricDelta } from './baseline.ts';
export { DEFAULT_GUARDRAILS, GuardrailError } from './guardrails.ts';
export type { Guardrails } from './guardrails.ts';
export { ProgressPrinter, formatProgress } from './progress.ts';
export type { Progress } from './progress.ts';
export { formatSummary, formatComparison, toJson, writeJsonResults, renderHtmlReport, writeHtmlReport } from './report/index.ts';
