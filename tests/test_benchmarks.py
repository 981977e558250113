"""The benchmarks' set-ups: profile_update.py's reading of compiled HLO and grouping of ops, official_loop.py's
flags for the official side, official_speed.py's contenders (the timings themselves are not tested: speed belongs in the printed
benchmarks)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from floq_lite.agents import FloqAgent, FQLAgent
from floq_lite.config import make_config, with_reward_range

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import official_loop as ol  # noqa: E402
import official_speed as osp  # noqa: E402
import profile_update as pu  # noqa: E402


def test_op_names_read_the_metadata_of_a_compiled_program():
    def f(x, w):
        return jax.nn.gelu(x @ w).sum()

    hlo = jax.jit(f).lower(jnp.ones((8, 4)), jnp.ones((4, 3))).compile().as_text()
    names = pu.op_names(hlo)
    assert names, "no instruction with op_name metadata found"
    assert any("dot_general" in op for op in names.values())
    assert all(instr and "\"" not in instr for instr in names)


def test_groups_follow_the_op_name_first_rule_first():
    assert pu.group_of("ynn_fusion.3", "jit(update)/mlp/Dense_1/dot_general") == "matmul"
    assert pu.group_of("dot.15", "jit(update)/transpose(jvp(Value))/Dense_1/transpose") == "matmul"
    assert pu.group_of("negate_exponential_fusion", "jit(update)/while/body/erf") == "HL-Gauss / erf"
    assert pu.group_of("add_rsqrt_fusion", "jit(update)/LayerNorm_0/rsqrt") == "LayerNorm"
    assert pu.group_of("multiply_tanh_fusion", "jit(update)/mlp/tanh") == "GELU"
    assert pu.group_of("while.326", "jit(update)/jvp()/while") == "loop control"
    assert pu.group_of("copy_concatenate_fusion", "jit(update)/jvp()/concatenate") == "copies / layout"
    assert pu.group_of("multiply_add_fusion", "jit(update)/scale_by_adam/mul") == "Adam + EMA"
    assert pu.group_of("add_fusion", "jit(update)/threefry2x32/add") == "other"


def test_a_fusion_around_a_matmul_counts_as_matmul():
    hlo = "\n".join([
        "%fused_computation.3 (p0: f32[4,8], p1: f32[8,2]) -> f32[4] {",
        '  %dot.1 = f32[4,2]{1,0} dot(%p0, %p1), lhs_contracting_dims={1}, rhs_contracting_dims={0}',
        '  ROOT %reduce.2 = f32[4]{0} reduce(%dot.1, %c), dimensions={1}, to_apply=%add',
        "}",
        "%fused_computation.4 (p0: f32[4]) -> f32[4] {",
        "  ROOT %tanh.1 = f32[4]{0} tanh(%p0)",
        "}",
        "ENTRY %main (a: f32[4,8], b: f32[8,2]) -> f32[4] {",
        '  %ynn_fusion.3 = f32[4]{0} fusion(%a, %b), kind=kCustom, calls=%fused_computation.3, '
        'metadata={op_name="jit(f)/reduce_sum"}',
        '  ROOT %tanh_fusion = f32[4]{0} fusion(%ynn_fusion.3), kind=kLoop, calls=%fused_computation.4, '
        'metadata={op_name="jit(f)/tanh"}',
        "}",
    ])
    names = pu.op_names(hlo)
    assert pu.group_of("ynn_fusion.3", names["ynn_fusion.3"]) == "matmul"
    assert pu.group_of("tanh_fusion", names["tanh_fusion"]) == "GELU"



def test_official_loop_gives_the_official_side_the_tiers_sizes_and_the_schedule():
    args = argparse.Namespace(env="antmaze-large-navigate-singletask-v0", steps=2000, log_interval=500,
                              eval_interval=1000, eval_episodes=5)
    flags = dict(f[2:].split("=", 1) for f in ol.official_flags("floq", "teach", args))
    ref = make_config("floq", tier="teach")
    assert flags["agent"] == "agents/floq.py"
    assert flags["agent.batch_size"] == str(ref.batch_size)
    assert flags["agent.value_hidden_dims"] == "(" + ",".join(map(str, ref.value_hidden_dims)) + ")"
    assert flags["agent.block_width"] == str(ref.block_width)
    assert flags["agent.noise_samples"] == str(ref.noise_samples)
    assert (flags["offline_steps"], flags["log_interval"], flags["eval_interval"], flags["eval_episodes"]) == (
        "2000", "500", "1000", "5")
    assert "agent.block_width" not in dict(f[2:].split("=", 1) for f in ol.official_flags("fql", "teach", args))


def _agent(cls, name, **overrides):
    cfg = make_config(name, tier="smoke", **overrides)
    if name == "floq":
        cfg = with_reward_range(cfg, np.array([-1.0, 0.0]))
    obs, act = np.zeros((1, 29), np.float32), np.zeros((1, 8), np.float32)
    return cls.create(0, obs, act, cfg)


def test_official_speed_times_both_compilations_where_floq_lite_sets_options():
    batch = {}
    wide = osp.contenders(_agent(FloqAgent, "floq", block_width=128), None, batch)
    assert list(wide) == ["floq_lite", "floq_lite, XLA defaults"]
    assert wide["floq_lite, XLA defaults"][0] is FloqAgent.update.defaults
    assert list(osp.contenders(_agent(FloqAgent, "floq"), None, batch)) == ["floq_lite"]  # 64 wide: defaults
    assert list(osp.contenders(_agent(FQLAgent, "fql"), None, batch)) == ["floq_lite"]
