#!/usr/bin/env python3
"""Runs a tlsfix benchmark binary and prints each tlsfix figure as a multiple of its OpenSSL floor.

The floor comes from the same run of the same binary, so machine speed cancels out: a ratio of
1.0x means tlsfix adds nothing to the cryptography it cannot avoid.

    bench/compare.py build/h2-rel/bench/tlsfix_bench_ca [--markdown] [-- extra benchmark flags]
    bench/compare.py build/h4-rel/bench/tlsfix_bench_harness [--markdown]

tlsfix_bench_ca rows compare wall time. tlsfix_bench_harness rows compare wall time and the CPU
time of the whole process (client and server threads), because a handshake is two parties.
"""

import argparse
import json
import os
import subprocess
import sys

KEY_TYPES = ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048"]
ISSUER = "ecdsa-p256"  # the default root signs every leaf below
PARSE = "openssl/parse_certificate/ecdsa-p256"


def floors():
    """(tlsfix benchmark, label, [reference benchmarks summed], what the floor is)."""
    rows = []
    for key in KEY_TYPES:
        rows.append((f"ca/create_root/{key}", f"create root {key}",
                     [f"openssl/keygen/{key}", f"openssl/sign/{key}"], "keygen + self-sign"))
        rows.append((f"ca/issue_leaf/{key}", f"issue leaf {key}",
                     [f"openssl/keygen_sign/{key}"], f"keygen + {ISSUER} sign"))
        rows.append((f"ca/issue_leaf_reused_key/{key}", f"issue leaf {key}, reused key",
                     [f"openssl/sign/{ISSUER}"], f"{ISSUER} sign"))
        # What a usable in-memory certificate costs in OpenSSL 3.0: the crypto plus one parse.
        rows.append((f"ca/issue_leaf/{key}", f"issue leaf {key}",
                     [f"openssl/keygen_sign/{key}", PARSE], f"keygen + {ISSUER} sign + certificate parse"))
        rows.append((f"ca/issue_leaf_reused_key/{key}", f"issue leaf {key}, reused key",
                     [f"openssl/sign/{ISSUER}", PARSE], f"{ISSUER} sign + certificate parse"))
    rows.append(("ca/verify/root_leaf", "verify root->leaf",
                 ["openssl/verify/ecdsa-p256"], "1 signature check"))
    rows.append(("ca/verify/root_intermediate_leaf", "verify root->intermediate->leaf",
                 ["openssl/verify/ecdsa-p256"] * 2, "2 signature checks"))
    return rows


def harness_floors():
    """(tlsfix benchmark, label, reference benchmark, what the reference is)."""
    return [
        ("harness/handshake", "verified handshake (TLS 1.3, P-256)", "openssl/handshake",
         "raw OpenSSL client + server, same handshake"),
        ("harness/cold_start", "cold start: CA, leaf, server, first handshake", "openssl/cold_start",
         "raw OpenSSL: keygen x2, sign x2, listen, handshake"),
    ]


# Benchmarks with MeasureProcessCPUTime()->UseRealTime() carry these suffixes in their names.
SUFFIXES = ("/real_time", "/process_time")


def base_name(name):
    for suffix in SUFFIXES:
        name = name.removesuffix(suffix)
    for suffix in SUFFIXES:
        name = name.removesuffix(suffix)
    return name


# Set by tests/docs/doc_examples.py when CI runs the commands in docs/benchmarks.md: each benchmark
# then runs once, for as short a time as it can, after (and so overriding) the caller's flags. The
# commands and this script are what is checked; the figures of such a run mean nothing.
SMOKE_FLAGS = ["--benchmark_min_time=0.001", "--benchmark_repetitions=1"]


def run(binary, extra):
    if os.environ.get("TLSFIX_BENCH_SMOKE"):
        extra = [*extra, *SMOKE_FLAGS]
    out = subprocess.run([binary, "--benchmark_format=json", *extra],
                         check=True, capture_output=True, text=True).stdout
    results, cpu = {}, {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("error_occurred"):
            sys.exit(f"{b['name']}: {b.get('error_message', 'failed')}")
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue  # with --benchmark_repetitions, the median stands for the runs
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b["time_unit"]]
        name = base_name(b["run_name"] if "run_name" in b else b["name"])
        results[name] = b["real_time"] * scale  # microseconds
        cpu[name] = b["cpu_time"] * scale
    return results, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--markdown", action="store_true", help="print a table for docs/benchmarks.md")
    parser.add_argument("extra", nargs="*", help="passed to the benchmark binary (after --)")
    # Everything after "--" goes to the benchmark binary, flags included.
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    args.extra += extra
    t, cpu = run(args.binary, args.extra)

    def us(v):
        return f"{v / 1000:.1f} ms" if v >= 1000 else f"{v:.1f} us"

    if any(name in t for name, *_ in harness_floors()):
        print_harness(t, cpu, args.markdown, us)
        return

    if args.markdown:
        print("| operation | tlsfix | OpenSSL floor | floor is | ratio |")
        print("|---|---:|---:|---|---:|")
    for name, label, refs, what in floors():
        if name not in t or any(r not in t for r in refs):
            continue  # filtered out with --benchmark_filter
        floor = sum(t[r] for r in refs)
        ratio = t[name] / floor
        if args.markdown:
            print(f"| {label} | {us(t[name])} | {us(floor)} | {what} | {ratio:.2f}x |")
        else:
            print(f"{label}: {ratio:.2f}x ({what}; {us(t[name])} vs {us(floor)})")
    if args.markdown:
        print()
        print("| OpenSSL reference | time |")
        print("|---|---:|")
        for name in sorted(n for n in t if n.startswith("openssl/")):
            print(f"| {name} | {us(t[name])} |")


def print_harness(t, cpu, markdown, us):
    if markdown:
        print("| operation | tlsfix wall | OpenSSL wall | wall ratio | tlsfix CPU | OpenSSL CPU | CPU ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|")
    for name, label, ref, what in harness_floors():
        if name not in t or ref not in t:
            continue  # filtered out with --benchmark_filter
        wall, cpu_ratio = t[name] / t[ref], cpu[name] / cpu[ref]
        if markdown:
            print(f"| {label} | {us(t[name])} | {us(t[ref])} | {wall:.2f}x | {us(cpu[name])} | {us(cpu[ref])} "
                  f"| {cpu_ratio:.2f}x |")
        else:
            print(f"{label}: wall {wall:.2f}x ({us(t[name])} vs {us(t[ref])}), "
                  f"CPU {cpu_ratio:.2f}x ({us(cpu[name])} vs {us(cpu[ref])}; {what})")
    if markdown:
        print()
        print("| benchmark | wall | CPU (process) |")
        print("|---|---:|---:|")
        for name in sorted(t):
            print(f"| {name} | {us(t[name])} | {us(cpu[name])} |")


if __name__ == "__main__":
    main()
