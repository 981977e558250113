"""``floq-lite study NAME``: the book's known-answer sweeps, written as small artifacts.

floq-lite study NAME [--tier smoke|teach|paper] [--out DIR] [--from-artifact JSON] [--jobs N] [--no-progress]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "run a known-answer study of the book (resumable; writes small JSON artifacts)"

STUDIES = {
    "noise-coverage": "chapter 3: the flow critic's noise interval (floq_lite.studies.noise_coverage)",
    "iterative-compute": "chapter 7: when do K integration steps pay? (floq_lite.studies.iterative_compute)",
    "plasticity": "chapter 8: plastic features, freezing and shifting targets (floq_lite.studies.plasticity)",
}

EPILOG = """\
studies:
""" + "".join(f"  {name:18} {text}\n" for name, text in STUDIES.items()) + """
tiers: smoke (seconds, what the tests run), teach (minutes: the chapter's live re-run), paper (the committed sweep,
about an hour or more on a 2-core CPU). A stopped study resumes: finished cells in DIR/cells/ are kept.
--from-artifact takes the cells of a merged study (the committed artifact) as done, so a sweep whose run directory
was lost, or that gained cells, trains only what the artifact lacks.

examples:
  floq-lite study iterative-compute --tier paper --out runs/iterative-compute --jobs 2
  cp runs/iterative-compute/iterative_compute.json floq_lite/artifacts/     # what chapter 7 plots
  floq-lite study plasticity --tier paper --out runs/plasticity            # chapter 8's plasticity.json
  floq-lite study noise-coverage --tier paper --out runs/noise-coverage    # chapter 3's noise_coverage.json
  floq-lite study iterative-compute --tier paper --out runs/ic \
      --from-artifact floq_lite/artifacts/iterative_compute.json           # only the cells it lacks
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("name", choices=sorted(STUDIES), metavar="NAME", help="the study: " + ", ".join(STUDIES))
    parser.add_argument("--tier", choices=("smoke", "teach", "paper"), default=None,
                        help="size of the study (default: $FLOQ_TIER, else teach)")
    parser.add_argument("--out", default=None, metavar="DIR", help="output directory (default: runs/study-NAME-TIER)")
    parser.add_argument("--from-artifact", default=None, metavar="JSON",
                        help="a merged study of the same tier whose cells count as done (e.g. the committed artifact)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="train N cells at once, one process each (default 1; on a 2-core CPU 2 gives about "
                             "1.3x the throughput, measured; then a line per finished cell instead of progress bars)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from floq_lite.studies import iterative_compute, noise_coverage, plasticity
    from floq_lite.studies._sweep import ResumeMismatch
    from floq_lite.tiers import current_tier

    module = {"iterative-compute": iterative_compute, "noise-coverage": noise_coverage,
              "plasticity": plasticity}[args.name]
    if args.jobs < 1:
        print(f"floq-lite study: error: --jobs must be at least 1, got {args.jobs}; 2 suits a 2-core CPU.",
              file=sys.stderr)
        return 2
    tier = current_tier(args.tier)
    out = args.out or f"runs/study-{args.name}-{tier}"
    earlier = None
    if args.from_artifact:
        try:
            earlier = json.loads(Path(args.from_artifact).read_text())
        except (OSError, ValueError) as exc:
            print(f"floq-lite study: error: cannot read --from-artifact {args.from_artifact} ({exc}); pass the JSON "
                  f"a study wrote (e.g. floq_lite/artifacts/{module.ARTIFACT}).", file=sys.stderr)
            return 2
    try:
        module.run_study(out, tier, progress=not args.no_progress, resume_from=earlier, jobs=args.jobs)
    except ResumeMismatch as exc:
        print(f"floq-lite study: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"floq-lite study: error: cannot write to {out} ({exc.strerror}); choose another --out.", file=sys.stderr)
        return 2
    return 0
