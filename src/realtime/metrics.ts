/**
 * Gateway metrics: counters, one-second rates and the tick-to-send latency histogram (from the
 * event's own timestamp to the moment its frame is handed to the socket). `stats()` on the gateway
 * returns a plain snapshot for the observability exporter.
 */
import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export class RealtimeMetrics {
  messagesOut = 0;
  bytesOut = 0;
  framesOut = 0;
  /** Quote/portfolio events replaced by a newer one before they were sent. */
  conflated = 0;
  /** Events discarded because their connection closed (slow consumer, reaped, client gone). */
  dropped = 0;
  slowConsumerCloses = 0;
  reaped = 0;
  errorFrames = 0;
  messagesOutPerSec = 0;
  bytesOutPerSec = 0;
  /** Microseconds, 3 significant digits; plain 32-bit buckets because it is written per message. */
  readonly tickToSend: Histogram = hdr.build({ bitBucketSize: 32, numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000 });
  private windowStart = 0;
  private windowMessages = 0;
  private windowBytes = 0;

  recordSent(messages: number, bytes: number): void {
    this.messagesOut += messages;
    this.bytesOut += bytes;
    this.framesOut++;
  }

  recordLatency(ms: number): void {
    // Clamped into the trackable range: a clock step must not throw on the hot path.
    this.tickToSend.recordValue(Math.min(60_000_000, Math.max(1, Math.round(ms * 1000))));
  }

  /** Rolls the one-second rates; called from the flush loop. */
  roll(now: number): void {
    const elapsed = now - this.windowStart;
    if (elapsed < 1000) return;
    if (this.windowStart > 0) {
      this.messagesOutPerSec = Math.round(((this.messagesOut - this.windowMessages) * 1000) / elapsed);
      this.bytesOutPerSec = Math.round(((this.bytesOut - this.windowBytes) * 1000) / elapsed);
    }
    this.windowStart = now;
    this.windowMessages = this.messagesOut;
    this.windowBytes = this.bytesOut;
  }

  latency(): LatencySummary {
    const h = this.tickToSend;
    const ms = (us: number) => us / 1000;
    return {
      count: h.totalCount,
      p50: ms(h.getValueAtPercentile(50)),
      p90: ms(h.getValueAtPercentile(90)),
      p99: ms(h.getValueAtPercentile(99)),
      max: ms(h.maxValue),
    };
  }
}
