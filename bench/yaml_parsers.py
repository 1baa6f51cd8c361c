"""rapidyaml against libyaml on the manifest corpus: is a faster parser worth adopting?

    python bench/yaml_parsers.py [--docs 2000] [--repeat 3]

Installs `rapidyaml` and `pyyaml` into bench/.work/venv-ryml (once), then, in that venv, times over every
file of `bench/manifests.py`'s corpus (CPU, best of R): rapidyaml's parse alone; its parse plus a visit
of every node's key and value from Python (the least any conversion to gates' position-tracking documents
must do); and PyYAML's libyaml composition (what gates' parse starts from). gates would need the visit
and more (positions, YAML 1.1 tags, duplicate keys, merges), so the visit bounds what it could gain.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import venv
from collections.abc import Sequence

from _harness import WORK_DIR, gates_corpus
from manifests import build_corpus

_CHILD = r"""
import glob, sys, time
import ryml, yaml

root, repeat = sys.argv[1], int(sys.argv[2])
files = [p for p in glob.glob(root + "/**/*", recursive=True) if p.endswith((".yaml", ".yml", ".json"))]
texts = [open(p, "rb").read() for p in files]


def ryml_parse():
    for data in texts:
        ryml.parse_in_arena(data)


def ryml_visit():
    for data in texts:
        tree = ryml.parse_in_arena(data)
        stack = [tree.root_id()]
        while stack:
            node = stack.pop()
            if tree.has_key(node):
                tree.key(node)
            if tree.has_val(node):
                tree.val(node)
            child = tree.first_child(node)
            while child != ryml.NONE:
                stack.append(child)
                child = tree.next_sibling(child)


def libyaml_compose():
    for data in texts:
        loader = yaml.CSafeLoader(data.decode())
        while loader.check_node():
            loader.get_node()
        loader.dispose()


print(f"{len(files)} files, rapidyaml {ryml.version}, PyYAML {yaml.__version__} (CPU seconds, best of {repeat})")
for name, work in [("rapidyaml: parse", ryml_parse), ("rapidyaml: parse + visit every node from Python", ryml_visit),
                   ("libyaml: compose (PyYAML CSafeLoader)", libyaml_compose)]:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    print(f"  {name:<50} {min(times):7.3f}")
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=2_000, help="corpus size (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is reported")
    args = parser.parse_args(argv)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    corpus = build_corpus(gates_corpus(), args.docs, 1)
    folder = WORK_DIR / "venv-ryml"
    python = folder / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    if subprocess.run([str(python), "-c", "import ryml, yaml"], capture_output=True).returncode != 0:
        log = WORK_DIR / "install-rapidyaml.log"
        with log.open("wb") as handle:
            rc = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "rapidyaml",
                                 "pyyaml"], stdout=handle, stderr=subprocess.STDOUT).returncode
        if rc != 0:
            print(f"bench: rapidyaml could not be installed (exit {rc}), see {log}")
            return 0
    return subprocess.run([str(python), "-c", _CHILD, str(corpus.root), str(args.repeat)]).returncode


if __name__ == "__main__":
    sys.exit(main())
