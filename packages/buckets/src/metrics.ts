/**
 * The service's Prometheus metrics, in a registry of its own; queue counts are read when scraped.
 */

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Store } from "./store/index.js";

/** The service's Prometheus metrics, in a registry of its own (several apps can share a process). */
export function createMetrics(store: Store) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requestDuration = new Histogram({
    name: "buckets_http_request_duration_seconds",
    help: "HTTP request duration by route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const deposits = new Counter({
    name: "buckets_deposits_total",
    help: "Works deposited",
    registers: [registry],
  });
  const claims = new Counter({
    name: "buckets_claims_total",
    help: "Works claimed by workers",
    registers: [registry],
  });
  const claimDuration = new Histogram({
    name: "buckets_claim_duration_seconds",
    help: "Time a withdraw spends claiming, waiting for its turn included (long-poll waits not)",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const requeues = new Counter({
    name: "buckets_requeues_total",
    help: "Failed attempts put back in the queue for a retry",
    registers: [registry],
  });
  const expiries = new Counter({
    name: "buckets_expiries_total",
    help: "Running attempts whose lease or timeout ran out",
    registers: [registry],
  });
  const failures = new Counter({
    name: "buckets_final_failures_total",
    help: "Works that failed with no retries left",
    registers: [registry],
  });
  const cacheHits = new Counter({
    name: "buckets_cache_hits_total",
    help: "Works with cache set answered from an earlier success with their key, without running",
    registers: [registry],
  });
  const cacheMisses = new Counter({
    name: "buckets_cache_misses_total",
    help: "Works with cache set queued to run: no usable success had their key (or a rerun named them)",
    registers: [registry],
  });
  const resultsDropped = new Counter({
    name: "buckets_results_dropped_total",
    help: "Attempts whose results were over the 4 MB cap, reported without them (a warning: the work kept its status unless its config.resultsOverCap is fail)",
    registers: [registry],
  });
  const waiters = new Gauge({
    name: "buckets_longpoll_waiters",
    help: "Withdraw requests waiting for work",
    registers: [registry],
  });
  new Gauge({
    name: "buckets_works",
    help: "Works by pipeline and status",
    labelNames: ["pipeline", "status"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { pipeline, status, n } of await store.countByPipelineAndStatus()) {
        this.set({ pipeline, status }, n);
      }
    },
  });

  return {
    registry,
    requestDuration,
    deposits,
    claims,
    claimDuration,
    requeues,
    expiries,
    failures,
    cacheHits,
    cacheMisses,
    resultsDropped,
    waiters,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
