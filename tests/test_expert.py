"""Tests of floq_lite.expert: SAC (the math of each loss and the update), the online-ant-xy env, training runs
(checkpoints, resume), the shipped-weights file format and the `floq-lite expert` command.

Networks are tiny and every SAC test shares one config and one set of shapes, so `update` compiles once for the
file (plus once for the ant's shapes in the training test). The one slow-to-train property, "the shipped expert
walks", runs the shipped weights for 800 env steps.
"""

from __future__ import annotations

import dataclasses
import json
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

pytest.importorskip("ogbench")

from floq_lite.cli import main as cli_main
from floq_lite.expert import sac, shipped
from floq_lite.expert import train as expert_train
from floq_lite.expert.ant_xy import make_ant_xy_env, seeded_reset, split_observation

# One small config for every SAC test (update is jitted with the config as a static argument: one compile).
SMALL = dataclasses.replace(
    sac.SACConfig(), hidden_dims=(32, 32), batch_size=64, lr=3e-3, init_temperature=0.1, tau=0.05
)
OBS, ACT, B = 3, 1, 64


def _state(seed: int = 0, obs_dim: int = OBS, action_dim: int = ACT) -> sac.SACState:
    return sac.create(jax.random.PRNGKey(seed), obs_dim, action_dim, SMALL)


def _batch(seed: int, masks: np.ndarray | None = None) -> dict[str, jax.Array]:
    rng = np.random.default_rng(seed)
    batch = {
        "observations": rng.normal(size=(B, OBS)),
        "actions": rng.uniform(-1, 1, size=(B, ACT)),
        "rewards": rng.normal(size=B),
        "masks": rng.integers(0, 2, size=B) if masks is None else masks,
        "next_observations": rng.normal(size=(B, OBS)),
    }
    return {k: jnp.asarray(v, jnp.float32) for k, v in batch.items()}


def _tree_allclose(a, b, **kw) -> None:
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), **kw)


def _tree_equal(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


# --- the tanh-squashed Gaussian --------------------------------------------------------------------------------


def _tanh_gaussian_log_density(a: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Change of variables, written independently in float64: p(a) = N(atanh a; mean, std^2) / (1 - a^2)."""
    u = np.arctanh(a)
    return -0.5 * ((u - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi) - np.log1p(-(a**2))


def test_tanh_gaussian_log_prob_is_the_normalised_density_of_its_samples():
    means = jnp.array([0.3, -1.2, 0.0], jnp.float32)
    log_stds = jnp.array([-0.2, 0.4, -1.5], jnp.float32)
    n = 4096
    actions, log_probs = sac.tanh_gaussian_sample(
        jnp.tile(means, (n, 1)), jnp.tile(log_stds, (n, 1)), jax.random.PRNGKey(0)
    )
    assert actions.shape == (n, 3) and log_probs.shape == (n,)
    assert np.abs(np.asarray(actions)).max() <= 1.0
    a = np.asarray(actions, np.float64)
    stds = np.exp(np.asarray(log_stds, np.float64))
    per_dim = [_tanh_gaussian_log_density(a[:, j], float(means[j]), stds[j]) for j in range(3)]
    # The reported log-prob is the sum over dimensions of the exact density at the returned action. (Where some
    # |a| > 0.999 the float32 action no longer pins down atanh(a) to this tolerance, so those rows are left out.)
    inner = np.all(np.abs(a) <= 0.999, axis=1)
    assert inner.mean() > 0.95
    np.testing.assert_allclose(np.asarray(log_probs)[inner], np.sum(per_dim, axis=0)[inner], atol=1e-3)

    grid = np.tanh(np.linspace(-12.0, 12.0, 200_001))  # a grid on (-1, 1), dense near the bounds
    for j in range(3):
        density = np.exp(_tanh_gaussian_log_density(grid, float(means[j]), stds[j]))
        assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-6)  # a density on (-1, 1)
        # ... and the samples come from it: their mean matches the density's (4096 samples: SE <= 0.015).
        assert a[:, j].mean() == pytest.approx(np.trapezoid(grid * density, grid), abs=0.05)


def test_squash_correction_is_log_one_minus_tanh_squared_and_finite_at_the_bounds():
    u = jnp.array([-20.0, -3.0, -1.0, -0.2, 0.5, 2.0, 3.0, 20.0], jnp.float32)[:, None]
    log_stds = jnp.full_like(u, -12.0)  # std 6e-6: the pre-squash sample is u itself up to ~1e-5
    key = jax.random.PRNGKey(3)
    actions, log_probs = sac.tanh_gaussian_sample(u, log_stds, key)
    _, log_probs_at_0 = sac.tanh_gaussian_sample(jnp.zeros_like(u), log_stds, key)  # same eps: same Gaussian part
    # log_prob = gaussian(eps) - log(1 - tanh(u)^2), and the correction is 0 at u = 0.
    correction = -(np.asarray(log_probs, np.float64) - np.asarray(log_probs_at_0, np.float64))
    u64 = np.asarray(u[:, 0], np.float64)
    exact = 2.0 * np.log(2.0) - 2.0 * np.abs(u64) - 2.0 * np.log1p(np.exp(-2.0 * np.abs(u64)))  # -2 log cosh u
    moderate = np.abs(u64) <= 3
    np.testing.assert_allclose(exact[moderate], np.log1p(-np.tanh(u64[moderate]) ** 2), rtol=1e-10)
    assert np.all(np.isfinite(np.asarray(log_probs)))
    np.testing.assert_allclose(correction, exact, atol=1e-4)  # |u| = 20 included: about -38.6
    # In float32 the naive formula is -inf there (tanh(20) rounds to 1), which is why the stable form is used.
    assert np.asarray(actions)[-1, 0] == 1.0
    assert np.isneginf(float(jnp.log(1.0 - jnp.tanh(jnp.float32(20.0)) ** 2)))


# --- the losses and the update ---------------------------------------------------------------------------------


def test_temperature_loss_descends_towards_the_target_entropy():
    grad = jax.grad(sac.temperature_loss)
    alpha = 0.5
    # d/dlog_alpha = alpha (H - H_target): negative below the target, so gradient descent raises alpha.
    assert float(grad(jnp.log(alpha), jnp.asarray(-3.0), -1.0)) == pytest.approx(alpha * -2.0, rel=1e-6)
    assert float(grad(jnp.log(alpha), jnp.asarray(1.0), -1.0)) == pytest.approx(alpha * 2.0, rel=1e-6)
    # The entropy is a constant for this loss (the actor is not trained through it).
    assert float(jax.grad(sac.temperature_loss, argnums=1)(jnp.log(alpha), jnp.asarray(1.0), -1.0)) == 0.0


def _with_constant_policy(state: sac.SACState, log_std: float) -> sac.SACState:
    """The actor outputs mean 0 and the given log-std for every observation."""
    actor = jax.tree.map(lambda x: x, state.params["actor"])
    actor["mean"] = {k: jnp.zeros_like(v) for k, v in actor["mean"].items()}
    actor["log_std"] = {"kernel": jnp.zeros_like(actor["log_std"]["kernel"]),
                        "bias": jnp.full_like(actor["log_std"]["bias"], log_std)}
    return state.replace(params={**state.params, "actor": actor})


def test_one_update_raises_alpha_below_the_target_entropy_and_lowers_it_above():
    target = SMALL.target_entropy(ACT)  # -0.5
    base = _state(0)
    alpha0 = float(jnp.exp(base.params["log_alpha"]))
    # std e^-5: H = 1.42 - 5 = -3.6 < target.   std 1: H(tanh N(0, 1)) = 0.67 > target.
    for log_std, below in ((-5.0, True), (0.0, False)):
        state, info = sac.update(_with_constant_policy(base, log_std), _batch(1), jax.random.PRNGKey(2))
        assert (float(info["actor/entropy"]) < target) == below
        alpha = float(jnp.exp(state.params["log_alpha"]))
        assert (alpha > alpha0) if below else (alpha < alpha0), (log_std, alpha, alpha0)


def test_critic_target_is_the_min_of_the_target_critics_with_the_entropy_backup():
    state = _state(0)
    # Target critics that differ from the online ones, and an alpha that is not 1.
    state = state.replace(target_critic=_state(9).params["critic"],
                          params={**state.params, "log_alpha": jnp.log(jnp.float32(0.3))})
    key = jax.random.PRNGKey(5)
    batch = _batch(4, masks=np.array([1.0, 0.0] * (B // 2)))
    critic_loss = jax.jit(sac.critic_loss)
    loss, info = critic_loss(state, state.params["critic"], batch, key)

    @jax.jit
    def network_outputs(state, batch, key):
        # a' ~ pi(.|s') (the sampler is tested above); every target critic's Q(s', a'); the online Q(s, a).
        means, log_stds = state.actor.apply({"params": state.params["actor"]}, batch["next_observations"])
        next_actions, next_log_probs = sac.tanh_gaussian_sample(means, log_stds, key)
        target_qs = state.critic.apply({"params": state.target_critic}, batch["next_observations"], next_actions)
        qs = state.critic.apply({"params": state.params["critic"]}, batch["observations"], batch["actions"])
        return next_log_probs, target_qs, qs

    next_log_probs, target_qs, qs = (np.asarray(x, np.float64) for x in network_outputs(state, batch, key))
    assert target_qs.shape == qs.shape == (SMALL.num_qs, B)
    # By hand: min over the target critics, minus alpha log pi(a'|s'), bootstrapped where the mask is 1.
    r, m = np.asarray(batch["rewards"], np.float64), np.asarray(batch["masks"], np.float64)
    soft = target_qs.min(0) - 0.3 * next_log_probs
    target = r + SMALL.discount * m * soft
    expected = np.mean((qs - target) ** 2)
    assert float(info["critic/target_mean"]) == pytest.approx(target.mean(), abs=1e-5)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    # The check discriminates: the mean of the critics, or no entropy term, would give another loss.
    for wrong_soft in (target_qs.mean(0) - 0.3 * next_log_probs, target_qs.min(0)):
        wrong = np.mean((qs - (r + SMALL.discount * m * wrong_soft)) ** 2)
        assert abs(wrong - expected) > 1e-3 * expected

    # masks = 0 (a fall) removes the bootstrap entirely: the target is the reward.
    batch0 = {**batch, "masks": jnp.zeros(B)}
    loss0, info0 = critic_loss(state, state.params["critic"], batch0, key)
    assert float(info0["critic/target_mean"]) == pytest.approx(r.mean(), abs=1e-6)
    assert float(loss0) == pytest.approx(np.mean((qs - r) ** 2), rel=1e-5)


def test_each_loss_moves_only_its_own_parameters():
    state = _state(0).replace(target_critic=_state(9).params["critic"])
    batch, key = _batch(6), jax.random.PRNGKey(7)
    new, _ = sac.update(state, batch, key)
    # Adam's first moment after one step from zero is (1 - b1) * gradient (optax.adam, b1 = 0.9): the gradient of
    # the total loss that update took, read back without compiling another update.
    adam_state = new.opt_state[0]
    assert isinstance(adam_state, optax.ScaleByAdamState) and int(adam_state.count) == 1
    grads = jax.tree.map(lambda mu: mu / 0.1, adam_state.mu)

    # Each group's gradient is that of its own loss alone (the keys as update splits them).
    critic_key, actor_key = jax.random.split(key)

    @jax.jit
    def own_and_cross_gradients(state):
        params = state.params
        g_critic = jax.grad(lambda c: sac.critic_loss(state, c, batch, critic_key)[0])(params["critic"])
        g_actor, a_info = jax.grad(lambda a: sac.actor_loss(state, a, batch, actor_key), has_aux=True)(
            params["actor"])
        # What the stop_gradients remove: the actor loss's gradient with respect to the critics.
        leak = jax.grad(lambda c: sac.actor_loss(state.replace(params={**params, "critic": c}), params["actor"],
                                                 batch, actor_key)[0])(params["critic"])
        return g_critic, g_actor, a_info["actor/entropy"], leak

    g_critic, g_actor, entropy, leak = own_and_cross_gradients(state)
    _tree_allclose(grads["critic"], g_critic, rtol=1e-4, atol=1e-6)
    _tree_allclose(grads["actor"], g_actor, rtol=1e-4, atol=1e-6)
    alpha = float(jnp.exp(state.params["log_alpha"]))
    expected = alpha * (float(entropy) - SMALL.target_entropy(ACT))
    assert float(grads["log_alpha"]) == pytest.approx(expected, rel=1e-4)
    # Not vacuous: the cross-gradient is far from zero, so a leak would show above.
    assert max(float(jnp.abs(x).max()) for x in jax.tree.leaves(leak)) > 1e-3


def test_target_critics_follow_by_polyak_averaging():
    state = _state(0).replace(target_critic=_state(9).params["critic"])
    new, _ = sac.update(state, _batch(8), jax.random.PRNGKey(9))
    tau = SMALL.tau
    expected = jax.tree.map(lambda old, cur: (1 - tau) * old + tau * cur, state.target_critic, new.params["critic"])
    _tree_allclose(new.target_critic, expected, rtol=1e-6, atol=1e-7)
    assert not _tree_equal(new.params["critic"], state.params["critic"])  # the critics did move
    assert int(new.step) == 1


def test_updates_fit_the_critic_on_a_fixed_batch_and_are_deterministic():
    batch = _batch(10)

    def run(key_seed: int, steps: int):
        state, key, losses = _state(0), jax.random.PRNGKey(key_seed), []
        for _ in range(steps):
            key, k = jax.random.split(key)
            state, info = sac.update(state, batch, k)
            losses.append(float(info["critic/loss"]))
        return state, np.array(losses)

    _, losses = run(0, 200)
    # Measured: 2.15 over the first 10 steps, 0.22 over the last 10 (other batches: 2.2 -> 0.19, 2.2 -> 0.22).
    assert losses[-10:].mean() < 0.25 * losses[:10].mean(), losses[::10]
    again, _ = run(0, 20)
    once_more, _ = run(0, 20)
    other, _ = run(1, 20)
    assert _tree_equal(again.params, once_more.params) and _tree_equal(again.target_critic, once_more.target_critic)
    assert not _tree_equal(again.params["actor"], other.params["actor"])  # the key matters (sampled actions)


def test_sac_solves_a_one_step_bandit():
    """Reward -(a - 0.4)^2, no bootstrap; the buffer holds uniformly random actions, as after warm-up."""
    rng = np.random.default_rng(0)
    n = 4096
    obs = rng.normal(size=(n, OBS)).astype(np.float32)
    actions = rng.uniform(-1, 1, size=(n, ACT)).astype(np.float32)
    data = {"observations": obs, "actions": actions, "rewards": -((actions[:, 0] - 0.4) ** 2),
            "masks": np.zeros(n, np.float32), "next_observations": obs}
    state, key = _state(0), jax.random.PRNGKey(11)
    for _ in range(600):
        key, k = jax.random.split(key)
        idx = rng.integers(0, n, size=B)
        state, _ = sac.update(state, {kk: v[idx] for kk, v in data.items()}, k)
    greedy = np.asarray(sac.greedy_actions(state, jnp.asarray(rng.normal(size=(256, OBS)), jnp.float32)))[:, 0]
    # Measured: mean 0.42 (std 0.09 over states), 90% of states within 0.15 of 0.4, 97% within 0.25; the initial
    # policy's mode is 0.00 +- 0.20.
    assert greedy.mean() == pytest.approx(0.4, abs=0.08)
    assert np.mean(np.abs(greedy - 0.4) < 0.25) > 0.8
    sampled = np.asarray(sac.sample_actions(state, jnp.asarray(obs[:256]), jax.random.PRNGKey(1)))
    assert sampled.shape == (256, ACT) and np.abs(sampled).max() <= 1.0


# --- the online-ant-xy environment -----------------------------------------------------------------------------


def test_ant_xy_env_observes_a_unit_direction_and_rewards_displacement_along_it():
    env = make_ant_xy_env()
    before_state = np.random.get_state()[1].copy()
    obs = seeded_reset(env, 0)
    assert np.array_equal(np.random.get_state()[1], before_state)  # the caller's global RNG is untouched
    np.testing.assert_array_equal(seeded_reset(env, 0), obs)  # and the reset is reproducible
    assert obs.shape == (29,) and env.action_space.shape == (8,)
    rng = np.random.default_rng(0)
    data = env.unwrapped.data
    for t in range(1, 121):
        xy, z = data.qpos[:2].copy(), env.z.copy()
        obs, reward, terminated, truncated, _ = env.step(rng.uniform(-1, 1, 8))
        state, direction = split_observation(obs)
        assert reward == pytest.approx(float((data.qpos[:2] - xy) @ z), abs=1e-12)
        np.testing.assert_allclose(state, np.concatenate([data.qpos[2:], data.qvel]))  # 27 numbers, no x-y
        assert np.linalg.norm(direction) == pytest.approx(1.0)
        np.testing.assert_array_equal(direction, env.z)  # the observation shows the direction of the next step
        assert np.array_equal(direction, z) == (t != 100)  # redrawn every 100 steps
        assert not (terminated or truncated)
    env.close()


# --- training runs ---------------------------------------------------------------------------------------------

TINY_RUN = dataclasses.replace(SMALL, total_steps=700, random_steps=600, eval_interval=650, eval_episodes=1,
                               checkpoint_interval=620)


class _Interrupt(Exception):
    pass


def test_train_expert_writes_a_run_refuses_to_overwrite_it_and_resumes(tmp_path, monkeypatch):
    out = tmp_path / "run"

    def interrupt(step, metrics):
        raise _Interrupt(step)  # after the checkpoint at 620, at the evaluation at 650

    # The interrupted run's evaluation is a stand-in (fast, and recognisable in eval.csv).
    monkeypatch.setattr(expert_train, "evaluate_policy", lambda state, episodes: {"eval/return": 12345.0})
    with pytest.raises(_Interrupt):
        expert_train.train_expert(out, TINY_RUN, seed=1, progress=False, log_interval=50, on_eval=interrupt)
    monkeypatch.undo()
    assert [r["eval/return"] for r in expert_train.TableLog(out, "eval").read()] == ["12345.0"]
    assert {"config.json", "checkpoint.msgpack", "buffer.npz", "eval.csv"} <= {p.name for p in out.iterdir()}
    assert not (out / "actor.msgpack").exists()
    with np.load(out / "buffer.npz") as saved:
        assert int(saved["size"]) == 620
        first_rows = saved["observations"][:620].copy()
    with pytest.raises(FileExistsError, match="resume"):
        expert_train.train_expert(out, TINY_RUN, progress=False)
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        expert_train.train_expert(tmp_path / "empty", TINY_RUN, resume=True, progress=False)

    # Resume: the saved config and seed win over the arguments.
    final = expert_train.train_expert(out, sac.SACConfig(), seed=5, resume=True, progress=False, log_interval=50)
    assert final["steps"] == 700 and np.isfinite(final["eval/return"])
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 1 and config["config"]["total_steps"] == 700 and config["final"]["steps"] == 700
    eval_rows = expert_train.TableLog(out, "eval").read()
    assert [int(r["step"]) for r in eval_rows] == [650, 700]  # the interrupted run's row at 650 was replaced
    assert float(eval_rows[0]["eval/return"]) != 12345.0
    metric_rows = expert_train.TableLog(out, "metrics").read()
    assert [int(r["step"]) for r in metric_rows] == [650, 700]
    # The row at 650 averages the 30 updates since the resume (not their sum over 50): alpha is still near its
    # initial 0.1 (50 Adam steps of ~3e-3 on log alpha).
    assert 0.085 < float(metric_rows[0]["temperature/alpha"]) < 0.12
    with np.load(out / "buffer.npz") as saved:
        assert int(saved["size"]) == 700
        np.testing.assert_array_equal(saved["observations"][:620], first_rows)
    expert = shipped.AntExpert(out / "actor.msgpack")
    assert expert.provenance["seed"] == 1 and expert.provenance["final"]["steps"] == 700
    assert expert(np.zeros(27), np.array([1.0, 0.0])).shape == (8,)
    with pytest.raises(ValueError, match="already finished"):  # would overwrite the final evaluation
        expert_train.train_expert(out, resume=True, progress=False)


def test_replay_buffer_adds_samples_and_round_trips(tmp_path):
    buffer = expert_train.ReplayBuffer(4)
    rows = []
    for i in range(3):
        row = {"observations": np.full(29, i), "actions": np.full(8, -i), "rewards": float(i), "masks": 1.0,
               "next_observations": np.full(29, i + 1)}
        buffer.add(**row)
        rows.append(row)
    assert buffer.size == 3
    batch = buffer.sample(np.random.default_rng(0), 50)
    assert batch["observations"].shape == (50, 29) and batch["rewards"].shape == (50,)
    assert set(batch["rewards"]) == {0.0, 1.0, 2.0}  # only valid rows, all of them in 50 draws
    np.testing.assert_array_equal(batch["observations"][:, 0], batch["rewards"])  # rows stay together
    np.testing.assert_array_equal(batch["actions"][:, 0], -batch["rewards"])

    buffer.save(tmp_path / "buffer.npz")
    loaded = expert_train.ReplayBuffer(4)
    loaded.load(tmp_path / "buffer.npz")
    assert loaded.size == 3
    for k in buffer.data:
        np.testing.assert_array_equal(loaded.data[k], buffer.data[k])
    loaded.add(**rows[0])
    with pytest.raises(ValueError, match="full"):
        loaded.add(**rows[0])


# --- the weights file and the shipped expert -------------------------------------------------------------------


@pytest.fixture(scope="module")
def ant_state():
    return sac.create(jax.random.PRNGKey(3), 29, 8, TINY_RUN)  # the training test's config: shared compiles


@pytest.fixture()
def actor_file(tmp_path, ant_state):
    return shipped.save_actor(tmp_path / "actor.msgpack", ant_state, provenance={"seed": 3, "note": "unit test"})


def test_saved_actor_acts_like_the_greedy_policy_and_pickles_by_path(actor_file, ant_state):
    expert = shipped.AntExpert(actor_file)
    assert json.loads(actor_file.with_suffix(".json").read_text()) == {"seed": 3, "note": "unit test"}
    assert expert.provenance == {"seed": 3, "note": "unit test"}
    rng = np.random.default_rng(0)
    states = rng.normal(size=(5, 27))
    directions = rng.normal(size=(5, 2))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    inputs = jnp.asarray(np.hstack([states, directions]), jnp.float32)
    reference = np.asarray(sac.greedy_actions(ant_state, inputs))
    means, _ = ant_state.actor.apply({"params": ant_state.params["actor"]}, inputs)
    np.testing.assert_allclose(reference, np.tanh(np.asarray(means)), atol=1e-6)  # the mode of the policy
    batched = expert(states, directions)
    assert batched.shape == (5, 8)
    np.testing.assert_allclose(batched, reference, atol=1e-6)
    single = expert(states[0], directions[0])
    assert single.shape == (8,)
    np.testing.assert_allclose(single, reference[0], atol=1e-6)

    clone = pickle.loads(pickle.dumps(expert))
    assert clone.path == expert.path
    np.testing.assert_allclose(clone(states, directions), batched, atol=1e-6)
    factory_made = shipped.ant_expert("antmaze-large-navigate-v0", path=actor_file)
    np.testing.assert_allclose(factory_made(states, directions), batched, atol=1e-6)


def test_missing_or_corrupt_weights_are_clear_errors(actor_file, tmp_path):
    from flax import serialization

    with pytest.raises(FileNotFoundError, match="floq-lite expert train"):
        shipped.AntExpert(tmp_path / "nope.msgpack")
    truncated = tmp_path / "truncated.msgpack"
    truncated.write_bytes(actor_file.read_bytes()[:100])
    garbage = tmp_path / "garbage.msgpack"
    garbage.write_bytes(b"not a msgpack file at all")
    foreign = tmp_path / "foreign.msgpack"
    foreign.write_bytes(serialization.msgpack_serialize({"params": {"w": np.zeros(3)}}))
    for path in (truncated, garbage, foreign):
        with pytest.raises(ValueError, match="not an ant-expert file"):
            shipped.AntExpert(path)


# --- the command line ------------------------------------------------------------------------------------------


def test_cli_expert_info_prints_the_provenance(actor_file, tmp_path, capsys):
    assert cli_main(["expert", "info", str(actor_file)]) == 0
    out = capsys.readouterr().out
    assert str(actor_file) in out and '"note": "unit test"' in out
    assert cli_main(["expert", "info", str(tmp_path / "missing.msgpack")]) == 2
    assert "floq-lite expert train" in capsys.readouterr().err


def test_cli_expert_train_passes_its_flags_and_reports_bad_input(monkeypatch, tmp_path, capsys):
    calls = []

    def fake_train(out, config, seed, resume, progress, command):
        calls.append({"out": out, "config": config, "seed": seed, "resume": resume, "progress": progress})
        return {"steps": config.total_steps}

    monkeypatch.setattr(expert_train, "train_expert", fake_train)
    argv = ["expert", "train", "--out", str(tmp_path / "r"), "--steps", "5000", "--random-steps", "100",
            "--eval-interval", "1000", "--seed", "3", "--no-progress"]
    assert cli_main(argv) == 0
    assert "actor.msgpack" in capsys.readouterr().out
    (call,) = calls
    assert call["config"] == dataclasses.replace(sac.SACConfig(), total_steps=5000, random_steps=100,
                                                 eval_interval=1000)
    assert (call["out"], call["seed"], call["resume"], call["progress"]) == (str(tmp_path / "r"), 3, False, False)
    assert cli_main(["expert", "train", "--out", str(tmp_path / "r"), "--resume", "--no-progress"]) == 0
    assert calls[-1]["resume"] and calls[-1]["config"] == sac.SACConfig()
    monkeypatch.undo()

    # The real trainer's refusals are exit status 2 with the reason (before any training).
    assert cli_main(["expert", "train", "--out", str(tmp_path / "none"), "--resume", "--no-progress"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert cli_main(["expert", "train", "--out", str(tmp_path / "x"), "--steps", "100", "--no-progress"]) == 2
    assert "must exceed random_steps" in capsys.readouterr().err

    for argv, expected in [
        (["expert"], "required"),
        (["expert", "fly"], "invalid choice"),
        (["expert", "train", "--steps", "0"], "must be at least 2"),
        (["expert", "train", "--steps", "ten"], "expected a whole number"),
        (["expert", "train", "--random-steps", "0"], "must be at least 1"),
        (["expert", "train", "--seed", "x"], "invalid int value"),
        (["expert", "info", "a", "b"], "unrecognized arguments"),
    ]:
        with pytest.raises(SystemExit) as info:
            cli_main(argv)
        assert info.value.code == 2, argv
        assert expected in capsys.readouterr().err, argv


# --- the shipped weights ---------------------------------------------------------------------------------------

DIRECTIONS = [(1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0)]
WALK_STEPS = 200
MIN_PROGRESS_PER_100_STEPS = 2.0  # random actions: ~0.25; a maze cell is 4 units


def test_shipped_expert_walks_in_each_commanded_direction(capsys):
    expert = shipped.AntExpert()
    assert expert.path == shipped.WEIGHTS and expert.actor.action_dim == 8

    env = make_ant_xy_env()
    data = env.unwrapped.data
    progress = {}
    for i, direction in enumerate(DIRECTIONS):
        d = np.array(direction)
        obs = seeded_reset(env, i)
        env.z = d  # command a fixed direction ...
        obs[-2:] = d
        start = data.qpos[:2].copy()
        for _ in range(WALK_STEPS):
            env.num_steps = 0  # ... and keep the wrapper from redrawing it at step 100
            obs, _, terminated, _, _ = env.step(expert(*split_observation(obs)))
            assert not terminated, f"the ant fell over walking towards {d}"
        moved = data.qpos[:2] - start
        progress[direction] = (round(float(moved @ d), 2), round(float(abs(moved[0] * d[1] - moved[1] * d[0])), 2))
    env.close()
    for d, (along, across) in progress.items():
        assert along > MIN_PROGRESS_PER_100_STEPS * WALK_STEPS / 100, progress
        assert across < along, progress  # within 45 degrees of the commanded direction

    # The shipped file says how it was trained, down to its final evaluation; `floq-lite expert info` shows it.
    assert expert.provenance["env"] == "online-ant-xy-v0" and "eval/return" in expert.provenance["final"]
    assert cli_main(["expert", "info"]) == 0
    out = capsys.readouterr().out
    assert str(shipped.WEIGHTS) in out and '"final"' in out
