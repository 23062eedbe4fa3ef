#!/usr/bin/env python3
"""Every example in README.md and docs/*.md is compiled or run by a test.

The fenced blocks are the examples. What happens to one depends on its info string:

    ```cpp            compiled against tlsfix::harness and run; a block without main() becomes
                      main()'s body, with its #include lines above it
    ```cpp gtest      a GoogleTest suite: compiled with tlsfix::fixtures_main (and libcurl) and run
    ```sh             run by ctest with bash -euo pipefail in a fresh directory, tlsfix on PATH,
                      GITHUB_ENV pointing at a file there, in its own process group, which is
                      killed when the block ends (so `tlsfix serve --background` cannot outlive it)
    ```sh setup       a set-up command for a fresh machine: `check` holds it to what .ci/run and
                      ci/test really run
    ```sh ci          run by ci/test after the release build (`run-tagged ci`), from the source
                      tree, with TLSFIX_BENCH_SMOKE=1: bench/compare.py then asks each benchmark
                      for its shortest run, so the commands are checked, not the figures
    ```sh package     run by tests/install/check-deb (`run-tagged package`) from the source tree
                      after the release build: it makes and installs the Debian package
    ```cmake          `check` holds every line to tests/install/consumer/CMakeLists.txt, which the
                      install tests build
    ```text, ```yaml  not examples: output, or a file's contents shown beside a command
    ```cpp excerpt=PATH, ```yaml excerpt=PATH
                      a walkthrough's quotation: `check` holds it to PATH (from the source tree),
                      which must contain it line for line (indentation aside), so the quoted code
                      is the code a test runs

Any other language or tag is an error, so a new example cannot slip past the tests.

    doc_examples.py extract --out DIR --cmake FILE README.md docs/*.md
    doc_examples.py run-sh BLOCK.sh --path DIR [--timeout SECONDS]
    doc_examples.py run-tagged TAG FILE.md...
    doc_examples.py check README.md .ci/run ci/test tests/install/consumer/CMakeLists.txt [more *.md]
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```(\S*)\s*(.*)$")
LANGUAGES = {"cpp", "sh", "cmake", "text", "yaml", "json"}
TAGS = {"sh": {"setup", "ci", "package"}, "cpp": {"gtest"}}
EXCERPTS = {"cpp", "yaml"}  # languages whose blocks may be tagged excerpt=PATH


def blocks(path):
    """(first line number, language, tags, text) of every fenced block in a Markdown file."""
    out, current = [], None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            match = FENCE.match(line)
            if current is None and match:
                language, tags = match.group(1), match.group(2).split()
                if language not in LANGUAGES:
                    sys.exit(f"{path}:{number}: fenced block in '{language or '(none)'}': give it one of "
                             f"{', '.join(sorted(LANGUAGES))}, so that a test compiles or runs it or knows not to")
                allowed = TAGS.get(language, set())
                if any(t not in allowed and not (t.startswith("excerpt=") and language in EXCERPTS) for t in tags):
                    sys.exit(f"{path}:{number}: unknown tag '{' '.join(tags)}' on a {language} block "
                             f"(tags: " + "; ".join(f"{l}: {', '.join(sorted(t))}" for l, t in TAGS.items()) + ")")
                current = (number + 1, language, tags, [])
            elif current is not None and line.strip() == "```":
                out.append((current[0], current[1], current[2], "\n".join(current[3]) + "\n"))
                current = None
            elif current is not None:
                current[3].append(line)
    if current is not None:
        sys.exit(f"{path}:{current[0] - 1}: fenced block never closed")
    return out


def as_program(text):
    """A snippet without main() becomes main()'s body; its #include lines go above main."""
    if re.search(r"\bint\s+main\s*\(", text):
        return text
    lines = text.splitlines()
    includes = [l for l in lines if l.startswith("#include")]
    body = [l for l in lines if not l.startswith("#include")]
    return "\n".join(includes + ["", "int main() {"] + ["  " + l if l else l for l in body] + ["}"]) + "\n"


def extract(args):
    os.makedirs(args.out, exist_ok=True)
    entries = []
    for path in args.files:
        name = os.path.basename(path)
        stem = re.sub(r"[^A-Za-z0-9]", "_", os.path.splitext(name)[0])
        for line, language, tags, text in blocks(path):
            if language not in ("cpp", "sh") or (tags and tags != ["gtest"]):
                continue
            kind = "gtest" if tags == ["gtest"] else language
            file = os.path.join(args.out, f"{stem}_{line}.{language}")
            content = f"// {path}:{line}\n" + (text if kind == "gtest" else as_program(text)) if language == "cpp" else text
            # Written only when changed, so that reconfiguring does not rebuild every example.
            old = open(file, encoding="utf-8").read() if os.path.exists(file) else None
            if old != content:
                with open(file, "w", encoding="utf-8") as f:
                    f.write(content)
            entries.append(f"{kind}|{name}:{line}|{file}")
    with open(args.cmake, "w", encoding="utf-8") as f:
        f.write("set(TLSFIX_DOC_EXAMPLES\n" + "".join(f'  "{e}"\n' for e in entries) + ")\n")


def run_group(argv, cwd, env, timeout):
    """Runs argv in its own process group; the whole group is killed when it ends or times out."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, start_new_session=True)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"doc_examples: timed out after {timeout} s", file=sys.stderr)
        return 124
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            if sig == signal.SIGTERM:
                try:
                    proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    pass


def run_sh(args):
    with tempfile.TemporaryDirectory(prefix="tlsfix-doc-") as work:
        env = dict(os.environ)
        env["PATH"] = os.path.abspath(args.path) + os.pathsep + env.get("PATH", "")
        env["GITHUB_ENV"] = os.path.join(work, "github.env")
        open(env["GITHUB_ENV"], "w").close()
        sys.exit(run_group(["bash", "-euo", "pipefail", os.path.abspath(args.script)], work, env, args.timeout))


def run_tagged(args):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, TLSFIX_BENCH_SMOKE="1")
    status, ran = 0, 0
    for path in args.files:
        for line, language, tags, text in blocks(path):
            if language != "sh" or args.tag not in tags:
                continue
            ran += 1
            print(f"=== {path}:{line}", flush=True)
            code = run_group(["bash", "-euo", "pipefail", "-c", text], root, env, args.timeout)
            if code != 0:
                print(f"doc_examples: {path}:{line} exited {code}", file=sys.stderr)
                status = 1
    if ran == 0:
        print(f"doc_examples: no `sh {args.tag}` block in {' '.join(args.files)}", file=sys.stderr)
        status = 1
    sys.exit(status)


def check(args):
    """The README's set-up commands are what CI runs: the test command is .ci/run's last command,
    and ci/test runs the demo; every line of a cmake block is in the consumer that the install
    tests build."""
    problems = []
    setup = [text.strip() for _, language, tags, text in blocks(args.readme) if language == "sh" and "setup" in tags]
    if len(setup) != 2:
        problems.append(f"{args.readme}: expected two `sh setup` blocks (the demo, every test), found {len(setup)}")
    ci_run = [l.strip() for l in open(args.ci_run, encoding="utf-8") if l.strip() and not l.startswith("#")]
    ci_test = open(args.ci_test, encoding="utf-8").read()
    test_command = next((c for c in setup if c.endswith("ci/test")), None)
    demo_command = next((c for c in setup if c.endswith("ci/demo")), None)
    if test_command is None or not ci_run or ci_run[-1] != test_command:
        problems.append(f"{args.ci_run} must end with the README's test command '{test_command}', "
                        f"not '{ci_run[-1] if ci_run else ''}'")
    if demo_command != "ci/install-deps && ci/demo":
        problems.append(f"{args.readme}: the demo command must be 'ci/install-deps && ci/demo', not '{demo_command}'")
    elif not re.search(r"^\s*ci/demo\b", ci_test, re.M):
        problems.append(f"{args.ci_test} does not run ci/demo, so the README's demo command goes untested")
    consumer = {l.strip() for l in open(args.consumer, encoding="utf-8")}
    for path in [args.readme] + args.docs:
        for line, language, _, text in blocks(path):
            if language != "cmake":
                continue
            for offset, l in enumerate(text.splitlines()):
                if l.strip() and not l.strip().startswith("#") and l.strip() not in consumer:
                    problems.append(f"{path}:{line + offset}: '{l.strip()}' is not in {args.consumer}, "
                                    f"so no test builds it")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    normalized = lambda text: "\n".join(l.strip() for l in text.splitlines() if l.strip())
    for path in [args.readme] + args.docs:
        for line, language, tags, text in blocks(path):
            for tag in (t for t in tags if t.startswith("excerpt=")):
                source = os.path.join(root, tag[len("excerpt="):])
                if not os.path.exists(source):
                    problems.append(f"{path}:{line}: {tag}: no such file")
                elif normalized(text) not in normalized(open(source, encoding="utf-8").read()):
                    problems.append(f"{path}:{line}: this block is not in {tag[len('excerpt='):]} as it is now; "
                                    f"quote the code as the test has it")
    for p in problems:
        print(p, file=sys.stderr)
    sys.exit(1 if problems else 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("extract")
    p.add_argument("--out", required=True)
    p.add_argument("--cmake", required=True)
    p.add_argument("files", nargs="+")
    p.set_defaults(func=extract)
    p = sub.add_parser("run-sh")
    p.add_argument("script")
    p.add_argument("--path", required=True, help="directory holding the tlsfix executable")
    p.add_argument("--timeout", type=float, default=120)
    p.set_defaults(func=run_sh)
    p = sub.add_parser("run-tagged")
    p.add_argument("tag", choices=sorted(TAGS["sh"] - {"setup"}))
    p.add_argument("files", nargs="+")
    p.add_argument("--timeout", type=float, default=900)
    p.set_defaults(func=run_tagged)
    p = sub.add_parser("check")
    p.add_argument("readme")
    p.add_argument("ci_run")
    p.add_argument("ci_test")
    p.add_argument("consumer")
    p.add_argument("docs", nargs="*", help="further Markdown files whose cmake blocks are checked")
    p.set_defaults(func=check)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
