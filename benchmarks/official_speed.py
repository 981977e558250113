"""One floq / FQL update: floq_lite against the official code, measured side by side in one process.

    python benchmarks/official_speed.py --official PATH/TO/CMU-AIRe-floq [--sizes teach,paper] [--steps 20]
    FLOQ_OFFICIAL_DIR=PATH python benchmarks/official_speed.py

The official code is imported from the checkout you point to (none of it is part of this repository). It needs
``ml_collections`` (``pip install ml_collections``); the minimal patch for today's JAX stack is applied at import
time and printed: ``distrax`` (used only by the official Gaussian actor, which floq and FQL do not use) is replaced
by an empty stub when it is not installed. Without a checkout the script still measures floq_lite and says so.

Printed per size (antmaze dimensions, obs 29, action 8) and agent: median ms per jitted ``update`` call (interleaved
rounds, so that a load change hits both sides), the ratios; where floq_lite compiles with its own XLA options
(floq_lite/jitting.py), also both sides with the other side's options (:func:`contenders`); the analytic GFLOP per
update (``floq_lite.reporting.update_flops``), and the achieved share of this machine's matmul peak (a jitted
2048x512x512 float32 product measured in the same run, fastest of 50 calls). Only meaningful on an otherwise idle
machine.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import time
import types
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from floq_lite.agents import FloqAgent, FQLAgent
from floq_lite.config import make_config, with_reward_range
from floq_lite.jitting import options_supported
from floq_lite.reporting import update_flops

sys.path.insert(0, str(Path(__file__).resolve().parent))
from update_speed import ACTION_DIM, OBS_DIM, _dataset  # noqa: E402  (the same dimensions and data)

ROWS = 4096
PATCHES: list[str] = []


def matmul_peak_gflops(n: int = 2048, k: int = 512, m: int = 512, reps: int = 50) -> float:
    """GFLOP/s of a jitted (n, k) @ (k, m) float32 product, the fastest of ``reps`` calls (a peak: the median of a
    few-millisecond call moved by a quarter between runs on the 2-core CPU)."""
    a = jnp.asarray(np.random.default_rng(0).normal(size=(n, k)), jnp.float32)
    b = jnp.asarray(np.random.default_rng(1).normal(size=(k, m)), jnp.float32)
    f = jax.jit(lambda x, y: x @ y)
    f(a, b).block_until_ready()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f(a, b).block_until_ready()
        times.append(time.perf_counter() - t0)
    return 2 * n * k * m / min(times) / 1e9


def load_official(path: str):
    """``(FloQAgent, get_floq_config, FQLAgent, get_fql_config)`` from an official checkout."""
    root = Path(path).resolve()
    if not (root / "agents" / "floq.py").is_file():
        raise SystemExit(f"{root} is not a CMU-AIRe/floq checkout (no agents/floq.py).")
    try:
        importlib.import_module("ml_collections")
    except ImportError:
        raise SystemExit("the official code needs ml_collections: pip install ml_collections") from None
    try:
        importlib.import_module("distrax")
    except ImportError:
        stub = types.ModuleType("distrax")  # only the unused Gaussian actor refers to it
        stub.__getattr__ = lambda name: type(name, (), {})  # any class it names (Transformed, ...) is a placeholder
        sys.modules["distrax"] = stub
        PATCHES.append("distrax replaced by a stub module (used only by the official Gaussian actor)")
    sys.path.insert(0, str(root))
    floq = importlib.import_module("agents.floq")
    fql = importlib.import_module("agents.fql")
    return floq.FloQAgent, floq.get_config, fql.FQLAgent, fql.get_config


def dataset(seed: int = 0) -> dict[str, jax.Array]:
    """update_speed.py's random transitions (antmaze dimensions), :data:`ROWS` of them."""
    return _dataset(seed, ROWS)


def ours(agent: str, size: str):
    cfg = make_config(agent, tier=size)
    cfg = with_reward_range(cfg, np.array([-1.0, 0.0]))
    cls = FloqAgent if agent == "floq" else FQLAgent
    data = dataset()
    return cls.create(0, data["observations"][:1], data["actions"][:1], cfg), cfg


def official(agent: str, size: str, classes):
    """The official agent with the same sizes as floq_lite's ``size`` tier."""
    floq_cls, floq_cfg, fql_cls, fql_cfg = classes
    ref = make_config(agent, tier=size)
    config = (floq_cfg if agent == "floq" else fql_cfg)()
    config["batch_size"] = ref.batch_size
    config["actor_hidden_dims"] = tuple(ref.actor_hidden_dims)
    config["value_hidden_dims"] = tuple(ref.value_hidden_dims)
    if agent == "floq":
        config["block_width"], config["block_depth"] = ref.block_width, ref.block_depth
        config["critic_flow_steps"], config["noise_samples"] = ref.critic_flow_steps, ref.noise_samples
        config["r_min"], config["r_max"] = -1.0, 0.0
    data = dataset()
    cls = floq_cls if agent == "floq" else fql_cls
    return cls.create(0, np.asarray(data["observations"][:1]), np.asarray(data["actions"][:1]), config)


def time_updates(update, agent, batch, steps: int) -> float:
    """Median ms of ``steps`` calls of a jitted ``update(agent, batch)`` (each call waits for the new state)."""
    state = {"a": agent}
    jax.block_until_ready(update(state["a"], batch))  # compile
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        state["a"], info = update(state["a"], batch)
        jax.block_until_ready((state["a"], info))
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def used_options(agent) -> dict:
    """The compile options floq_lite's update of ``agent`` really uses (those this jax accepts)."""
    options = agent.compile_options()
    return options if options and options_supported(tuple(sorted(options.items()))) else {}


def contenders(mine, theirs, batch) -> dict[str, tuple]:
    """``name -> (update, agent, batch)`` to time: floq_lite's update as it trains (with its agent's compile
    options, floq_lite/jitting.py) and the official one as it ships; where floq_lite uses options, also floq_lite
    with XLA's defaults and the official update compiled with floq_lite's options, so that both sides of a gain
    that comes from the options alone can be seen. The official update gets a plain dict batch."""
    options = used_options(mine)
    out = {"floq_lite": (type(mine).update, mine, batch)}
    if options:
        out["floq_lite, XLA defaults"] = (type(mine).update.defaults, mine, batch)
    if theirs is not None:
        out["official"] = (type(theirs).update, theirs, dict(batch))
        if options:
            compiled = type(theirs).update.lower(theirs, dict(batch)).compile(compiler_options=options)
            out["official, floq_lite's options"] = (compiled, theirs, dict(batch))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--official", default=os.environ.get("FLOQ_OFFICIAL_DIR"),
                   help="a CMU-AIRe/floq checkout (default: $FLOQ_OFFICIAL_DIR); without it only floq_lite runs")
    p.add_argument("--sizes", default="teach,paper")
    p.add_argument("--agents", default="floq,fql")
    p.add_argument("--steps", type=int, default=20, help="timed updates per round and side")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (official, floq_lite, official, ...)")
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = p.parse_args()
    classes = load_official(args.official) if args.official else None
    peak = matmul_peak_gflops()
    print(f"jax {jax.__version__} on {jax.devices()}; matmul peak (2048x512x512 float32): {peak:.0f} GFLOP/s")
    if classes is None:
        print("no official checkout given (--official or FLOQ_OFFICIAL_DIR): floq_lite only")
    for patch in PATCHES:
        print(f"patch applied to the official code: {patch}")
    rows = []
    data = dataset()
    for size in args.sizes.split(","):
        for agent in args.agents.split(","):
            mine, cfg = ours(agent, size)
            batch = jax.tree.map(lambda x: x[: cfg.batch_size], data)
            flops, _ = update_flops(agent, cfg, OBS_DIM, ACTION_DIM)
            theirs = official(agent, size, classes) if classes else None
            updates = contenders(mine, theirs, batch)
            ms: dict[str, list[float]] = {name: [] for name in updates}
            for _ in range(args.rounds):
                for name, (update, agent_state, update_batch) in updates.items():
                    ms[name].append(time_updates(update, agent_state, update_batch, args.steps))
            row = {"size": size, "agent": agent, "batch": cfg.batch_size, "gflop_per_update": round(flops / 1e9, 2),
                   "options": used_options(mine), "peak_gflops": round(peak, 1),
                   **{f"{name}_ms": [round(v, 2) for v in times] for name, times in ms.items()}}
            lite = min(ms["floq_lite"])
            row["floq_lite_peak_share"] = round(flops / 1e9 / (lite / 1e3) / peak, 3)
            print(f"{size} {agent}: floq_lite at {100 * row['floq_lite_peak_share']:.0f}% of peak", flush=True)
            for name, times in ms.items():
                text = f"  {name:34} {', '.join(f'{v:.1f}' for v in times)} ms"
                if name != "floq_lite":
                    row[f"speedup_vs_{name}"] = round(min(times) / lite, 2)
                    text += f"  (floq_lite {row[f'speedup_vs_{name}']:.2f}x faster)"
                print(text, flush=True)
            rows.append(row)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "patches": PATCHES, "jax": jax.__version__}, indent=1))


if __name__ == "__main__":
    main()
