#!/usr/bin/env python3
"""Parses a /metrics body with prometheus_client's text-format parser (Debian's
python3-prometheus-client, an implementation independent of prometheus-cpp) and checks
Prometheus's naming conventions (docs/metrics.md). Writes every sample as JSON
{"name{label=value,...}": value} to OUT. Exits 1 with the reasons on stderr when the text does not
parse or a convention is broken.

Usage: check_metrics.py METRICS_TEXT_FILE OUT_JSON_FILE"""
import json
import math
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
UNITS = ("_seconds", "_bytes")


def key(name, labels):
    return name + "{" + ",".join(f"{k}={labels[k]}" for k in sorted(labels)) + "}"


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    problems = []
    # The TYPE lines as written (the parser strips _total from counter family names).
    declared = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) != 4:
                problems.append(f"malformed TYPE line: {line!r}")
                continue
            if parts[2] in declared:
                problems.append(f"family {parts[2]} declared twice")
            declared[parts[2]] = parts[3]
    for name, kind in declared.items():
        if not name.startswith("owcore_"):
            problems.append(f"{name}: no owcore_ prefix")
        if kind == "counter" and not name.endswith("_total"):
            problems.append(f"{name}: a counter without the _total suffix")
        if kind != "counter" and name.endswith("_total"):
            problems.append(f"{name}: a {kind} with the _total suffix")
        if kind == "histogram" and not name.endswith(UNITS):
            problems.append(f"{name}: a histogram without a base unit suffix {UNITS}")
        if kind not in ("counter", "gauge", "histogram"):
            problems.append(f"{name}: unexpected type {kind}")

    samples = {}
    families = 0
    try:
        for fam in text_string_to_metric_families(text):
            families += 1
            if not fam.documentation:
                problems.append(f"{fam.name}: no HELP text")
            if not NAME.match(fam.name):
                problems.append(f"{fam.name}: invalid metric name")
            buckets = {}
            for s in fam.samples:
                for label in s.labels:
                    if not LABEL.match(label) or label.startswith("__"):
                        problems.append(f"{s.name}: invalid label name {label!r}")
                if math.isnan(s.value) or s.value < 0:
                    problems.append(f"{key(s.name, s.labels)}: value {s.value}")
                k = key(s.name, s.labels)
                if k in samples:
                    problems.append(f"{k}: duplicate sample")
                samples[k] = s.value
                if fam.type == "histogram" and s.name.endswith("_bucket"):
                    series = {n: v for n, v in s.labels.items() if n != "le"}
                    buckets.setdefault(key(fam.name, series), []).append((float(s.labels["le"]), s.value))
            for series, bs in buckets.items():
                counts = [c for _, c in bs]
                if counts != sorted(counts):
                    problems.append(f"{series}: bucket counts are not cumulative")
                if not bs or not math.isinf(bs[-1][0]):
                    problems.append(f"{series}: no +Inf bucket last")
                count_key = series.replace("{", "_count{", 1)
                if samples.get(count_key) != bs[-1][1]:
                    problems.append(f"{series}: _count differs from the +Inf bucket")
    except Exception as e:  # the parser rejects malformed text with ValueError and friends
        problems.append(f"the text does not parse: {type(e).__name__}: {e}")

    if families != len(declared):
        problems.append(f"{families} families parsed but {len(declared)} TYPE lines")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        json.dump(samples, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
