#!/usr/bin/env python3
"""Independent trumpet-curve recomputation (IEC 60601-2-24 arithmetic, engineering use).

Reads a trace CSV with columns t_ms and balance_g (traces/<id>.csv from a run, or any CSV with
those two columns) and prints JSON: for each window, Ep(max), Ep(min) and the window count, and
the mean error A. Written from docs/metrology.md, not from the Rust code, so that the two can
check each other.

usage: trumpet.py TRACE.csv FROM_MS TO_MS RATE_ML_PER_H DENSITY WINDOW_MIN...
"""
import csv
import json
import sys


def main(argv):
    path, from_ms, to_ms, rate, density = argv[1], int(argv[2]), int(argv[3]), float(argv[4]), float(argv[5])
    windows = [float(w) for w in argv[6:]]
    points = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            t = int(row["t_ms"])
            if from_ms <= t <= to_ms and row["balance_g"] != "":
                points.append((t, float(row["balance_g"])))
    points.sort()
    interval_min = (points[1][0] - points[0][0]) / 60000.0
    # Qi for each sample after the first: 60 * dW / (S * d) mL/h.
    flows = [60.0 * (points[i][1] - points[i - 1][1]) / (interval_min * density) for i in range(1, len(points))]

    def error(mean_flow):
        return 100.0 * (mean_flow - rate) / rate

    out = {"windows": [], "mean_error_percent": error(sum(flows) / len(flows))}
    for p in windows:
        m = round(p / interval_min)
        errors = [error(sum(flows[j:j + m]) / m) for j in range(0, len(flows) - m + 1)]
        out["windows"].append({
            "window_min": p,
            "count": len(errors),
            "ep_max_percent": max(errors) if errors else None,
            "ep_min_percent": min(errors) if errors else None,
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
