#!/usr/bin/env python3
"""Runs tlsfix_bench_ca and prints each tlsfix figure as a multiple of its OpenSSL floor.

The floor comes from the same run of the same binary, so machine speed cancels out: a ratio of
1.0x means tlsfix adds nothing to the cryptography it cannot avoid.

    bench/compare.py build/h2-rel/bench/tlsfix_bench_ca [--markdown] [-- extra benchmark flags]
"""

import argparse
import json
import subprocess
import sys

KEY_TYPES = ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048"]
ISSUER = "ecdsa-p256"  # the default root signs every leaf below


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
    rows.append(("ca/verify/root_leaf", "verify root->leaf",
                 ["openssl/verify/ecdsa-p256"], "1 signature check"))
    rows.append(("ca/verify/root_intermediate_leaf", "verify root->intermediate->leaf",
                 ["openssl/verify/ecdsa-p256"] * 2, "2 signature checks"))
    return rows


def run(binary, extra):
    out = subprocess.run([binary, "--benchmark_format=json", *extra],
                         check=True, capture_output=True, text=True).stdout
    results = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("error_occurred"):
            sys.exit(f"{b['name']}: {b.get('error_message', 'failed')}")
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b["time_unit"]]
        results[b["name"]] = b["real_time"] * scale  # microseconds
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--markdown", action="store_true", help="print a table for docs/benchmarks.md")
    parser.add_argument("extra", nargs="*", help="passed to the benchmark binary (after --)")
    args = parser.parse_args()
    t = run(args.binary, args.extra)

    def us(v):
        return f"{v / 1000:.1f} ms" if v >= 1000 else f"{v:.1f} us"

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


if __name__ == "__main__":
    main()
