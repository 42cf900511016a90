#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Set the figures of the GPUVM benchmark's runs side by side.

Usage: bench_table.py DIR

DIR holds one kernel log per run, named ours-N.log and base-N.log, in
which the benchmark printed lines "gpuvm-bench: KEY VALUE UNIT", each
time figure once per repetition of its workload. A run's figure is the
smallest of its repetitions (the one least disturbed by the machine).
Prints a Markdown table: for each time, the median of the runs on the
base's GPUVM ("mainline") and on ours, their ratio (mainline / ours:
above 1 we are faster) and the spread (largest (max - min) / median of
the two); then sizes and allocations per request, which do not vary.
Exits 1 if a run printed nothing or the two sides measured different
things.
"""

import glob
import os
import re
import statistics
import sys

LINE = re.compile(r'gpuvm-bench: (\S+) (\S+) (\S+)')


def read_runs(directory, impl):
    """One {key: (value, unit)} per log of this implementation."""
    runs = []
    for path in sorted(glob.glob(os.path.join(directory, impl + '-*.log'))):
        figures = {}
        with open(path, errors='replace') as f:
            for line in f:
                m = LINE.search(line)
                if m:
                    key, value = m.group(1), float(m.group(2))
                    if key in figures:
                        value = min(value, figures[key][0])
                    figures[key] = (value, m.group(3))
        if not figures:
            sys.exit('bench_table: no figures in %s' % path)
        runs.append(figures)
    if not runs:
        sys.exit('bench_table: no %s-*.log in %s' % (impl, directory))
    return runs


def values(runs, key):
    return [run[key][0] for run in runs if key in run]


def spread(vals):
    med = statistics.median(vals)
    return (max(vals) - min(vals)) / med * 100 if med else 0.0


def fmt(v):
    return '%.2f' % v if v != int(v) else '%d' % v


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    base = read_runs(sys.argv[1], 'base')
    ours = read_runs(sys.argv[1], 'ours')
    keys = list(dict.fromkeys(k for run in base + ours for k in run))
    missing = [k for k in keys if not values(base, k) or not values(ours, k)]
    if missing:
        sys.exit('bench_table: measured on one side only: ' + ', '.join(missing))

    print('%d runs on each GPUVM; mainline = the base tree\'s, ratio = '
          'mainline / ours (> 1: ours is faster)' % min(len(base), len(ours)))
    print()
    print('| workload | unit | mainline | ours | ratio | spread |')
    print('|---|---|---:|---:|---:|---:|')
    for key in keys:
        if not key.startswith('time.'):
            continue
        b, o = values(base, key), values(ours, key)
        mb, mo = statistics.median(b), statistics.median(o)
        unit = base[0].get(key, ours[0].get(key))[1]
        ratio = mb / mo if mo else float('inf')
        print('| %s | %s | %s | %s | %.2f | %.0f%% |' % (
            key[len('time.'):], unit, fmt(mb), fmt(mo), ratio,
            max(spread(b), spread(o))))
    print()
    print('| size or allocation | unit | mainline | ours |')
    print('|---|---|---:|---:|')
    for key in keys:
        if key.startswith('time.'):
            continue
        unit = base[0].get(key, ours[0].get(key))[1]
        print('| %s | %s | %s | %s |' % (
            key, unit, fmt(statistics.median(values(base, key))),
            fmt(statistics.median(values(ours, key)))))


if __name__ == '__main__':
    main()
