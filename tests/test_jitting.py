"""Compiler options of floq_lite's programs: jit_by_options picks per call, the floq agent's training steps compile
without XLA's library fusions from a 128-wide field, and the numbers stay those of the default compilation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import random_transitions

from floq_lite.agents import FloqAgent, FQLAgent, sample_batches
from floq_lite.agents.floq import NO_LIBRARY_FUSIONS_FROM_WIDTH
from floq_lite.config import make_config, with_reward_range
from floq_lite.jitting import NO_LIBRARY_FUSIONS, jit_by_options, options_supported
from floq_lite.training import seed_keys, train_chunk

DS, DA, B = 5, 2, 8
LIBRARY_FUSION = "__ynn_fusion"  # how the compiled HLO marks a region handed to the library


def _data(n=64):
    return random_transitions(n, DS, DA)


def _floq(width):
    cfg = make_config("floq", tier="smoke", block_width=width, noise_samples=2, critic_flow_steps=2, batch_size=B,
                      actor_hidden_dims=(16, 16), value_hidden_dims=(16, 16))
    data = _data()
    return FloqAgent.create(0, data["observations"], data["actions"], with_reward_range(cfg, np.array([-1.0, 0.0])))


supported = pytest.mark.skipif(not options_supported(tuple(NO_LIBRARY_FUSIONS.items())),
                               reason="this jax does not know the library-fusion option (it is then dropped)")


def test_floq_options_follow_the_field_width():
    assert _floq(NO_LIBRARY_FUSIONS_FROM_WIDTH).compile_options() == NO_LIBRARY_FUSIONS
    assert _floq(NO_LIBRARY_FUSIONS_FROM_WIDTH // 2).compile_options() == {}
    data = _data()
    fql = FQLAgent.create(0, data["observations"], data["actions"], make_config("fql", tier="smoke"))
    assert fql.compile_options() == {}


@supported
def test_wide_floq_update_compiles_without_library_fusions():
    batch = jax.tree.map(lambda x: x[:B], _data())
    wide, narrow = _floq(128), _floq(64)
    assert LIBRARY_FUSION not in type(wide).update.lower(wide, batch).compile().as_text()
    # The narrow field keeps the defaults, which do use the library: the check above can fail.
    assert LIBRARY_FUSION in type(narrow).update.lower(narrow, batch).compile().as_text()


def test_options_change_speed_not_numbers():
    """Three updates of a 128-wide floq agent with its options and with the defaults: the same losses and parameters
    up to float rounding (the fusions differ, the arithmetic does not)."""
    data = _data()
    agent = _floq(128)
    batches = sample_batches(data, jax.random.PRNGKey(1), 3, B)
    tuned, default = agent, agent
    plain = FloqAgent.update.defaults
    for i in range(3):
        batch = jax.tree.map(lambda x: x[i], batches)
        tuned, info_t = tuned.update(batch)
        default, info_d = plain(default, batch)
        np.testing.assert_allclose(info_t["critic/critic_loss"], info_d["critic/critic_loss"], rtol=1e-4)
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5), tuned.params, default.params)


@supported
def test_train_chunk_uses_the_agents_options():
    data = _data()
    keys = seed_keys([0, 1])
    for width, fused_by_library in ((128, False), (64, True)):
        agents = FloqAgent.create_seeds([0, 1], data["observations"], data["actions"], _floq(width).config)
        lowered = train_chunk.lower(agents, data, keys, jnp.asarray(0), num_steps=2, batch_size=B)
        assert (LIBRARY_FUSION in lowered.compile().as_text()) == fused_by_library


def test_jit_by_options_one_program_per_option_set_and_unknown_options_dropped():
    calls = []

    def options_of(x, opts):
        calls.append(opts)
        return dict(opts)

    f = jit_by_options(lambda x, opts: x * 2.0, options_of, static_argnums=(1,))
    bogus = {"xla_cpu_no_such_option_in_any_jax": True}
    assert float(f(3.0, ())) == 6.0
    assert float(f(3.0, tuple(bogus.items()))) == 6.0  # unknown option: compiled with the defaults, not an error
    # Two argument sets that resolve to the defaults share one program; the dropped option is remembered.
    assert f.pick(1.0, ()) is f.pick(1.0, tuple(bogus.items())) is f.defaults
    assert not options_supported(tuple(bogus.items()))
    assert len(calls) == 4  # decided in Python on every call, before any tracing


@supported
def test_a_supported_option_gets_its_own_program_reused_across_calls():
    f = jit_by_options(lambda x: x * 2.0, lambda x: NO_LIBRARY_FUSIONS)
    assert f.pick(1.0) is f.pick(2.0)
    assert f.pick(1.0) is not f.defaults
    assert float(f(3.0)) == 6.0
