"""floq and FQL agents: update mechanics, determinism, seed vmapping, scanned updates, EMA, bad input, configs."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import random_transitions

from floq_lite.agents import FloqAgent, FQLAgent, check_batch_finite, sample_batches
from floq_lite.config import ENVS, FloqConfig, FQLConfig, env_base_name, make_config, with_reward_range

DS, DA, B, M = 5, 2, 8, 64
TINY = dict(actor_hidden_dims=(16, 16), value_hidden_dims=(16, 16), batch_size=B)


def _dataset(seed=0, n=M):
    return random_transitions(n, DS, DA, seed)


def _config(name):
    if name == "floq":
        cfg = make_config("floq", tier="smoke", block_width=16, noise_samples=2, critic_flow_steps=2, **TINY)
        return with_reward_range(cfg, np.array([-1.0, 0.0]))
    return make_config("fql", tier="smoke", **TINY)


CLASSES = {"floq": FloqAgent, "fql": FQLAgent}
TARGET = {"floq": ("vf", "target_vf"), "fql": ("critic", "target_critic")}


@pytest.fixture(scope="module", params=["floq", "fql"])
def setup(request):
    name = request.param
    data = _dataset()
    agent = CLASSES[name].create(0, data["observations"], data["actions"], _config(name))
    batches = sample_batches(data, jax.random.PRNGKey(1), 3, B)  # (3, B, ...)
    return name, agent, data, batches


def _take(tree, i):
    return jax.tree.map(lambda x: x[i], tree)


def _close(a, b, rtol=1e-5, atol=1e-6):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=rtol, atol=atol), a, b)


def test_update_runs_finite_and_keeps_shapes(setup):
    name, agent, _, batches = setup
    new, info = agent.update(_take(batches, 0))
    assert int(new.step) == 1
    for k, v in info.items():
        assert np.ndim(v) == 0 and np.isfinite(v), k
    assert float(info["batch/nonfinite"]) == 0
    jax.tree.map(lambda a, b: (a.shape == b.shape) or pytest.fail("shape changed"), agent.params, new.params)
    assert any(not np.allclose(a, b) for a, b in zip(jax.tree.leaves(agent.params), jax.tree.leaves(new.params)))
    expected = {"critic/critic_loss", "actor/actor_loss", "actor/bc_flow_loss", "actor/distill_loss", "actor/q_loss"}
    if name == "floq":
        expected |= {"critic/floq_loss", "critic/distilled_critic_loss", "critic/var_flow_returns", "critic/td_error"}
    assert expected <= set(info)
    acts = agent.sample_actions(batches["observations"][0], jax.random.PRNGKey(0))
    assert acts.shape == (B, DA) and float(jnp.abs(acts).max()) <= 1.0


def test_same_seed_same_losses(setup):
    name, agent, data, batches = setup
    twin = CLASSES[name].create(0, data["observations"], data["actions"], agent.config)
    _close(agent.params, twin.params, 0, 0)
    i1, i2 = agent.update(_take(batches, 0))[1], twin.update(_take(batches, 0))[1]
    _close(i1, i2, 0, 0)
    other = CLASSES[name].create(1, data["observations"], data["actions"], agent.config)
    assert not np.allclose(other.update(_take(batches, 0))[1]["actor/actor_loss"], i1["actor/actor_loss"])


def test_update_many_equals_repeated_update_and_sampled_scan(setup):
    _, agent, data, batches = setup
    seq = agent
    infos = []
    for i in range(3):
        seq, info = seq.update(_take(batches, i))
        infos.append(info)
    many, many_info = agent.update_many(batches)
    _close(seq.params, many.params, 1e-4, 1e-5)
    np.testing.assert_allclose(many_info["critic/critic_loss"], [i["critic/critic_loss"] for i in infos], rtol=1e-4)
    sampled, _ = agent.update_many_sampled(data, jax.random.PRNGKey(1), 3)  # same keys as sample_batches above
    _close(sampled.params, many.params, 1e-5, 1e-6)


def test_vmapped_seeds_equal_sequential_seeds(setup):
    name, agent, data, batches = setup
    cls = CLASSES[name]
    agents = cls.create_seeds([0, 3], data["observations"], data["actions"], agent.config)
    for s, seed in enumerate([0, 3]):  # the jitted, vmapped initialisation is the eager one, bit for bit
        eager = cls.create(seed, data["observations"], data["actions"], agent.config)
        got, want = jax.tree.leaves(jax.tree.map(lambda x: x[s], agents)), jax.tree.leaves(eager)
        assert len(got) == len(want)  # parameters, optimiser state and key
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    per_seed = jax.tree.map(lambda x: x[:2], batches)  # seed s gets batch s
    new, info = cls.update_seeds(agents, per_seed)
    for s, seed in enumerate([0, 3]):
        single, single_info = cls.create(seed, data["observations"], data["actions"], agent.config).update(
            _take(batches, s))
        _close(_take(new.params, s), single.params, 1e-4, 1e-5)
        np.testing.assert_allclose(info["critic/critic_loss"][s], single_info["critic/critic_loss"], rtol=1e-4)


def test_ema_moves_target_by_tau_from_pre_step_params(setup):
    name, agent, _, batches = setup
    online, target = TARGET[name]
    a1, _ = agent.update(_take(batches, 0))
    a2, _ = a1.update(_take(batches, 1))
    tau = agent.config.tau
    expected = jax.tree.map(lambda p, tp: tau * p + (1 - tau) * tp, a1.params[online], a1.params[target])
    _close(a2.params[target], expected, 1e-6, 1e-7)
    # Target changed by exactly tau of the gap, and it is not the post-step online field.
    assert not np.allclose(jax.tree.leaves(a2.params[target])[0], jax.tree.leaves(a2.params[online])[0])


def test_nonfinite_batch_is_flagged_and_host_check_names_field(setup):
    _, agent, _, batches = setup
    bad = dict(_take(batches, 0))
    bad["rewards"] = bad["rewards"].at[3].set(jnp.nan)
    _, info = agent.update(bad)
    assert float(info["batch/nonfinite"]) == 1
    with pytest.raises(ValueError, match=r"rewards.*row 3"):
        check_batch_finite(bad)
    wrong = dict(_take(batches, 0))
    wrong["rewards"] = wrong["rewards"][:, None]
    with pytest.raises(ValueError, match="rewards"):
        agent.update(wrong)


def test_floq_queries(setup):
    name, agent, _, batches = setup
    if name != "floq":
        pytest.skip("floq only")
    obs, act = batches["observations"][0], batches["actions"][0]
    assert agent.distilled_q(obs, act).shape == (2, B)
    q2 = agent.flow_q(obs, act, jax.random.PRNGKey(0), num_steps=2)
    q5 = agent.flow_q(obs, act, jax.random.PRNGKey(0), num_steps=5)
    assert q2.shape == q5.shape == (2, B) and not np.allclose(q2, q5)


def test_floq_needs_reward_range():
    cfg = make_config("floq", tier="smoke")
    with pytest.raises(ValueError, match="with_reward_range"):
        FloqAgent.create(0, jnp.zeros((1, DS)), jnp.zeros((1, DA)), cfg)


# --- configs ------------------------------------------------------------------------------------------------------


def test_paper_presets_are_the_official_defaults():
    f = make_config("floq", tier="paper")
    assert (f.actor_hidden_dims, f.value_hidden_dims, f.vf_hidden_dims) == ((512,) * 4,) * 3
    assert (f.batch_size, f.critic_flow_steps, f.noise_samples, f.lr, f.discount, f.tau) == (256, 8, 8, 3e-4, 0.99,
                                                                                             0.005)
    assert (f.noise_coverage, f.alpha, f.offline_steps, f.eval_interval, f.eval_episodes) == (0.1, 10.0, 2_000_000,
                                                                                              20_000, 50)
    assert (f.num_bins, f.sigma, f.reward_offset, f.time_embed, f.q_agg) == (51, 16.0, 0.01, "cos", "mean")
    q = make_config("fql", tier="paper")
    assert (q.value_hidden_dims, q.batch_size, q.offline_steps, q.actor_flow_steps) == ((512,) * 4, 256, 1_000_000, 10)
    t, s = make_config("floq", tier="teach"), make_config("floq", tier="smoke")
    assert (t.vf_hidden_dims, t.batch_size, t.critic_flow_steps, t.noise_samples) == ((256, 256), 256, 8, 8)
    assert (s.vf_hidden_dims, s.batch_size, s.critic_flow_steps, s.noise_samples) == ((64, 64), 64, 4, 4)


@pytest.mark.parametrize(
    "env, variant, expect",
    [
        ("antmaze-giant-navigate-singletask-task1-v0", "default",
         dict(discount=0.995, q_agg="min", batch_size=512, alpha=10.0, critic_flow_steps=8)),
        ("antmaze-giant-navigate-singletask-v0", "best", dict(critic_flow_steps=4, batch_size=512)),
        ("humanoidmaze-large-navigate-singletask-task3-v0", "default",
         dict(discount=0.995, batch_size=512, alpha=20.0)),
        ("humanoidmaze-medium-navigate", "default", dict(discount=0.995, alpha=30.0, batch_size=256)),
        ("antsoccer-arena-navigate-singletask-task4-v0", "default", dict(discount=0.995, alpha=10.0)),
        ("cube-double-play-singletask-task2-v0", "default", dict(alpha=300.0, block_depth=2, discount=0.99)),
        ("scene-play-singletask-task2-v0", "default", dict(alpha=300.0, block_depth=4)),
        ("puzzle-4x4-play-singletask-task4-v0", "default", dict(alpha=1000.0, noise_coverage=0.1)),
        ("puzzle-4x4-play-singletask-task4-v0", "best", dict(alpha=1000.0, noise_coverage=0.25)),
    ],
)
def test_floq_env_overrides(env, variant, expect):
    cfg = make_config("floq", tier="paper", env_name=env, variant=variant)
    assert {k: getattr(cfg, k) for k in expect} == expect


def test_fql_env_overrides_and_size_overrides_only_at_paper_tier():
    assert make_config("fql", tier="paper", env_name="antmaze-large-navigate-singletask-task1-v0").q_agg == "min"
    h = make_config("fql", tier="paper", env_name="humanoidmaze-large-navigate")
    assert (h.discount, h.alpha, h.q_agg, h.batch_size) == (0.995, 30.0, "mean", 256)
    assert make_config("fql", tier="paper", env_name="puzzle-3x3-play").alpha == 1000.0
    smoke = make_config("floq", tier="smoke", env_name="antmaze-giant-navigate")
    assert (smoke.batch_size, smoke.discount, smoke.q_agg) == (64, 0.995, "min")
    assert all(env_base_name(e + "-singletask-task2-v0") == e for e in ENVS)


def test_reward_range_and_noise_interval():
    cfg = with_reward_range(make_config("floq", tier="paper", env_name="puzzle-4x4-play", variant="best"),
                            np.array([0.0, -16.0, -3.0]))
    assert (cfg.r_min, cfg.r_max) == (-16.0, 0.0)
    np.testing.assert_allclose([cfg.noise_min, cfg.noise_max], [-400.0, 0.0])
    np.testing.assert_allclose([cfg.q_min, cfg.q_max], [-1601.0, 1.0])
    assert isinstance(with_reward_range(make_config("fql", tier="smoke"), [0.0]), FQLConfig)
    with pytest.raises(ValueError, match="finite"):
        with_reward_range(cfg, [0.0, np.nan])


def test_reward_range_contains_zero_as_the_official_zero_padded_buffer_does():
    # A dataset with no reward-0 row: unclamped, l = u = -10 and the support would be [-101, -99].
    cfg = with_reward_range(make_config("floq", tier="smoke"), np.full(50, -1.0))
    assert (cfg.r_min, cfg.r_max) == (-1.0, 0.0)
    np.testing.assert_allclose([cfg.noise_min, cfg.noise_max], [-10.0, 0.0])
    np.testing.assert_allclose([cfg.q_min, cfg.q_max], [-101.0, 1.0])
    positive = with_reward_range(make_config("floq", tier="smoke"), np.array([1.0, 2.0]))
    assert (positive.r_min, positive.r_max) == (0.0, 2.0)  # all-positive rewards: r_min clamps to 0


def test_bad_names_list_valid_ones():
    with pytest.raises(ValueError, match="antmaze-large-navigate"):
        make_config("floq", env_name="walker-run")
    with pytest.raises(ValueError, match="smoke, teach, paper"):
        make_config("floq", tier="huge")
    with pytest.raises(ValueError, match="floq, fql"):
        make_config("sac")
    with pytest.raises(ValueError, match="default, best"):
        make_config("floq", variant="tuned")
    with pytest.raises(ValueError, match="valid fields"):
        make_config("floq", alpah=3.0)
    with pytest.raises(ValueError, match="distill_num_ensembles"):
        make_config("floq", distill_num_ensembles=3)
    assert dataclasses.is_dataclass(FloqConfig)


# --- the follow-up paper's feature freeze --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["floq", "fql"])
def test_feature_freeze_keeps_features_exact_and_trains_the_head_with_its_target(name):
    from floq_lite.networks import head_mask

    data = _dataset()
    cfg = dataclasses.replace(_config(name), freeze_features_at=2)
    agent = CLASSES[name].create(0, data["observations"], data["actions"], cfg)
    batches = sample_batches(data, jax.random.PRNGKey(1), 5, B)
    online, target = TARGET[name]
    states = [agent]
    for i in range(5):
        states.append(states[-1].update(_take(batches, i))[0])
    mask = jax.tree.leaves(head_mask(agent.params[online]))
    leaves = [jax.tree.leaves(s.params[online]) for s in states]
    targets = [jax.tree.leaves(s.params[target]) for s in states]
    assert any(mask) and not all(mask)
    for j, is_head in enumerate(mask):
        moves = [not np.array_equal(leaves[i][j], leaves[i + 1][j]) for i in range(5)]
        if is_head:
            assert all(moves)  # the head keeps learning after the freeze
            assert not np.array_equal(targets[4][j], targets[5][j])  # and its EMA target keeps following it
            assert not np.array_equal(targets[5][j], leaves[5][j])
        else:
            assert moves[:2] == [True, True] and not any(moves[2:])  # bit-identical from update 3 (step 2) on
            for i in (3, 4, 5):  # the target's features are the frozen online ones
                np.testing.assert_array_equal(targets[i][j], leaves[i][j])
    # The other networks are not touched by the switch.
    other = "critic" if name == "floq" else "actor_onestep_flow"
    assert not np.array_equal(jax.tree.leaves(states[4].params[other])[0], jax.tree.leaves(states[5].params[other])[0])


@pytest.mark.parametrize("name", ["floq", "fql"])
def test_freeze_after_the_last_step_equals_no_freeze(name):
    data = _dataset()
    batches = sample_batches(data, jax.random.PRNGKey(1), 3, B)
    a = CLASSES[name].create(0, data["observations"], data["actions"], _config(name))
    b = CLASSES[name].create(0, data["observations"], data["actions"],
                             dataclasses.replace(_config(name), freeze_features_at=1000))
    a, _ = a.update_many(batches)
    b, _ = b.update_many(batches)
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params), strict=True):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="freeze_features_at"):
        make_config(name, tier="smoke", freeze_features_at=-3)
