#!/usr/bin/env python3
"""The cost of verified TLS per test: runs the two halves of tlsfix_bench_fixtures (a suite of N
TlsTest tests with a fresh CA, a server and one verified request each; the same suite with
plaintext servers), interleaved, and prints the median wall time of each, their ratio and the
difference per test.

    bench/fixtures_cost.py build/release/bench/tlsfix_bench_fixtures [--tests 1000] [--runs 5]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time


def wall(binary, suite, tests):
    env = dict(os.environ, TLSFIX_FIXTURE_TESTS=str(tests))
    start = time.perf_counter()
    subprocess.run([binary, f"--gtest_filter=Suite/{suite}.*", "--gtest_brief=1"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if os.environ.get("TLSFIX_BENCH_SMOKE"):  # set when CI runs the commands in docs/benchmarks.md
        args.tests, args.runs = 20, 1
    verified, plaintext = [], []
    for _ in range(args.runs):  # interleaved, so that the machine's drift falls on both alike
        verified.append(wall(args.binary, "Verified", args.tests))
        plaintext.append(wall(args.binary, "Plaintext", args.tests))
    v, p = statistics.median(verified), statistics.median(plaintext)
    print(f"| tests | TlsTest (verified) | plaintext | ratio | verified TLS per test |")
    print(f"|---:|---:|---:|---:|---:|")
    print(f"| {args.tests} | {v:.2f} s | {p:.2f} s | {v / p:.1f}x | {(v - p) / args.tests * 1000:.2f} ms |")


if __name__ == "__main__":
    sys.exit(main())
