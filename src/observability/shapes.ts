/**
 * How other components' stats objects map to Prometheus (see `Metrics.registerCollector`): which
 * leaves are cumulative counters and which maps are keyed by data. Kept here, next to the dashboard
 * and alert rules that read the resulting series, until each component registers its own.
 */
import type { CollectorShape } from './collectors.ts';

/** RealtimeGateway.stats(): `tachyon_websocket_connections`, `tachyon_websocket_messages_out_total`, … */
export const WEBSOCKET_SHAPE: CollectorShape = {
  counters: ['messagesOut', 'bytesOut', 'framesOut', 'conflated', 'dropped', 'slowConsumerCloses', 'reaped', 'errorFrames'],
};
