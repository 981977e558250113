"""A Colab-like check: run every chapter in a fresh virtual environment holding only what its install cell installs.

    python tools/colab_check.py [--tier smoke] [--work _build/colab-check] [NOTEBOOK ...]

Colab gives a notebook a Jupyter kernel and whatever the first cell's ``%pip install "floq-lite[...] @ git+URL"``
brings. The book's own venv has far more (the book and test extras), so a chapter that imports, say, ``yaml`` or
``nbformat`` works in ``make test`` and fails in Colab. This script makes one venv per distinct install spec, installs
the spec from this checkout instead of the git URL (the same package, offline), adds only a kernel and a notebook
runner (``ipykernel``, ``nbclient``: what Colab's Jupyter provides), pins everything to ``constraints.txt``, and
executes each chapter in the given tier. It prints a line per chapter and exits non-zero if any failed.

``make test`` runs it as its last step (``make test-colab``; two venvs, a few minutes on a fresh machine). A chapter
whose execution ends in a cell timeout (the rare lost-message hang of book/_ext/floq_exec.py) is executed once more.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = re.compile(r'%pip install -q "(floq-lite(?:\[[^\]]*\])?) @ git\+\S+"')
RUNNER = """
import sys, time, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError
start, note = time.time(), ""
for attempt in (1, 2):
    nb = nbformat.read(sys.argv[1], as_version=4)
    try:
        NotebookClient(nb, timeout=int(sys.argv[3]), kernel_name="python3",
                       resources={"metadata": {"path": sys.argv[2]}}).execute()
        break
    except CellTimeoutError:
        if attempt == 2:
            raise
        note = " (a cell timed out, a lost-message hang?: ran again)"
print(f"{time.time() - start:.0f} s{note}")
"""


def install_spec(notebook: Path) -> str:
    """``floq-lite[extras]`` from the notebook's Colab install cell (its first cell)."""
    first = json.loads(notebook.read_text())["cells"][0]
    match = SPEC.search("".join(first["source"]))
    if not match:
        raise SystemExit(f"{notebook}: its first cell is not the Colab install cell (tools/new_notebook.py makes it)")
    return match.group(1)


def make_venv(path: Path, spec: str) -> Path:
    """A fresh venv at ``path`` with ``spec`` installed from this checkout, a kernel and a runner; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
    python = path / "bin" / "python"
    local = spec.replace("floq-lite", str(ROOT), 1)  # floq-lite[ogbench] -> /checkout[ogbench]
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"), local,
                           "ipykernel", "nbclient"], capture_output=True, text=True)
    if proc.returncode != 0:  # pip's output only when it matters (it warns about every unreachable index)
        raise SystemExit(f"installing {spec} into {path} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return python


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("notebooks", nargs="*", help="chapters to run (default: every book/NN_*.ipynb)")
    p.add_argument("--tier", default="smoke", choices=("smoke", "teach"))
    p.add_argument("--work", default=str(ROOT / "_build" / "colab-check"), help="where the venvs go")
    p.add_argument("--cell-timeout", type=int, default=None,
                   help="seconds per cell (default: 240 smoke, as the smoke build; 1800 teach)")
    args = p.parse_args(argv)
    work = Path(args.work).resolve()  # the chapters run in another directory: a relative venv path would break
    timeout = args.cell_timeout or (240 if args.tier == "smoke" else 1800)
    notebooks = [Path(n).resolve() for n in args.notebooks] or sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    by_spec: dict[str, list[Path]] = {}
    for nb in notebooks:
        by_spec.setdefault(install_spec(nb), []).append(nb)
    failures = []
    for i, (spec, group) in enumerate(sorted(by_spec.items())):
        t0 = time.time()
        python = make_venv(work / f"venv{i}", spec)
        print(f"venv for {spec}: {time.time() - t0:.0f} s to install", flush=True)
        for nb in group:
            # a clean environment (nothing from the caller's venv leaks in) and an empty working directory, as in
            # Colab's /content: a chapter that reads files next to it would fail here too
            env = {"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": str(Path.home()), "FLOQ_TIER": args.tier}
            cwd = tempfile.mkdtemp(prefix="colab-check-")
            proc = subprocess.run([str(python), "-c", RUNNER, str(nb), cwd, str(timeout)], capture_output=True,
                                  text=True, env=env, cwd=cwd)
            if proc.returncode == 0:
                print(f"ok   {nb.name} ({spec}, {args.tier}): {proc.stdout.strip().splitlines()[-1]}", flush=True)
            else:
                failures.append(nb.name)
                error = [line for line in proc.stderr.splitlines() if line.strip()][-12:]
                print(f"FAIL {nb.name} ({spec}, {args.tier}):\n    " + "\n    ".join(error), flush=True)
    print(f"{len(notebooks) - len(failures)} of {len(notebooks)} chapters ran in a venv with only their install "
          f"cell's packages" + (f"; failed: {', '.join(failures)}" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
