"""The floq critic's pure functions, checked against hand computations and the straightforward implementation."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from floq_lite.critic import floq as fc
from floq_lite.networks import Value, field_apply, split_field

B, R, E, DS, DA = 3, 4, 2, 3, 2


def _batch(key=0):
    rng = np.random.default_rng(key)
    return {
        "observations": jnp.asarray(rng.normal(size=(B, DS)), jnp.float32),
        "actions": jnp.asarray(rng.uniform(-1, 1, (B, DA)), jnp.float32),
        "rewards": jnp.asarray([-1.0, 0.0, -1.0]),
        "masks": jnp.asarray([1.0, 0.0, 1.0]),
        "next_observations": jnp.asarray(rng.normal(size=(B, DS)), jnp.float32),
    }


def _field(hidden=(8, 8), **kw):
    return fc.make_velocity_field(hidden, q_min=-101.0, q_max=1.0, num_ensembles=E, **kw)


def _init(field, seed=0):
    return field.init(jax.random.PRNGKey(seed), jnp.zeros((1, DS)), jnp.zeros((1, DA)), jnp.zeros((E, 1, 1)), 0.0)[
        "params"
    ]


def _constant_field_params(field, c):
    """Zero every kernel and bias except the output bias: ``v = c[e]`` exactly, whatever the input."""
    p = jax.tree.map(jnp.zeros_like, _init(field))
    last = f"Dense_{len(field.hidden_dims)}"
    p["mlp"][last]["bias"] = jnp.asarray(c, jnp.float32).reshape(E, 1)
    for name in p["mlp"]:
        if name.startswith("LayerNorm"):
            p["mlp"][name]["scale"] = jnp.ones_like(p["mlp"][name]["scale"])
    return p


_CRITIC = Value((8,), num_ensembles=E)


def _critic_apply(p, o, a):
    return _CRITIC.apply({"params": p}, o, a)


def _critic():
    return _critic_apply, _CRITIC.init(jax.random.PRNGKey(1), jnp.zeros((1, DS)), jnp.zeros((1, DA)))["params"]


def test_ideal_point_field_hits_target_for_any_k():
    y = jnp.array([[-3.0], [7.5], [0.2]])  # (N, 1)
    vf = lambda params, obs, act, z, t: (params - z) / (1.0 - t)  # noqa: E731  ideal field towards params = y
    z0 = jnp.array([[-10.0], [0.0], [4.0]])
    for K in (1, 2, 3, 8):
        out = fc.integrate_returns(vf, y[None].repeat(E, 0), None, None, z0, K, num_ensembles=E)
        assert out.shape == (E, 3, 1)
        np.testing.assert_allclose(out, jnp.broadcast_to(y, (E, 3, 1)), rtol=1e-5, atol=1e-5)


def test_split_field_equals_module_and_integrations_agree():
    field = _field(time_embed="fourier")
    params = _init(field)
    obs, act = _batch()["observations"], _batch()["actions"]
    z = jax.random.uniform(jax.random.PRNGKey(2), (E, B, 1), minval=-20.0, maxval=0.0)
    sf = split_field(field)
    v_ref = field_apply(field)(params, obs, act, z, 0.3)
    for how in ("loop", "batched"):
        s = split_field(field, how)
        np.testing.assert_allclose(s.velocity(params, s.prepare(params, obs, act), z, 0.3), v_ref, rtol=1e-5, atol=1e-6)
    z0 = z[0]
    a = jax.jit(lambda p: fc.integrate_returns(field_apply(field), p, obs, act, z0, 5, E))(params)
    b = jax.jit(lambda p: fc.integrate_returns(sf, p, obs, act, z0, 5, E))(params)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_rolled_euler_loop_equals_the_official_unrolled_loop():
    """integrate_returns (lax.fori_loop, t = float32(i) * (1/K)) against the official form: a Python loop over
    i with t = i / K and z + v / K, for K where the two time grids are the same floats and where they may not be."""
    field = _field()
    params, apply = _init(field), field_apply(field)
    obs, act = _batch()["observations"], _batch()["actions"]
    z0 = jax.random.uniform(jax.random.PRNGKey(3), (B, 1), minval=-10.0, maxval=0.0)
    for K in (1, 3, 8, 10):
        rolled = jax.jit(lambda p, K=K: fc.integrate_returns(apply, p, obs, act, z0, K, E))(params)
        z = jnp.broadcast_to(z0[None], (E, B, 1))
        for i in range(K):  # unrolled, as the official compute_flow_returns writes it
            z = z + apply(params, obs, act, z, i / K) / K
        np.testing.assert_allclose(rolled, z, rtol=1e-5, atol=1e-5)


def test_adam_over_trainable_params_equals_adam_that_also_carries_the_targets():
    """The official optimiser holds the target copies too (zero gradients); floq_lite's holds only the trainable
    parameters. Three steps of the agents' optimiser give the same online parameters either way (an optimiser with
    weight decay would move the carried copies and fail this)."""
    from floq_lite.agents._common import adam_step, make_optimizer
    from floq_lite.config import make_config

    rng = np.random.default_rng(0)
    online = {"w": jnp.asarray(rng.normal(size=(4, 3)), jnp.float32), "b": jnp.zeros(3)}
    target = jax.tree.map(lambda x: x + 1.0, online)
    tx = make_optimizer(make_config("floq", tier="smoke"))  # the agents' own optimiser
    mine, mine_state = online, tx.init(online)
    theirs, theirs_state = {"online": online, "target": target}, tx.init({"online": online, "target": target})
    for step in range(3):
        grads = jax.tree.map(lambda x: jnp.full_like(x, 0.1 * (step + 1)) * jnp.sign(x + 0.5), mine)
        mine, mine_state = adam_step(tx, mine, mine_state, grads)
        zeros = jax.tree.map(jnp.zeros_like, target)
        theirs, theirs_state = adam_step(tx, theirs, theirs_state, {"online": grads, "target": zeros})
    for a, b in zip(jax.tree.leaves(mine), jax.tree.leaves(theirs["online"])):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(jax.tree.leaves(target), jax.tree.leaves(theirs["target"])):
        np.testing.assert_array_equal(a, b)  # zero gradients: Adam never moved the carried copies


def test_repeat_unrepeat_round_trip_is_interleaved():
    x = jnp.arange(B * 2, dtype=jnp.float32).reshape(B, 2)
    xr = fc.repeat_rows(x, R)  # (B*R, 2)
    for b in range(B):
        for r in range(R):
            np.testing.assert_array_equal(xr[b * R + r], x[b])
    col = fc.unrepeat(xr[:, 0], R)  # (B, R)
    np.testing.assert_array_equal(col, np.repeat(np.asarray(x[:, :1]), R, axis=1))
    with pytest.raises(ValueError, match="multiple"):
        fc.unrepeat(jnp.zeros(7), R)


def test_td_target_hand_computed():
    y = fc.td_target(jnp.array([-1.0, 0.0]), jnp.array([1.0, 0.0]), jnp.array([[-2.0, -4.0], [5.0, 7.0]]), 0.9)
    np.testing.assert_allclose(y, [-1.0 + 0.9 * -3.0, 0.0], rtol=1e-6)
    with pytest.raises(ValueError, match="next_q"):
        fc.td_target(jnp.zeros(2), jnp.zeros(2), jnp.zeros((3, 2)), 0.9)


def test_aggregate_and_noise_interval():
    q = jnp.array([[[1.0], [4.0]], [[3.0], [-2.0]]])  # (E=2, N=2, 1)
    np.testing.assert_array_equal(fc.aggregate_ensemble(q, "min"), [1.0, -2.0])
    np.testing.assert_array_equal(fc.aggregate_ensemble(q, "mean"), [2.0, 1.0])
    with pytest.raises(ValueError, match="mean, min"):
        fc.aggregate_ensemble(q, "max")
    np.testing.assert_allclose(fc.noise_interval(-16.0, 0.0, 0.99, 0.25), (-400.0, 0.0))


def _loss(field, vf_params, target_params, critic_params, critic_apply, batch, fused=True, zero=False,
          lo=-5.0, hi=-5.0):
    assert critic_apply is _critic_apply
    return _jit_loss(field, vf_params, target_params, critic_params, batch, fused, zero, lo, hi)


@partial(jax.jit, static_argnums=(0, 5, 6, 7, 8))
def _jit_loss(field, vf_params, target_params, critic_params, batch, fused, zero, lo, hi):
    next_actions = jnp.zeros((B * R, DA))
    return fc.critic_loss(field, vf_params, target_params, _critic_apply, critic_params, batch, next_actions,
                          jax.random.PRNGKey(3), discount=0.9, noise_min=lo, noise_max=hi, num_repeats=R,
                          num_steps=4, q_agg="mean", train_at_zero_only=zero, fused=fused)


@pytest.mark.parametrize("fused", [True, False])
def test_critic_loss_hand_computed_with_constant_fields(fused):
    """v_target = 2, v_online = 1 and z0 = -5 exactly: next value -3, current value -4, all known in closed form."""
    field = _field()
    target = _constant_field_params(field, [2.0, 2.0])
    online = _constant_field_params(field, [1.0, 1.0])
    critic_apply, critic_params = _critic()
    batch = _batch()
    loss, info = _loss(field, online, target, critic_params, critic_apply, batch, fused=fused)
    r, m = np.asarray(batch["rewards"]), np.asarray(batch["masks"])
    y = r + 0.9 * m * (-5.0 + 2.0)  # TD target from the TARGET field
    qbar = -5.0 + 1.0  # distillation target from the ONLINE field
    np.testing.assert_allclose(info["td_error"], np.mean((qbar - y) ** 2), rtol=1e-5)
    fm = R * (1.0 - (y - -5.0)) ** 2  # SUM over R of (pred - (y - x0))^2: R identical terms
    np.testing.assert_allclose(info["floq_loss"], fm.mean(), rtol=1e-5)
    assert not np.isclose(float(info["floq_loss"]), float(fm.mean() / R))  # a mean over R would be R times smaller
    q = critic_apply(critic_params, batch["observations"], batch["actions"])
    np.testing.assert_allclose(info["distilled_critic_loss"], np.mean((np.asarray(q) - qbar) ** 2), rtol=1e-5)
    np.testing.assert_allclose(loss, info["floq_loss"] + info["distilled_critic_loss"], rtol=1e-6)
    np.testing.assert_allclose(info["var_flow_returns"], 0.0, atol=1e-6)


def test_distillation_reads_online_and_td_reads_target():
    field = _field()
    critic_apply, critic_params = _critic()
    batch = _batch()
    base = _loss(field, _constant_field_params(field, [1.0, 1.0]), _constant_field_params(field, [2.0, 2.0]),
                 critic_params, critic_apply, batch)[1]
    new_target = _loss(field, _constant_field_params(field, [1.0, 1.0]), _constant_field_params(field, [3.0, 3.0]),
                       critic_params, critic_apply, batch)[1]
    new_online = _loss(field, _constant_field_params(field, [0.0, 0.0]), _constant_field_params(field, [2.0, 2.0]),
                       critic_params, critic_apply, batch)[1]
    # Target moves the TD target (td_error, FM) but not the distillation term.
    assert not np.isclose(new_target["td_error"], base["td_error"])
    np.testing.assert_allclose(new_target["distilled_critic_loss"], base["distilled_critic_loss"], rtol=1e-6)
    # Online moves the distillation target; the TD target (hence the FM regression target) stays.
    assert not np.isclose(new_online["distilled_critic_loss"], base["distilled_critic_loss"])
    # With v_online = 0 the prediction is 0, so FM = R * mean (y - x0)^2 with the unchanged y.
    y = np.asarray(batch["rewards"]) + 0.9 * np.asarray(batch["masks"]) * (-3.0)
    np.testing.assert_allclose(new_online["floq_loss"], np.mean(R * (y + 5.0) ** 2), rtol=1e-5)


def test_gradients_flow_only_to_online_field_and_critic():
    field = _field()
    critic_apply, critic_params = _critic()
    online, target = _init(field, 0), _init(field, 1)
    batch = _batch()
    g_on, g_tg, g_cr = jax.jit(jax.grad(lambda a, b, c: _loss(field, a, b, c, critic_apply, batch, lo=-10.0, hi=0.0)[0],
                                        argnums=(0, 1, 2)))(online, target, critic_params)
    assert all(float(jnp.abs(x).max()) == 0.0 for x in jax.tree.leaves(g_tg))
    assert any(float(jnp.abs(x).max()) > 0.0 for x in jax.tree.leaves(g_on))
    assert any(float(jnp.abs(x).max()) > 0.0 for x in jax.tree.leaves(g_cr))


def test_fused_equals_straightforward_including_gradients():
    field = _field(hidden=(16, 16))
    critic_apply, critic_params = _critic()
    online, target = _init(field, 0), _init(field, 1)

    batch = _batch()

    def f(fused):
        return jax.jit(jax.value_and_grad(lambda p: _loss(field, p, target, critic_params, critic_apply, batch,
                                                          fused=fused, lo=-10.0, hi=0.0), has_aux=True))(online)

    (l1, i1), g1 = f(True)
    (l2, i2), g2 = f(False)
    np.testing.assert_allclose(l1, l2, rtol=1e-5)
    for k in i1:
        np.testing.assert_allclose(i1[k], i2[k], rtol=1e-4, atol=1e-5, err_msg=k)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5), g1, g2)


def test_loss_term_shapes():
    field = _field()
    params = _init(field)
    batch = _batch()
    obs_r, act_r = fc.repeat_rows(batch["observations"], R), fc.repeat_rows(batch["actions"], R)
    x0 = jnp.full((B * R, 1), -3.0)
    x1 = fc.tile_ensemble(jnp.zeros((B * R, 1)), E)
    t = jnp.full((B * R, 1), 0.5)
    err = fc.flow_matching_loss(split_field(field), params, obs_r, act_r, x0, x1, t)
    assert err.shape == (E, B * R)
    np.testing.assert_allclose(err, fc.flow_matching_loss(field_apply(field), params, obs_r, act_r, x0, x1, t),
                               rtol=1e-5)
    ret = fc.integrate_returns(split_field(field), params, obs_r, act_r, x0, 3, E)
    assert ret.shape == (E, B * R, 1)
    assert fc.distillation_loss(jnp.zeros((E, B)), ret, R).shape == (E, B)
    assert fc.aggregate_ensemble(ret).shape == (B * R,)
    with pytest.raises(ValueError, match="num_ensembles"):
        fc.integrate_returns(split_field(field), params, obs_r, act_r, x0, 3)


def test_train_at_zero_only_feeds_t_zero():
    """A linear field v = t (raw time, no hidden layer): the FM prediction is 0 only if t = 0 everywhere."""
    field = _field(hidden=(), time_embed="raw", z_embed="minmax")
    p = jax.tree.map(jnp.zeros_like, _init(field))
    p["mlp"]["Dense_0"]["kernel"] = p["mlp"]["Dense_0"]["kernel"].at[:, -1, 0].set(1.0)  # weight 1 on t
    const = _constant_field_params(field, [0.0, 0.0])  # target field v = 0
    critic_apply, critic_params = _critic()
    batch = _batch()
    _, info0 = _loss(field, p, const, critic_params, critic_apply, batch, zero=True)
    _, info1 = _loss(field, p, const, critic_params, critic_apply, batch, zero=False)
    y = np.asarray(batch["rewards"]) + 0.9 * np.asarray(batch["masks"]) * (-5.0)
    np.testing.assert_allclose(info0["floq_loss"], np.mean(R * (y + 5.0) ** 2), rtol=1e-5)  # pred = t = 0
    assert not np.isclose(info1["floq_loss"], info0["floq_loss"])


def test_flow_critic_learns_a_fixed_regression_target():
    """Flow matching onto fixed targets y(s, a): the loss drops and the K-step integrated value approaches y."""
    field = _field(hidden=(32, 32))
    sf = split_field(field)
    rng = np.random.default_rng(0)
    obs = jnp.asarray(rng.normal(size=(8, DS)), jnp.float32)
    act = jnp.asarray(rng.uniform(-1, 1, (8, DA)), jnp.float32)
    y = -20.0 + 10.0 * jnp.tanh(obs[:, 0])  # (8,) in [-30, -10]
    obs_r, act_r, y_r = fc.repeat_rows(obs, R), fc.repeat_rows(act, R), fc.repeat_rows(y, R)
    tx = optax.adam(3e-3)
    params = _init(field)

    def loss_fn(p, key):
        k0, kt = jax.random.split(key)
        x0 = jax.random.uniform(k0, (8 * R, 1), minval=-10.0, maxval=0.0)
        t = jax.random.uniform(kt, (8 * R, 1))
        err = fc.flow_matching_loss(sf, p, obs_r, act_r, x0, fc.tile_ensemble(y_r[:, None], E), t)
        return jnp.mean(jnp.sum(fc.unrepeat(err, R), axis=-1))

    @jax.jit
    def train(p, key):
        def step(carry, k):
            p, s = carry
            loss, g = jax.value_and_grad(loss_fn)(p, k)
            u, s = tx.update(g, s, p)
            return (optax.apply_updates(p, u), s), loss
        (p, _), losses = jax.lax.scan(step, (p, tx.init(p)), jax.random.split(key, 600))
        return p, losses

    @jax.jit
    def q_err(p):
        z0 = jnp.full((8, 1), -5.0)
        q = fc.integrate_returns(sf, p, obs, act, z0, 8, E)[..., 0]
        return jnp.mean(jnp.abs(q - y[None]))

    before = float(q_err(params))
    params, losses = train(params, jax.random.PRNGKey(0))
    assert float(losses[-50:].mean()) < 0.2 * float(losses[:50].mean())
    after = float(q_err(params))
    assert after < 0.2 * before and after < 2.0, (before, after)


def test_target_noise_moves_the_regression_target_and_not_the_interpolant():
    field = _field()
    p = _constant_field_params(field, [0.5, -1.0])  # v = c[e] whatever the input
    apply = field_apply(field)
    b = _batch()
    n = B * R
    obs, act = fc.repeat_rows(b["observations"], R), fc.repeat_rows(b["actions"], R)
    x0 = jnp.linspace(-3.0, -1.0, n)[:, None]  # (N, 1)
    x1 = fc.tile_ensemble(jnp.linspace(-10.0, -5.0, n)[:, None], E)  # (E, N, 1)
    t = jnp.linspace(0.1, 0.9, n)[:, None]
    eps = jnp.asarray(np.random.default_rng(0).uniform(-2, 2, (E, n, 1)), jnp.float32)
    c = jnp.asarray([0.5, -1.0])[:, None, None]
    got = fc.flow_matching_loss(apply, p, obs, act, x0, x1, t, target_noise=eps)
    np.testing.assert_allclose(got, ((c - (x1 - x0) - eps) ** 2)[..., 0], rtol=1e-5)
    final = fc.flow_matching_loss(apply, p, obs, act, x0, x1, t, predicts="final")
    np.testing.assert_allclose(final, ((c - x1) ** 2)[..., 0], rtol=1e-5)
    with pytest.raises(ValueError, match="predicts must be one of velocity, final"):
        fc.flow_matching_loss(apply, p, obs, act, x0, x1, t, predicts="x1")


def test_integrating_a_final_value_predictor_returns_its_last_prediction():
    field = _field()
    p = _constant_field_params(field, [2.0, -3.0])  # predicts x1 = c[e] everywhere
    b = _batch()
    z0 = jnp.asarray([[-7.0], [-1.0], [0.0]])
    for k in (1, 4):
        z = fc.integrate_returns(field_apply(field), p, b["observations"], b["actions"], z0, k, E, predicts="final")
        np.testing.assert_allclose(z[..., 0], np.broadcast_to([[2.0], [-3.0]], (E, B)), atol=1e-6)
    # read as a velocity, the same network moves every start by c[e]
    z = fc.integrate_returns(field_apply(field), p, b["observations"], b["actions"], z0, 4, E)
    np.testing.assert_allclose(z[..., 0], z0[None, :, 0] + np.asarray([[2.0], [-3.0]]), atol=1e-5)

