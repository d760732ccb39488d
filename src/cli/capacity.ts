/**
 * `tachyon capacity --users N --requests-per-user R [--target-p95 MS] [--headroom 0.3]
 * [--measurements FILE] [--write-docs]`, or `tachyon capacity --mix FILE` (a load file: sessions,
 * requests/s, orders/min, symbols; flags given beside it win): instances, cores, memory, database
 * connections and Redis memory for a load, from the USL fitted to `npm run bench:capacity`'s
 * measurements, beside seed 004's linear formula; with a mix, orders are also checked against one
 * instance's measured durable order rate (bench:orders).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MEASUREMENTS, loadMeasurements, REDIS_BYTES_PER_USER } from '../capacity/measurements.ts';
import { checkOrders, DEFAULT_ORDER_MEASUREMENTS, loadMix } from '../capacity/mix.ts';
import { planCapacity } from '../capacity/plan.ts';
import { renderMarkdown, renderSvg, spliceGenerated } from '../capacity/report.ts';
import { TachyonError } from '../kernel/errors.ts';

const DOC = 'docs/capacity-planning.md';
const USAGE = 'usage: tachyon capacity (--users N --requests-per-user R | --mix FILE) [--target-p95 MS] [--headroom 0.3] [--measurements FILE] [--orders-measurements FILE] [--redis-bytes-per-user B] [--write-docs]';

function positive(name: string, raw: string | undefined, fallback?: number): number {
  const value = raw === undefined ? fallback : Number(raw);
  if (value === undefined || !Number.isFinite(value) || value <= 0) throw new TachyonError(400, 'bad_request', `--${name} must be a positive number (got ${raw ?? 'nothing'})\n${USAGE}`);
  return value;
}

export async function run(argv: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        users: { type: 'string' },
        'requests-per-user': { type: 'string' },
        'target-p95': { type: 'string' },
        headroom: { type: 'string' },
        measurements: { type: 'string', default: DEFAULT_MEASUREMENTS },
        'redis-bytes-per-user': { type: 'string' },
        'write-docs': { type: 'boolean', default: false },
        mix: { type: 'string' },
        'orders-measurements': { type: 'string', default: DEFAULT_ORDER_MEASUREMENTS },
      },
    });
    const mix = values.mix ? loadMix(values.mix) : undefined;
    const perUser = mix ? String(mix.requestsPerSecond / mix.sessions) : undefined;
    const headroom = Number(values.headroom ?? mix?.headroom ?? 0.3);
    if (!(headroom >= 0 && headroom < 1)) throw new TachyonError(400, 'bad_request', `--headroom must be from 0 to below 1 (got ${values.headroom})`);
    const question = {
      users: positive('users', values.users ?? (mix ? String(mix.sessions) : undefined)),
      requestsPerUserPerSecond: positive('requests-per-user', values['requests-per-user'] ?? perUser),
      targetP95Ms: positive('target-p95', values['target-p95'], mix?.targetP95Ms ?? 100),
      headroom,
    };
    const measurements = loadMeasurements(values.measurements);
    measurements.profile.redisBytesPerUser = positive('redis-bytes-per-user', values['redis-bytes-per-user'], REDIS_BYTES_PER_USER);
    const answer = planCapacity(measurements.profile, question);
    const orders = mix ? { mix, ...checkOrders(mix, headroom, values['orders-measurements']) } : undefined;
    console.log(JSON.stringify({ question, answer, ...(orders ? { orders } : {}), fit: measurements.profile.fit, measured: measurements.date }, null, 2));
    if (values['write-docs']) {
      const svg = 'capacity-usl.svg';
      writeFileSync(join(dirname(DOC), svg), renderSvg(measurements));
      writeFileSync(DOC, spliceGenerated(readFileSync(DOC, 'utf8'), renderMarkdown(measurements, question, answer, svg, orders)));
      console.error(`wrote ${DOC} and ${join(dirname(DOC), svg)}`);
    }
    return answer.infeasible ? 1 : 0;
  } catch (error) {
    if (error instanceof TachyonError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`tachyon capacity: ${(error as Error).message}`);
      return 2;
    }
    throw error;
  }
}
