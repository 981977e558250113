"""Speed of one floq / FQL gradient update at the smoke, teach and paper sizes.

For every (size, agent, critic path) it reports

* compile time of the jitted ``update``;
* median ms per ``update`` call (one Python call per step, as the official training loop does) and updates/s;
* ms per update inside ``update_many_sampled`` (many steps per call, batches sampled on device);
* the analytic matmul FLOPs per update of the algorithm and the achieved GFLOP/s;
* the cost of ``N`` vmapped seeds relative to one (``--seeds 1,2,4``).

``--variants fused,defaults`` times the agent's compile options (floq_lite/jitting.py) against XLA's defaults.

FLOP counting: every Dense layer costs ``2 * in * out`` per row in a forward pass; a pass that is trained costs 3x
(forward, input gradients, weight gradients); the actor's Q term costs 2x through the critic (forward + input
gradients, the critic is not trained by it). Counted passes per update (B transitions, R noise samples, E members,
K critic Euler steps, 10 actor Euler steps):

* floq: next actions ``mu`` on B*R rows; target integration K*E field passes on B*R rows; distillation-target
  integration K*E on B*R; flow-matching loss 3*E on B*R; distilled critic 3*E on B; the actor (below).
* FQL: next actions ``mu`` on B; target critic E on B; critic 3*E on B; the actor.
* actor: BC flow loss 3x on B; 10 BC-flow Euler passes on B; one-step policy 3x on B; Q term 2*E on B; the
  logged ``mse`` sample 1x on B.

The FLOPs are those of the algorithm as the official code computes it; floq_lite's cached first-layer block saves
``(K - 1) * 2 * (d_s + d_a) * width`` per row and member of each integration (printed as ``saved``).

Sizes use antmaze-like dimensions (obs 29, action 8):

==========  ==========================  =======  ====  ====
size        networks (all)              batch    K     R
==========  ==========================  =======  ====  ====
smoke       2 x 64                      64       4     4
teach       2 x 256                     256      8     8
paper       4 x 512                     256      8     8
==========  ==========================  =======  ====  ====

Usage::

    python benchmarks/update_speed.py                          # all sizes, both agents, fused critic
    python benchmarks/update_speed.py --sizes smoke --steps 5 --seeds 1,2 --variants fused,plain --json

Timings are only meaningful on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from floq_lite.agents import FloqAgent, FQLAgent
from floq_lite.agents._common import random_transitions
from floq_lite.agents._common import _sampled, _vmapped_update
from floq_lite.config import make_config, with_reward_range
from floq_lite.reporting import export_update_speed, update_flops

OBS_DIM, ACTION_DIM, DATASET_ROWS = 29, 8, 10_000
SIZES = ("smoke", "teach", "paper")
AGENTS = {"floq": FloqAgent, "fql": FQLAgent}


def _config(agent: str, size: str, variant: str):
    overrides = {}
    if agent == "floq":  # "defaults" is the fused path too, compiled with XLA's default options
        matmul = variant if variant in ("loop", "batched") else "auto"
        overrides = {"fused_integration": variant != "plain", "member_matmul": matmul}
    cfg = make_config(agent, tier=size, **overrides)
    return with_reward_range(cfg, np.array([-1.0, 0.0]))


def _dataset(seed: int = 0, n: int = DATASET_ROWS) -> dict[str, jax.Array]:
    """``n`` random transitions of antmaze's dimensions (what every benchmark here trains on)."""
    return random_transitions(n, OBS_DIM, ACTION_DIM, seed)


def _median_ms(fn, steps: int) -> float:
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def bench(agent: str, size: str, variant: str, steps: int, seeds: list[int], scan: bool = True) -> dict[str, Any]:
    """One row: compile time, median ms per jitted update, (``scan``) ms per update inside ``update_many_sampled``,
    FLOPs, and ms / achieved GFLOP/s for each number of vmapped seeds in ``seeds``."""
    cls, cfg, data = AGENTS[agent], _config(agent, size, variant), _dataset()
    B = cfg.batch_size
    ag = cls.create(0, data["observations"], data["actions"], cfg)
    batch = jax.tree.map(lambda x: x[:B], data)

    # Every jitted step below either with the agent's compile options (floq_lite/jitting.py) or, for the
    # "defaults" variant, the same program with XLA's default options.
    jitted = (lambda f: f.defaults) if variant == "defaults" else (lambda f: f)
    t0 = time.perf_counter()
    compiled = jitted(type(ag).update).lower(ag, batch).compile()
    compile_s = time.perf_counter() - t0
    state = {"agent": ag}

    def one():
        state["agent"], info = compiled(state["agent"], batch)
        return state["agent"], info  # block on the new state too, not only on the metrics

    one()  # warm-up
    ms = _median_ms(one, steps)

    scan_ms = float("nan")
    if scan:  # many steps per call, batches sampled on device inside the scan
        key = jax.random.PRNGKey(0)
        sampled = jitted(_sampled)
        jax.block_until_ready(sampled(ag, data, key, steps, B))  # compile
        t0 = time.perf_counter()
        jax.block_until_ready(sampled(ag, data, key, steps, B))
        scan_ms = 1e3 * (time.perf_counter() - t0) / steps

    flops, saved = update_flops(agent, cfg, OBS_DIM, ACTION_DIM)
    row = {
        "agent": agent, "size": size, "variant": variant if agent == "floq" else "-", "batch": B,
        "compile_s": round(compile_s, 2), "ms_per_update": round(ms, 3), "updates_per_s": round(1e3 / ms, 1),
        "scan_ms_per_update": round(scan_ms, 3), "gflop_per_update": round(flops / 1e9, 3),
        "gflop_saved": round(saved / 1e9, 3), "gflops_achieved": round(flops / 1e9 / (ms / 1e3), 1),
    }
    base = None
    for n in seeds:
        agents = cls.create_seeds(list(range(n)), data["observations"], data["actions"], cfg)
        batches = jax.tree.map(lambda x: jnp.broadcast_to(x[:B], (n, *x[:B].shape)), data)
        holder = {"a": agents}

        def step():
            holder["a"], info = jitted(_vmapped_update)(holder["a"], batches)
            return holder["a"], info

        step()  # compile
        seed_ms = _median_ms(step, max(3, steps // 2))
        base = seed_ms if base is None else base
        row[f"seeds{n}_ms"] = round(seed_ms, 3)
        row[f"seeds{n}_rel"] = round(seed_ms / base, 2)
        row[f"seeds{n}_gflops"] = round(n * flops / 1e9 / (seed_ms / 1e3), 1)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="smoke,teach,paper", help="comma list of smoke, teach, paper")
    p.add_argument("--agents", default="floq,fql", help="comma list of floq, fql")
    p.add_argument("--variants", default="fused", help="floq critic path(s): fused (optimised: one Euler loop, cached "
                   "(s,a) block, member_matmul='auto'), loop / batched (fused with that member_matmul), plain "
                   "(official-style: two loops over the plain module), defaults (fused, compiled with XLA's "
                   "default options instead of the agent's own: floq_lite/jitting.py)")
    p.add_argument("--steps", type=int, default=20, help="timed updates per measurement")
    p.add_argument("--seeds", default="1,2,4", help="numbers of vmapped seeds to time (empty to skip)")
    p.add_argument("--json", action="store_true", help="print one JSON line per row instead of a table")
    p.add_argument("--artifact", default=None, metavar="FILE.json",
                   help="also write all rows, with this machine's hardware and commit, to a JSON artifact (e.g. "
                        "floq_lite/artifacts/update_speed_cpu.json, which chapter 6 plots)")
    args = p.parse_args()
    sizes = [s for s in args.sizes.split(",") if s]
    agents = [a for a in args.agents.split(",") if a]
    variants = [v for v in args.variants.split(",") if v]
    for name, valid, given in (("size", SIZES, sizes), ("agent", tuple(AGENTS), agents),
                               ("variant", ("fused", "loop", "batched", "plain", "defaults"), variants)):
        bad = [g for g in given if g not in valid]
        if bad:
            p.error(f"unknown {name}(s) {bad}; valid: {', '.join(valid)}")
    seeds = [int(s) for s in args.seeds.split(",") if s]

    if not args.json:
        print(f"jax {jax.__version__}, devices: {jax.devices()}")
        print(f"{'size':6} {'agent':5} {'path':6} {'compile s':>9} {'ms/upd':>9} {'upd/s':>7} {'scan ms':>8} "
              f"{'GFLOP':>8} {'saved':>6} {'GFLOP/s':>8}  seeds (ms, x one)")
    rows = []
    for size in sizes:
        for agent in agents:
            for variant in (variants if agent == "floq" else ["-"]):
                row = bench(agent, size, variant, args.steps, seeds)
                rows.append(row)
                if args.json:
                    print(json.dumps(row), flush=True)
                    continue
                seed_txt = "  ".join(f"{n}: {row[f'seeds{n}_ms']:.1f} ({row[f'seeds{n}_rel']:.2f}x)" for n in seeds)
                print(f"{size:6} {agent:5} {row['variant']:6} {row['compile_s']:9.2f} {row['ms_per_update']:9.2f} "
                      f"{row['updates_per_s']:7.1f} {row['scan_ms_per_update']:8.2f} {row['gflop_per_update']:8.2f} "
                      f"{row['gflop_saved']:6.2f} {row['gflops_achieved']:8.1f}  {seed_txt}", flush=True)

    if args.artifact:
        export_update_speed(rows, args.artifact, source=f"benchmarks/update_speed.py --sizes {','.join(sizes)} "
                            f"--agents {','.join(agents)} --variants {','.join(variants)} --steps {args.steps} "
                            f"--seeds {args.seeds}: median ms per jitted update call, batch on device")


if __name__ == "__main__":
    main()
