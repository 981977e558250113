"""``floq-lite eval``: evaluate a trained run's checkpoint on its OGBench environment.

floq-lite eval RUN_DIR [--episodes N] [--flow-steps K] [--seed-index I]
"""

from __future__ import annotations

import argparse
import json

from floq_lite.cli.data import _count
from floq_lite.cli.train import fail

HELP = "evaluate a trained run: success rate and mean return per seed (and, for floq, flow-Q vs K)"

EPILOG = """\
success rate = fraction of episodes whose last step reports info["success"] = 1 (OGBench singletask envs end an
episode on success or at the time limit), as in the FQL and floq papers.

--flow-steps K (floq only) is a test-time-compute diagnostic. The agent acts with its one-step policy, which was
trained against the distilled critic, so the actions and the success rate do NOT depend on K. K changes the flow
critic's value: with it, eval also prints the flow-Q with K Euler steps at the (state, action) pairs it visited,
next to the flow-Q with the training K and the distilled critic.

examples:
  floq-lite eval runs/pointmaze-medium-navigate-singletask-v0-floq-smoke
  floq-lite eval runs/pointmaze-medium-navigate-singletask-v0-floq-smoke --episodes 20 --flow-steps 16 --seed-index 0
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Fill in the ``eval`` parser."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by `floq-lite train`")
    parser.add_argument("--episodes", type=_count(1), default=None, metavar="N",
                        help="episodes per seed (default: the run's eval_episodes)")
    parser.add_argument("--flow-steps", type=_count(1), default=None, metavar="K",
                        help="floq: also report flow-Q with K Euler steps at visited (s, a) (does not change actions "
                             "or success; default: off)")
    parser.add_argument("--seed-index", type=_count(0), default=None, metavar="I",
                        help="evaluate only the I-th seed of the run (default: all seeds)")
    parser.add_argument("--max-episode-steps", type=_count(1), default=None, metavar="T",
                        help="cap episodes at T steps (default: the env's limit)")
    parser.add_argument("--eval-seed", type=int, default=0, metavar="E",
                        help="randomness of resets and policy noise (default: %(default)s; the training-time "
                             "evaluations used the training step)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON lines")
    parser.set_defaults(func=run)


def load_agents(run_dir: str, seed_index: int | None):
    """``(meta, agents, seeds, step)``: the run's checkpoint, restricted to ``seed_index`` if given."""
    from floq_lite import evaluation, training

    meta = training.load_run(run_dir)
    seeds = list(meta["seeds"])
    data = meta["dataset"]
    template = training.template_agents(meta["agent"], meta["config_obj"], seeds, data["obs_dim"], data["action_dim"])
    agents, step, _ = training.load_checkpoint(run_dir, template)
    if seed_index is not None:
        if seed_index >= len(seeds):
            raise training.TrainingError(f"--seed-index {seed_index}: the run has {len(seeds)} seed(s) "
                                         f"(indices 0..{len(seeds) - 1}).")
        agents = evaluation.select_seeds(agents, [seed_index])
        seeds = [seeds[seed_index]]
    return meta, agents, seeds, step


def run(args: argparse.Namespace) -> int:
    from floq_lite import evaluation, training

    try:
        meta, agents, seeds, step = load_agents(args.run_dir, args.seed_index)
    except training.TrainingError as exc:
        return fail("eval", str(exc), 2)
    if args.flow_steps is not None and meta["agent"] != "floq":
        return fail("eval", "--flow-steps needs a floq run (FQL has no flow critic).", 2)
    episodes = args.episodes or meta["config"]["eval_episodes"]
    results = evaluation.evaluate(agents, meta["env_name"], episodes, seeds=seeds, step=args.eval_seed,
                                  max_episode_steps=args.max_episode_steps, flow_steps=args.flow_steps)
    print(f"{meta['agent']} on {meta['env_name']}, checkpoint at step {step}, {episodes} episode(s) per seed")
    for r in results:
        if args.json:
            print(json.dumps({"step": step, **r.row()}))
            continue
        line = f"  seed {r.seed}: success {r.success_rate:.3f}  return {r.return_mean:.1f}"
        if r.q_diagnostics:
            d = r.q_diagnostics
            k, k_train = int(d["flow_steps"]), int(d["train_flow_steps"])
            line += (f"  flow-Q(K={k}) {d['flow_q_mean']:.3f}  flow-Q(K={k_train}, training) "
                     f"{d['flow_q_train_k_mean']:.3f}  distilled {d['distilled_q_mean']:.3f}")
        print(line)
    if not args.json:
        print(f"success rate over seeds: {training.summarize([r.success_rate for r in results])}")
    return 0
