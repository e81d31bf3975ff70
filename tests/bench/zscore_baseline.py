#!/usr/bin/env python3
"""Peer of `scripts/bench anomaly`: a rolling z-score detector.

For each point, z = (value - mean) / stdev over the previous WINDOW points
(population standard deviation; the point itself is not in the window, and
nothing is scored until the window is full). An alarm is raised when
|z| > THRESHOLD, then no further alarm is raised for SILENCE minutes (by
timestamp). A window with a standard deviation of 0 raises no alarm.

Usage: zscore_baseline.py [--window 288] [--threshold 4] [--silence 120]
                          DATA_DIR SERIES...
SERIES are NAB keys (`<category>/<name>.csv`) under DATA_DIR. Writes
`series,timestamp` (one row per alarm) to stdout. Standard library only.
"""

import argparse
import csv
import math
import os
import sys
from collections import deque
from datetime import datetime, timedelta


def parse_ts(s):
    s = s.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"):
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            pass
    raise ValueError("unparseable timestamp %r" % s)


def detect(rows, window, threshold, silence):
    """rows: (timestamp text, value) in stream order; returns alarm timestamps."""
    buf = deque()
    total = squares = 0.0
    quiet_until = None
    alarms = []
    for n, (ts_text, value) in enumerate(rows):
        t = parse_ts(ts_text)
        if len(buf) == window:
            mean = total / window
            sd = math.sqrt(max(squares / window - mean * mean, 0.0))
            if sd > 1e-12 * max(1.0, abs(mean)) and abs(value - mean) / sd > threshold \
                    and (quiet_until is None or t >= quiet_until):
                alarms.append(ts_text)
                quiet_until = t + silence
        buf.append(value)
        total += value
        squares += value * value
        if len(buf) > window:
            old = buf.popleft()
            total -= old
            squares -= old * old
        if n % window == 0:  # bound the rounding drift of the running sums
            total = math.fsum(buf)
            squares = math.fsum(v * v for v in buf)
    return alarms


def main(argv=None):
    ap = argparse.ArgumentParser(description="Rolling z-score anomaly detector (benchmark peer).")
    ap.add_argument("--window", type=int, default=288)
    ap.add_argument("--threshold", type=float, default=4.0)
    ap.add_argument("--silence", type=float, default=120.0, help="minutes without alarms after one")
    ap.add_argument("data_dir")
    ap.add_argument("series", nargs="+")
    a = ap.parse_args(argv)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["series", "timestamp"])
    for key in a.series:
        path = os.path.join(a.data_dir, key)
        with open(path, newline="") as f:
            r = csv.reader(f)
            header = [h.strip() for h in next(r)]
            ti, vi = header.index("timestamp"), header.index("value")
            rows = []
            for line, row in enumerate(r, start=2):
                if not row:
                    continue
                try:
                    rows.append((row[ti], float(row[vi])))
                except (ValueError, IndexError):
                    print("%s:%d: bad row %r" % (path, line, row), file=sys.stderr)
                    return 2
        for ts in detect(rows, a.window, a.threshold, timedelta(minutes=a.silence)):
            out.writerow([key, ts])
    return 0


if __name__ == "__main__":
    sys.exit(main())
