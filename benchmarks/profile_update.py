"""Where one floq / FQL update spends its time on this machine: an op-level profile, grouped.

    python benchmarks/profile_update.py                      # teach size, both agents
    python benchmarks/profile_update.py --sizes teach,paper --agents floq --steps 20 --top 15

Runs ``--steps`` jitted updates under ``jax.profiler``, sums the time of every compiled op (XLA's thunks, over all
threads, so the total exceeds the wall time when ops run side by side) and groups the ops by the JAX operation each
one was compiled from (the HLO metadata ``op_name``):

=======================  ==================================================================================
matmul                   ``dot_general``: the Dense layers, forward and both gradients, and every fusion built
                         around one (its fused bias, GELU and LayerNorm included: XLA fuses a whole MLP layer)
HL-Gauss / erf           ``erf``: the two-hot/HL-Gauss encoding of z (floq's field input)
LayerNorm                mean, variance, ``rsqrt``
GELU                     the activation (``tanh`` approximation) and its gradient
loop control             ``while``: the Euler loops and the scanned updates
copies / layout          transposes, copies, broadcasts, concatenations, slices, gathers
Adam + EMA               the optimiser and target updates
other                    everything else (random numbers, reductions, losses)
=======================  ==================================================================================

The grouping is a reading aid: a fused op is counted under the first rule its ``op_name`` matches. Only meaningful
on an otherwise idle machine. The sizes are those of benchmarks/update_speed.py.
"""

from __future__ import annotations

import argparse
import collections
import glob
import re
import sys
import tempfile
import time
from pathlib import Path

import jax

sys.path.insert(0, str(Path(__file__).resolve().parent))
from update_speed import AGENTS, SIZES, _config, _dataset  # noqa: E402  (the same sizes and data)

# (group, pattern on the lower-cased op_name / instruction name), first match wins.
RULES: tuple[tuple[str, str], ...] = (
    ("Adam + EMA", r"adam|optax|scale_by|apply_updates|\bema\b"),
    ("matmul", r"dot_general|\bdot\b|^dot\.|gemm|matmul"),
    ("HL-Gauss / erf", r"\berf\b|erf_inv|hl_gauss"),
    ("LayerNorm", r"layernorm|layer_norm|rsqrt"),
    ("GELU", r"gelu|tanh"),
    ("loop control", r"^while|/while$|^conditional"),
    ("copies / layout", r"transpose|copy|broadcast|concatenate|slice|gather|bitcast|reshape|pad\b"),
)
_INSTR = re.compile(r'^\s*(?:ROOT )?%?([\w.\-]+) = .*?metadata=\{op_name="([^"]*)"')
_CALLS = re.compile(r'^\s*(?:ROOT )?%?([\w.\-]+) = .*\bcalls=%?([\w.\-]+)')
_COMPUTATION = re.compile(r'^%?([\w.\-]+) \(')
DOT_MARK = "[dot] "  # op_names prefixes the op_name of a fusion that contains a matmul with this


def op_names(hlo_text: str) -> dict[str, str]:
    """Instruction name -> the JAX ``op_name`` it was compiled from (HLO metadata); a fusion whose fused
    computation contains a ``dot`` gets :data:`DOT_MARK` in front (its metadata names only its root op)."""
    out, calls, with_dot, current = {}, {}, set(), None
    for line in hlo_text.splitlines():
        head = _COMPUTATION.match(line)
        if head:
            current = head.group(1)
        elif current and re.search(r"= \S+ dot\(", line):
            with_dot.add(current)
        m = _INSTR.match(line)
        if m:
            out[m.group(1)] = m.group(2)
        c = _CALLS.match(line)
        if c:
            calls[c.group(1)] = c.group(2)
    for instr, computation in calls.items():
        if computation in with_dot and instr in out:
            out[instr] = DOT_MARK + out[instr]
    return out


def group_of(instr: str, op_name: str) -> str:
    if op_name.startswith(DOT_MARK):
        return "matmul"
    text = f"{instr} {op_name}".lower()
    last = op_name.lower().rsplit("/", 1)[-1]
    for group, pattern in RULES:
        if re.search(pattern, last) or re.search(pattern, instr.lower()) or (
                group in ("Adam + EMA", "HL-Gauss / erf", "LayerNorm", "GELU") and re.search(pattern, text)):
            return group
    return "other"


def profile(agent: str, size: str, steps: int) -> tuple[float, dict[str, float], list[tuple[float, str, str]]]:
    """``(wall ms per update, ms per update by group, [(ms per update, instruction, op_name)] by op)``."""
    from jax.profiler import ProfileData

    cls, cfg, data = AGENTS[agent], _config(agent, size, "fused"), _dataset()
    ag = cls.create(0, data["observations"], data["actions"], cfg)
    batch = jax.tree.map(lambda x: x[: cfg.batch_size], data)
    compiled = type(ag).update.lower(ag, batch).compile()
    names = op_names(compiled.as_text())
    state = {"agent": ag}
    for _ in range(3):  # warm-up
        state["agent"], info = compiled(state["agent"], batch)
    jax.block_until_ready(state["agent"])
    trace_dir = tempfile.mkdtemp(prefix="floq-profile-")
    with jax.profiler.trace(trace_dir):
        t0 = time.perf_counter()
        for _ in range(steps):
            state["agent"], info = compiled(state["agent"], batch)
        jax.block_until_ready(state["agent"])
        wall_ms = 1e3 * (time.perf_counter() - t0) / steps
    by_op: collections.Counter[str] = collections.Counter()
    for path in glob.glob(f"{trace_dir}/**/*.xplane.pb", recursive=True):
        for plane in ProfileData.from_file(path).planes:
            for line in plane.lines:
                for ev in line.events:
                    if ev.name in names:  # compiled ops only (not the executor's own spans)
                        by_op[ev.name] += ev.duration_ns / 1e6 / steps
    groups: collections.Counter[str] = collections.Counter()
    for instr, ms in by_op.items():
        groups[group_of(instr, names[instr])] += ms
    ops = sorted(((ms, instr, names[instr]) for instr, ms in by_op.items()), reverse=True)
    return wall_ms, dict(groups), ops


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="teach", help=f"comma list of {', '.join(SIZES)}")
    p.add_argument("--agents", default="floq,fql", help="comma list of floq, fql")
    p.add_argument("--steps", type=int, default=10, help="profiled updates (after 3 warm-up updates)")
    p.add_argument("--top", type=int, default=10, help="also list this many single ops")
    args = p.parse_args()
    sizes, agents = [s for s in args.sizes.split(",") if s], [a for a in args.agents.split(",") if a]
    for name, valid, given in (("size", SIZES, sizes), ("agent", tuple(AGENTS), agents)):
        bad = [g for g in given if g not in valid]
        if bad:
            p.error(f"unknown {name}(s) {bad}; valid: {', '.join(valid)}")
    print(f"jax {jax.__version__} on {jax.devices()}; ms per update summed over threads, then the share of that sum")
    for size in sizes:
        for agent in agents:
            wall, groups, ops = profile(agent, size, args.steps)
            total = sum(groups.values())
            print(f"\n{agent} @ {size}: {wall:.1f} ms per update (wall, under the profiler); ops sum {total:.1f} ms")
            for group, ms in sorted(groups.items(), key=lambda kv: -kv[1]):
                print(f"  {group:18s} {ms:8.2f} ms  {100 * ms / total:5.1f}%")
            print(f"  top {args.top} ops:")
            for ms, instr, op_name in ops[: args.top]:
                print(f"    {ms:7.2f} ms  {instr:28s} {op_name[-70:]}")


if __name__ == "__main__":
    main()
