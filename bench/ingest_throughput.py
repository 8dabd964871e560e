"""Ingest throughput and freshness on the embedded stack (Tansu + qdrant-edge + the model).

    python -m bench.ingest_throughput                      # 2000 upserts, 100 freshness probes
    python -m bench.ingest_throughput --items 500 --probes 50 --model /tmp/tinymodel
    python -m bench.ingest_throughput --items 6000 --probes 30 --load-fraction 0.5   # freshness at half load

Two phases on one running stack (`fashionrec dev`'s, via embedded_stack):

1. throughput: N upserts published as one burst; items/s from the first event
   consumed to the last one indexed (read from the worker's counters);
2. freshness: single upserts published one at a time on the idle stream, each
   stamped with updated_at = publish time; freshness is publish time to the
   moment the index returns that updated_at (searchable), polled in-process.
   (In the burst, freshness is just queueing behind the backlog.) With --load-fraction f, a
   background producer streams other upserts at f x the burst's throughput meanwhile.

Wall-clock figures of this machine; other processes share the CPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from prometheus_client.metrics import MetricWrapperBase

from fashionrec_cli.dev_command import add_stack_arguments, embedded_stack
from fashionrec.data.synthetic import generate_catalog
from fashionrec.events import kafka
from fashionrec.data.publishing import catalog_items
from fashionrec.events.publish import CatalogItem, publish, upsert_event
from fashionrec.index import CatalogIndex
from fashionrec.telemetry.metrics import IngestMetrics


def _sample(metric: MetricWrapperBase, suffix: str) -> float:
    """The sum over labels of one sample kind (_total, _sum, _count) of a metric."""
    return sum(s.value for family in metric.collect() for s in family.samples if s.name.endswith(suffix))


def _stage_seconds(metrics: IngestMetrics) -> dict[str, float]:
    """Seconds spent so far per ingest stage (decode, encode, upsert, commit)."""
    return {s.labels["stage"]: s.value for family in metrics.stage_latency.collect() for s in family.samples
            if s.name.endswith("_sum")}


def _devices(metrics: IngestMetrics) -> str:
    return ",".join(sorted({s.labels["device"] for f in metrics.encoded_images.collect() for s in f.samples
                            if s.name.endswith("_total")})) or "?"


def burst_throughput(metrics: IngestMetrics, send: Callable[[int], object], n: int, timeout_s: float) -> tuple[float, float]:
    """Publishes n upserts at once; returns (items/s first consumed → last indexed, seconds)."""
    consumed0, indexed0 = _sample(metrics.consumed, "_total"), _sample(metrics.indexed, "_total")
    first_consumed: list[float] = []
    done = threading.Event()

    def watch() -> None:  # counters are the only clock the worker exposes; 5 ms resolution is plenty
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not first_consumed and _sample(metrics.consumed, "_total") > consumed0:
                first_consumed.append(time.monotonic())
            if _sample(metrics.indexed, "_total") - indexed0 >= n:
                done.set()
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    send(n)
    watcher.join()
    if not done.is_set():
        raise TimeoutError(f"only {_sample(metrics.indexed, '_total') - indexed0:.0f}/{n} indexed in {timeout_s}s")
    seconds = time.monotonic() - first_consumed[0]
    return n / seconds, seconds


def probe_freshness(index: CatalogIndex, producer, topic: str, items: list[CatalogItem],
                    timeout_s: float = 30.0) -> list[float]:
    """Seconds from publish (the event's updated_at) to searchable, one event at a time."""
    out = []
    for item in items:
        stamp = time.time()
        publish(producer, topic, [upsert_event(item, stamp)])
        deadline = time.monotonic() + timeout_s
        while index.updated_at([item.sku]).get(item.sku, 0.0) < stamp - 1e-6:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{item.sku} not searchable after {timeout_s}s")
            time.sleep(0.002)
        out.append(time.time() - stamp)
    return out


def paced_stream(producer, topic: str, items: list[CatalogItem], rate: float, stop: threading.Event) -> int:
    """Publishes upserts of items, round robin, at `rate` per second until stop is set; returns how many."""
    sent, started = 0, time.monotonic()
    while not stop.is_set():
        due = int((time.monotonic() - started) * rate) - sent
        if due > 0:
            batch = [items[(sent + i) % len(items)] for i in range(due)]
            publish(producer, topic, [upsert_event(item, time.time()) for item in batch])
            sent += due
        stop.wait(0.01)
    return sent


def table(rows: dict[str, str]) -> str:
    return "\n".join(["| " + " | ".join(rows) + " |", "|" + " --- |" * len(rows),
                      "| " + " | ".join(rows.values()) + " |"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_stack_arguments(parser)
    parser.add_argument("--items", type=int, default=2000, help="upserts in the throughput burst")
    parser.add_argument("--probes", type=int, default=100, help="single upserts timed for freshness")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds the burst may take")
    parser.add_argument("--load-fraction", type=float, default=0.0,
                        help="while probing freshness, also stream upserts at this fraction of the burst's "
                             "throughput (0.5: freshness at half load; 0: on the idle stream)")
    parser.set_defaults(data_dir=Path(".fashionrec/bench"), fresh=True, grpc_port=0, metrics_port=0)
    args = parser.parse_args()

    started = time.monotonic()
    items = catalog_items(generate_catalog(args.items, seed=0, image_size=64), range(args.items))
    print(f"catalog of {args.items} generated in {time.monotonic() - started:.1f} s", flush=True)
    with embedded_stack(args) as stack:
        metrics = stack.ingest.metrics
        producer = kafka.producer(stack.kafka)
        topic = stack.kafka.catalog_topic
        try:
            stages0 = _stage_seconds(metrics)
            rate, seconds = burst_throughput(
                metrics, lambda n: publish(producer, topic, [upsert_event(i, time.time()) for i in items[:n]]),
                args.items, args.timeout)
            stages = {k: v - stages0.get(k, 0.0) for k, v in _stage_seconds(metrics).items()}
            batch = _sample(metrics.batch_size, "_sum") / max(1.0, _sample(metrics.batch_size, "_count"))
            stop, streamer = threading.Event(), kafka.producer(stack.kafka)
            background = threading.Thread(target=paced_stream, daemon=True, args=(
                streamer, topic, items[args.probes:] or items, rate * args.load_fraction, stop))
            if args.load_fraction > 0:
                background.start()
            try:
                fresh = probe_freshness(stack.index, producer, topic, items[:args.probes])
            finally:
                stop.set()
                if background.is_alive():
                    background.join()
                streamer.close()
        finally:
            producer.close()
        device = _devices(metrics)
    p50, p99 = np.percentile(fresh, [50, 99])
    print()
    print(table({
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "device": device,
        "model": stack.model_version,
        "max_poll_records": str(stack.kafka.max_poll_records),
        "mean batch": f"{batch:.0f}",
        "N": str(args.items),
        "throughput": f"{rate:.0f} items/s ({seconds:.1f} s)",
        "freshness p50": f"{p50 * 1000:.0f} ms",
        "freshness p99": f"{p99 * 1000:.0f} ms ({len(fresh)} probes"
                         + (f", under {rate * args.load_fraction:.0f} items/s" if args.load_fraction > 0 else "") + ")",
        # Of the burst's wall time: the stages run one after another per batch in the worker.
        "burst time per stage": ", ".join(f"{k} {v / seconds:.0%}" for k, v in sorted(stages.items())),
    }))


if __name__ == "__main__":
    main()
