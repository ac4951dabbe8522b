// The shape of bench/results/proxy-overhead.json.

import type { LoadResult } from './load.ts';
import type { MachineInfo } from './machine.ts';
import type { histogramSummaryMs, RuntimeStats } from './metrics.ts';
import type { ProfileSummary } from './profile.ts';
import type { RssSampling } from './rss.ts';
import type { TtfbResult } from './stream.ts';

export type HistogramSummary = ReturnType<typeof histogramSummaryMs>;

export interface FixedRateRow {
  rate: number;
  direct: LoadResult;
  proxy: LoadResult;
  /** proxy percentile − direct percentile, ms */
  addedMs: { p50: number; p90: number; p99: number; mean: number };
  /** The sidecar's own triage_proxy_overhead_seconds histogram (Triage only), over the same run. */
  selfReportedHistogramMs?: HistogramSummary;
  /** The sidecar's GCs and event-loop delay over the same runs (Triage only). */
  sidecarRuntime?: RuntimeStats;
}

export interface HeldStreamsReport {
  requested: number;
  allOpenMs: number;
  open: number;
  completed: number;
  failed: number;
  firstError?: string;
  rss: RssSampling;
  inFlightGauge?: number;
}

export interface RssReport {
  idleStartMiB: number;
  idleAfterLoadMiB?: number;
  streams?: HeldStreamsReport;
}

export interface LitellmReport {
  version: string;
  startupSec: number;
  fixed: FixedRateRow[];
  max: LoadResult;
  ttfb: TtfbResult;
  rss: RssReport;
}

export interface TargetCheck {
  name: string;
  target: string;
  value: number;
  unit: string;
  pass: boolean;
}

export interface Results {
  benchmark: 'proxy-overhead';
  command: string;
  quick: boolean;
  date: string;
  elapsedSec: number;
  machine: MachineInfo & {
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
    quietWait: { quiet: boolean; waitedSec: number; load: number[] } | null;
    litellmVersion: string | null;
  };
  setup: Record<string, unknown>;
  targets: TargetCheck[];
  triage: {
    fixedRate: FixedRateRow[];
    max: { direct: LoadResult; triage: LoadResult };
    ttfb: { direct: TtfbResult; triage: TtfbResult; selfReportedStreamOverheadHistogramMs: HistogramSummary };
    rss: RssReport & { mockIdleMiB: number };
  };
  litellm: LitellmReport | null;
  comparison: {
    addedLatencyRatios: { rate: number; litellmAchievedRps: number; triageAchievedRps: number; litellmSustained: boolean; p50: number | null; p99: number | null }[];
    maxThroughputRatio: number | null;
    ttfbAddedP50Ratio: number | null;
  } | null;
  profile: ProfileSummary | null;
}
