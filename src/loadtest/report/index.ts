export { formatSummary, formatComparison, formatMs, table } from './text.ts';
export { toJson, writeJsonResults } from './json.ts';
export { renderHtmlReport, writeHtmlReport } from './html.ts';
