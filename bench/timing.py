#!/usr/bin/env python3
"""Time commands interleaved, warm, and print medians and their ratio.

usage: timing.py [--values] RUNS NAME_A CMD_A NAME_B CMD_B [TARGET_MS]
Each CMD is run through `sh -c`; output is discarded. Interleaving A and B run by run
keeps drift on a shared machine from favouring either side. With --values, one line for a
script to read: A's and B's medians in ms and the median of the runs' A/B ratios.
"""
import statistics
import subprocess
import sys
import time


def once(cmd):
    # Output goes to a pipe, not /dev/null: GNU grep stops at the first match when its
    # output is /dev/null, which would time a different job.
    t = time.perf_counter()
    subprocess.run(["sh", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t) * 1000.0


def main():
    args = sys.argv[1:]
    values = args[:1] == ["--values"]
    if values:
        args = args[1:]
    runs = int(args[0])
    name_a, cmd_a, name_b, cmd_b = args[1:5]
    target = float(args[5]) if len(args) > 5 else None
    for _ in range(3):  # warm the page cache
        once(cmd_a)
        once(cmd_b)
    a, b = [], []
    for _ in range(runs):
        a.append(once(cmd_a))
        b.append(once(cmd_b))
    ma, mb = statistics.median(a), statistics.median(b)
    if values:
        pairs = statistics.median(x / y for x, y in zip(a, b))
        print(f"{ma:.0f} {mb:.0f} {pairs:.2f}")
        return
    print(f"  {name_a:<34} median {ma:8.2f} ms")
    print(f"  {name_b:<34} median {mb:8.2f} ms")
    print(f"  ratio {name_a} / {name_b}: {ma / mb:.3f}")
    if target is not None:
        verdict = "ok" if ma <= target else "OVER TARGET"
        print(f"  target for {name_a}: {target:g} ms -> {verdict}")


if __name__ == "__main__":
    main()
