"""TD learning of ``Q*`` on the chapter-3 maze: a monolithic critic and a flow (floq) critic.

Both critics learn by Q-learning from the offline dataset of :func:`floq_lite.studies.mdp.transition_dataset`:

    y(s, a, s2) = r + gamma * mask * max_a2 Q_target(s2, a2)

with ``Q_target`` an exponential moving average (EMA) of the online parameters. The dataset holds every
``(s, a)`` with next states in exact proportion to ``P(s2 | s, a)``, so the fixed point of this update is ``Q*``
and we can measure how far each critic is from it at every point of training.

* **Monolithic critic**: ``Q_theta(s, a)`` is the :class:`~floq_lite.networks.critics.Value` ensemble (mean over
  members), trained by mean squared TD error.
* **Flow critic**: a :class:`~floq_lite.networks.critics.VelocityField` ``v_theta(t, z | s, a)``. Its Q-value is
  the mean over ``z0 ~ Unif[l, u]`` of K Euler steps from ``z0`` (:func:`floq_lite.critic.floq.integrate_returns`),
  and it is trained with floq's flow-matching loss toward the TD target.

Because the maze is tabular (a few dozen ``(s, a)`` pairs), the target critic is evaluated on the *whole table*
``(S, A)`` once per update and the batch reads ``max_a2`` from it; for the flow critic that table averages over
``R`` fresh noise draws per pair (floq's "expected backup" over noise samples). A continuous-action agent would
instead integrate at the batch's next states (chapter 5).

Chapter 7 adds, on the same engine: states given to the networks as maze *coordinates* instead of one-hot vectors
(``inputs="coords"``), a ResNet critic (``kind="resnet"``, the official ``ResValue``), floq's "supervised at
``t = 0`` only" ablation (``train_at_zero_only``), a target Q-table refreshed every ``target_every`` updates (which
makes big mazes affordable: the refresh integrates the target field over the whole table), FLOP counts per
Q-value, a snapshot of the parameters part-way (for the stale-field experiments) and integrations whose first
steps are corrupted (:func:`recovery_errors`).

Training is one jitted, ``lax.scan``-ned update per chunk of ``eval_every`` steps, ``vmap``-ped over seeds; after each
chunk the Q-table is compared with ``Q*``. Shapes: ``E`` ensemble members, ``B`` batch, ``R`` noise samples per
transition, ``S``/``A`` numbers of states/actions, ``P = S * A`` table rows, ``C`` number of evaluation points.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from floq_lite.studies import mdp as mdp_lib
from floq_lite.critic import floq as floq_critic
from floq_lite.flow import sample_time, sample_uniform_noise
from floq_lite.jitting import jit_once
from floq_lite.networks.critics import (
    ResValue,
    field_features,
    freeze_features,
    hidden_features,
    Value,
    VelocityField,
    sa_features,
    split_field,
    velocity_from_features,
)
from floq_lite.networks.embeddings import q_range
from floq_lite.networks.mlp import mlp_flops

Array = jax.Array
KINDS: tuple[str, ...] = ("monolithic", "resnet", "flow")
BACKUPS: tuple[str, ...] = ("expected", "distributional")
DORMANT_TAU = 0.1  # a unit is dormant below a tenth of its layer's mean activity (Sokar et al. use 0.025-0.1)


@dataclass(frozen=True)
class TDConfig:
    """Sizes and hyperparameters shared by both critics (hashable: it is a static argument of the jitted update).

    Attributes:
      hidden_dims: MLP widths of both critics.
      num_ensembles: ``E`` (floq: 2).
      lr: Adam learning rate.
      batch_size: ``B`` transitions per update.
      tau: EMA rate of the target parameters.
      num_steps: gradient steps.
      eval_every: steps per scanned chunk (one Q-error measurement per chunk).
      kappa: noise coverage; ``z0 ~ Unif[kappa * r_min, kappa * r_max] / (1 - gamma)`` (floq: 0.1).
      flow_steps: ``K`` Euler steps for TD targets (floq: 8).
      noise_samples: ``R`` noise draws per transition in the loss and per pair in the target table (floq: 8).
      eval_noise_samples: noise draws per pair when measuring the flow critic's Q-table.
      inputs: how states reach the networks: ``"onehot"`` or ``"coords"`` (:func:`~floq_lite.studies.mdp.state_features`).
      train_at_zero_only: flow critic only: supervise the velocity at ``t = 0`` alone (floq's ablation; use with
        ``flow_steps=1``, which makes it a monolithic critic with an extra input ``z0``).
      resnet_blocks, resnet_block_depth: ``kind="resnet"`` only: residual blocks and layers per block (width
        ``hidden_dims[0]``).
      target_every: updates between two refreshes of the target Q-table; 1 recomputes it at every update (with
        fresh noise for the flow critic, as chapter 3 does), more amortises the table over several updates (the
        same for every critic kind).
      snapshot_at: keep a copy of the parameters after this many steps (a multiple of ``eval_every``; 0: none), for
        the stale-field experiments of :func:`recovery_errors`.
      freeze_features_at: from this update on (None: never; 0: from the first), only the *head* learns (the last
        hidden layer and the output, :func:`~floq_lite.networks.head_mask`): the features get no update, exactly
        (Adam's leftover momentum is masked too), and the target's features are the frozen online ones, its head the
        EMA of the online head (the follow-up paper's protocol, chapter 8).
      track_features: measure the plasticity diagnostics of every hidden layer after each chunk (``TDResult.
        diagnostics``: srank, dormant fraction, mean feature norm; for the flow critic also the norm at each Euler
        step, from 8 fixed noise ratios along the integration, as the follow-up paper measures it).
      dataset_size: 0 uses the exact dataset of :func:`~floq_lite.studies.mdp.transition_dataset`; a positive size
        draws that many transitions at random instead (:func:`~floq_lite.studies.mdp.sampled_dataset`, seed
        ``dataset_seed``): a small fixed dataset for high replay ratios.
      target_noise: half-width ``m`` of ``Unif[-m, m]`` noise added, independently, to every regression target: the
        flow critic's velocity target of each (member, transition, noise sample), the monolithic critic's TD target
        of each (member, transition) (the follow-up's target-noise agents; 0: none).
      predicts: flow critic only: ``"velocity"`` (floq) or ``"final"``: the network regresses the end point ``y``
        and is iterated by :func:`floq_lite.flow.integrate_final` (the follow-up's "predict the final value").
      backup: flow critic only: ``"expected"`` (floq: one TD target per transition, the mean over ``R`` noise
        draws) or ``"distributional"``: one target per noise draw, ``r + gamma * q'_r`` at the greedy next action,
        so the flow fits the distribution of bootstrapped returns (the follow-up's distributional agent).
    """

    hidden_dims: tuple[int, ...] = (128, 128)
    num_ensembles: int = 2
    lr: float = 1e-3
    batch_size: int = 256
    tau: float = 0.01
    num_steps: int = 4000
    eval_every: int = 200
    kappa: float = 0.1
    flow_steps: int = 8
    noise_samples: int = 8
    eval_noise_samples: int = 32
    inputs: str = "onehot"
    train_at_zero_only: bool = False
    resnet_blocks: int = 2
    resnet_block_depth: int = 2
    target_every: int = 1
    snapshot_at: int = 0
    freeze_features_at: int | None = None
    track_features: bool = False
    dataset_size: int = 0
    dataset_seed: int = 0
    target_noise: float = 0.0
    predicts: str = "velocity"
    backup: str = "expected"

    def __post_init__(self):
        if self.num_steps % self.eval_every:
            raise ValueError(f"num_steps ({self.num_steps}) must be a multiple of eval_every ({self.eval_every}).")
        if self.kappa <= 0:
            raise ValueError(f"kappa must be > 0 (it sets the width of the noise interval), got {self.kappa}.")
        if self.inputs not in ("onehot", "coords"):
            raise ValueError(f"inputs must be 'onehot' or 'coords', got {self.inputs!r}.")
        if self.target_every < 1 or self.eval_every % self.target_every:
            raise ValueError(f"target_every ({self.target_every}) must be >= 1 and divide eval_every "
                             f"({self.eval_every}).")
        if self.snapshot_at % self.eval_every:
            raise ValueError(f"snapshot_at ({self.snapshot_at}) must be a multiple of eval_every ({self.eval_every}).")
        if not self.target_noise >= 0:
            raise ValueError(f"target_noise is the half-width of the noise interval, >= 0; got {self.target_noise}.")
        if self.predicts not in floq_critic.PREDICTS:
            raise ValueError(f"predicts must be one of {', '.join(floq_critic.PREDICTS)}, got {self.predicts!r}.")
        if self.backup not in BACKUPS:
            raise ValueError(f"backup must be one of {', '.join(BACKUPS)}, got {self.backup!r}.")

    def replace(self, **changes) -> "TDConfig":
        return replace(self, **changes)


class TrainState(NamedTuple):
    params: Any
    target_params: Any
    opt_state: Any
    key: Array
    noise: Array  # (2,) the noise interval (l, u) of this run (flow critic; unused by the monolithic one)
    step: Array  # () int32: updates done (the feature freeze switches on at config.freeze_features_at)


class TDResult(NamedTuple):
    """What a training run returns (leading axis: seeds).

    Attributes:
      steps: ``(C,)`` gradient steps at which the Q-table was measured (0 = initialisation).
      q_error: ``(n_runs, C)`` mean ``|Q - Q*|`` over non-goal pairs.
      loss: ``(n_runs, C)`` mean training loss over each chunk (NaN at step 0).
      q_table: ``(n_runs, S, A)`` final Q-table.
      params: final online parameters, stacked over runs.
      seeds: ``(n_runs,)`` the seed of each run.
      kappas: ``(n_runs,)`` the noise coverage of each run (``config.kappa`` for the monolithic critic).
      config: the :class:`TDConfig` used.
      kind: ``"monolithic"``, ``"resnet"`` or ``"flow"``.
      snapshot: the online parameters after ``config.snapshot_at`` steps (stacked over runs), or None.
      states: the final training states (stacked over runs): what :func:`continue_training` starts from.
      diagnostics: with ``config.track_features``, ``{"layer{l}/srank" | "layer{l}/dormant" | "layer{l}/norm":
        (n_runs, C)}`` (member mean) and for the flow critic ``"layer{l}/norm_t": (n_runs, C, K)``; else None.
    """

    steps: np.ndarray
    q_error: np.ndarray
    loss: np.ndarray
    q_table: np.ndarray
    params: Any
    seeds: np.ndarray
    kappas: np.ndarray
    config: TDConfig
    kind: str = "flow"
    snapshot: Any = None
    states: Any = None
    diagnostics: dict[str, np.ndarray] | None = None

    def select(self, kappa: float) -> "TDResult":
        """The runs trained with noise coverage ``kappa`` (all their seeds)."""
        keep = np.flatnonzero(np.isclose(self.kappas, kappa))
        if keep.size == 0:
            raise ValueError(f"no run with kappa={kappa}; this result has kappas {sorted(set(self.kappas.tolist()))}.")
        take = lambda x: x[keep]  # noqa: E731
        def tree(x):
            return None if x is None else jax.tree_util.tree_map(take, x)

        diag = None if self.diagnostics is None else {k: take(v) for k, v in self.diagnostics.items()}
        return self._replace(q_error=take(self.q_error), loss=take(self.loss), q_table=take(self.q_table),
                             params=tree(self.params), seeds=take(self.seeds), kappas=take(self.kappas),
                             snapshot=tree(self.snapshot), states=tree(self.states), diagnostics=diag)


class _Problem(NamedTuple):
    """The dataset and the full table of ``(s, a)`` inputs as device arrays."""

    state: Array  # (N,) int
    action: Array  # (N,) int
    next_state: Array  # (N,) int
    reward: Array  # (N,)
    mask: Array  # (N,)
    eye_s: Array  # (S, d_s) the input of every state (one-hot rows or coordinates)
    eye_a: Array  # (A, A)
    table_obs: Array  # (P, d_s) input of every pair's state
    table_act: Array  # (P, A)


def _problem(mdp: mdp_lib.TabularMDP, dataset: dict[str, np.ndarray], inputs: str = "onehot") -> _Problem:
    s_all, a_all = mdp_lib.all_pairs(mdp)
    feats = mdp_lib.state_features(mdp, inputs)  # (S, d_s)
    return _Problem(
        state=jnp.asarray(dataset["state"]),
        action=jnp.asarray(dataset["action"]),
        next_state=jnp.asarray(dataset["next_state"]),
        reward=jnp.asarray(dataset["reward"]),
        mask=jnp.asarray(dataset["mask"]),
        eye_s=jnp.asarray(feats),
        eye_a=jnp.eye(mdp.num_actions),
        table_obs=jnp.asarray(feats[s_all]),
        table_act=jnp.eye(mdp.num_actions)[a_all],
    )


def _sample_batch(prob: _Problem, key: Array, batch_size: int):
    """Uniform minibatch: state inputs ``obs (B, d_s)``, one-hot ``act (B, A)``, ``next_state (B,)``, ``reward (B,)``, ``mask (B,)``."""
    idx = jax.random.randint(key, (batch_size,), 0, prob.state.shape[0])
    return (prob.eye_s[prob.state[idx]], prob.eye_a[prob.action[idx]], prob.next_state[idx], prob.reward[idx],
            prob.mask[idx])


def _ema(target, online, tau: float):
    return jax.tree_util.tree_map(lambda t, o: (1.0 - tau) * t + tau * o, target, online)


# ---------------------------------------------------------------------------------------------------------------
# The two critics, each as (init, loss, q_table) on the tabular problem.


class _Critic(NamedTuple):
    init: Callable[[Array], Any]  # key -> params
    loss: Callable[..., Array]  # (params, target_params, batch, key, noise (2,), v_next | None) -> scalar
    q_table: Callable[..., Array]  # (params, key, noise (2,)) -> (S, A)
    # (target_params, key, noise (2,)) -> (S,) max_a of the target table; (S, R) for the distributional backup
    target_values: Callable[..., Array]
    features: Callable[..., list] | None = None  # (params, noise) -> per Euler step, per layer (E, N, H)


def _target_noise(key: Array, shape: tuple[int, ...], half_width: float) -> Array | float:
    """``Unif[-m, m]`` noise for the regression targets, or 0 when ``m = 0``. Its key is folded from the loss's
    key, so the other draws of the update (batch, noise, times) are those of a run without target noise."""
    if half_width == 0:
        return 0.0
    return half_width * jax.random.uniform(jax.random.fold_in(key, 7), shape, minval=-1.0, maxval=1.0)


def _scalar_net(kind: str, config: TDConfig):
    if kind == "resnet":
        return ResValue(config.hidden_dims[0], num_blocks=config.resnet_blocks, block_depth=config.resnet_block_depth,
                        num_ensembles=config.num_ensembles, layer_norm=True)
    return Value(config.hidden_dims, num_ensembles=config.num_ensembles, layer_norm=True)


def _monolithic_critic(prob: _Problem, config: TDConfig, discount: float, kind: str = "monolithic") -> _Critic:
    net = _scalar_net(kind, config)
    num_s, num_a = prob.eye_s.shape[0], prob.eye_a.shape[0]

    def q_table(params, key=None, noise=None):
        q = net.apply({"params": params}, prob.table_obs, prob.table_act)  # (E, P)
        return jnp.mean(q, axis=0).reshape(num_s, num_a)

    def target_values(target_params, key=None, noise=None):
        return jnp.max(q_table(target_params), axis=1)  # (S,)

    def loss(params, target_params, batch, key, noise=None, v_next=None):
        obs, act, next_state, reward, mask = batch
        if v_next is None:
            v_next = target_values(target_params)  # (S,)
        y = floq_critic.td_target(reward, mask, v_next[next_state][:, None], discount)  # (B,)
        q = net.apply({"params": params}, obs, act)  # (E, B)
        y = jax.lax.stop_gradient(y)[None] + _target_noise(key, q.shape, config.target_noise)  # (E, B)
        return jnp.mean((q - y) ** 2)

    def init(key):
        return net.init(key, prob.table_obs[:1], prob.table_act[:1])["params"]

    def features(params, noise=None):  # one "step": the table's inputs
        if kind != "monolithic":
            raise ValueError("feature diagnostics are implemented for the MLP and flow critics.")
        return [hidden_features(params, jnp.concatenate([prob.table_obs, prob.table_act], axis=-1))]

    return _Critic(init, loss, q_table, target_values, features)


def flow_q_samples(field: VelocityField, params, obs: Array, act: Array, z0: Array, num_steps: int,
                   predicts: str = "velocity") -> Array:
    """Integrated returns of every pair from every noise draw, averaged over the ensemble.

    Args:
      obs, act: ``(P, d_s)``, ``(P, A)`` pair inputs.  z0: ``(P, R)`` start points.
    Returns:
      ``(P, R)``: ``mean_e psi_e(1, z0 | s, a)`` after ``num_steps`` Euler steps.
    """
    num_r = z0.shape[1]
    rep_obs = floq_critic.repeat_rows(obs, num_r)  # (P*R, S), row p*R + r
    rep_act = floq_critic.repeat_rows(act, num_r)  # (P*R, A)
    z = floq_critic.integrate_returns(split_field(field), params, rep_obs, rep_act, z0.reshape(-1, 1), num_steps,
                                      field.num_ensembles, predicts=predicts)  # (E, P*R, 1)
    return floq_critic.unrepeat(jnp.mean(z[..., 0], axis=0), num_r)  # (P, R)


def _flow_critic(prob: _Problem, config: TDConfig, field: VelocityField, discount: float) -> _Critic:
    num_s, num_a = prob.eye_s.shape[0], prob.eye_a.shape[0]
    vf_apply = split_field(field)
    num_e, num_r = config.num_ensembles, config.noise_samples

    def q_table(params, key, noise, num_noise=config.eval_noise_samples, num_steps=config.flow_steps):
        return jnp.mean(q_samples(params, key, noise, num_noise, num_steps), axis=-1)  # (S, A)

    def q_samples(params, key, noise, num_noise, num_steps=config.flow_steps):
        z0 = sample_uniform_noise(key, (num_s * num_a, num_noise), noise[0], noise[1])  # (P, R)
        q = flow_q_samples(field, params, prob.table_obs, prob.table_act, z0, num_steps, config.predicts)  # (P, R)
        return q.reshape(num_s, num_a, num_noise)

    def target_values(target_params, key, noise):
        if config.backup == "distributional":  # the R returns of the greedy next action, one target each
            q = q_samples(target_params, key, noise, num_r)  # (S, A, R)
            best = jnp.argmax(jnp.mean(q, axis=-1), axis=1)  # (S,)
            return jnp.take_along_axis(q, best[:, None, None], axis=1)[:, 0]  # (S, R)
        # Expected backup: every pair's target value averages R noise draws, then max over next actions.
        return jnp.max(q_table(target_params, key, noise, num_r), axis=1)  # (S,)

    def loss(params, target_params, batch, key, noise, v_next=None):
        obs, act, next_state, reward, mask = batch
        low, high = noise[0], noise[1]
        k_target, k_noise, k_time = jax.random.split(key, 3)
        if v_next is None:
            v_next = target_values(target_params, k_target, noise)  # (S,), or (S, R) distributional
        if config.backup == "distributional":  # (B, R): one target per noise draw, row b*R + r below
            y = reward[:, None] + discount * mask[:, None] * v_next[next_state]
        else:
            y = floq_critic.repeat_rows(floq_critic.td_target(reward, mask, v_next[next_state][:, None], discount),
                                        num_r)  # (B*R,)
        y = jax.lax.stop_gradient(y.reshape(-1))  # (B*R,)
        # Flow matching on straight paths z0 -> y, R noise draws per transition (row b*R + r).
        n = obs.shape[0] * num_r
        x0 = sample_uniform_noise(k_noise, (n, 1), low, high)  # (B*R, 1)
        t = jnp.zeros((n, 1)) if config.train_at_zero_only else sample_time(k_time, (n, 1))  # (B*R, 1)
        x1 = floq_critic.tile_ensemble(y[:, None], num_e)  # (E, B*R, 1)
        err = floq_critic.flow_matching_loss(vf_apply, params, floq_critic.repeat_rows(obs, num_r),
                                             floq_critic.repeat_rows(act, num_r), x0, x1, t,
                                             target_noise=_target_noise(key, x1.shape, config.target_noise),
                                             predicts=config.predicts)  # (E, B*R)
        return jnp.mean(jnp.sum(floq_critic.unrepeat(err, num_r), axis=-1))  # sum over R, as floq

    def init(key):
        z = jnp.zeros((config.num_ensembles, 1, 1))
        return field.init(key, prob.table_obs[:1], prob.table_act[:1], z, 0.0)["params"]

    ratios = jnp.linspace(0.01, 0.99, 8)  # fixed starts along the interval, as the follow-up's feature-norm driver

    def features(params, noise):
        num_p = prob.table_obs.shape[0]
        obs_r, act_r = floq_critic.repeat_rows(prob.table_obs, 8), floq_critic.repeat_rows(prob.table_act, 8)
        z = (1.0 - jnp.tile(ratios, num_p)) * noise[0] + jnp.tile(ratios, num_p) * noise[1]  # (P*8,)
        z0 = z = floq_critic.tile_ensemble(z[:, None], num_e)  # (E, P*8, 1)
        steps, ctx = [], sa_features(params, obs_r, act_r)
        for i in range(config.flow_steps):  # the inputs the field sees along the online integration
            t, t_next = i / config.flow_steps, (i + 1) / config.flow_steps
            steps.append(field_features(field, params, obs_r, act_r, z, t))
            out = velocity_from_features(field, params, ctx, z, t)  # (E, P*8, 1)
            z = (1.0 - t_next) * z0 + t_next * out if config.predicts == "final" else z + out / config.flow_steps
        return steps

    return _Critic(init, loss, q_table, target_values, features)


# ---------------------------------------------------------------------------------------------------------------
# The training engine shared by both critics.


def _make_critic(kind: str, prob: _Problem, mdp: mdp_lib.TabularMDP, config: TDConfig) -> _Critic:
    if kind not in KINDS:
        raise ValueError(f"Unknown critic kind {kind!r}; choose one of {', '.join(KINDS)}.")
    if kind == "flow":
        return _flow_critic(prob, config, flow_field(mdp, config), mdp.discount)
    if config.predicts != "velocity" or config.backup != "expected":
        raise ValueError(f"predicts={config.predicts!r} and backup={config.backup!r} are flow-critic options; the "
                         f"{kind} critic takes the defaults ('velocity', 'expected').")
    return _monolithic_critic(prob, config, mdp.discount, kind)


@functools.lru_cache(maxsize=16)
def _compiled(kind: str, mdp: mdp_lib.TabularMDP, config: TDConfig):
    """Jitted ``start(keys, noises)`` and ``run_chunk(states)`` for one critic kind, cached per (kind, mdp, config).

    Both are ``vmap``-ped over runs; they return the Q-tables ``(n_runs, S, A)`` so errors are measured outside.
    """
    dataset = (mdp_lib.transition_dataset(mdp) if config.dataset_size == 0
               else mdp_lib.sampled_dataset(mdp, config.dataset_size, seed=config.dataset_seed))
    prob = _problem(mdp, dataset, config.inputs)
    critic = _make_critic(kind, prob, mdp, config)
    opt = optax.adam(config.lr)
    eval_key = jax.random.PRNGKey(12345)  # the same noise draws for every measurement
    freeze_at = config.freeze_features_at

    def table(state: TrainState) -> Array:
        return critic.q_table(state.params, eval_key, state.noise)  # (S, A)

    def start(key, noise):
        k_init, k_run = jax.random.split(key)
        params = critic.init(k_init)
        state = TrainState(params, params, opt.init(params), k_run, noise, jnp.zeros((), jnp.int32))
        return state, table(state)

    def update(state: TrainState, v_next):
        key, k_batch, k_loss = jax.random.split(state.key, 3)
        batch = _sample_batch(prob, k_batch, config.batch_size)
        loss, grads = jax.value_and_grad(critic.loss)(state.params, state.target_params, batch, k_loss, state.noise,
                                                      v_next)
        updates, opt_state = opt.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        target = _ema(state.target_params, params, config.tau)
        if freeze_at is not None:  # frozen features (exactly), frozen online features + EMA head in the target
            params, target = freeze_features(state.params, params, state.target_params, target,
                                             state.step >= freeze_at)
        return TrainState(params, target, opt_state, key, state.noise, state.step + 1), loss

    def refresh(state: TrainState, _):
        """``target_every`` updates against one target table (computed from the EMA parameters at its start)."""
        key, k_table = jax.random.split(state.key)
        v_next = critic.target_values(state.target_params, k_table, state.noise)  # (S,)
        state = state._replace(key=key)
        return jax.lax.scan(lambda st, _: update(st, v_next), state, None, length=config.target_every)

    def chunk(state: TrainState):
        if config.target_every == 1:  # the table is recomputed inside every update's loss (chapter 3)
            state, losses = jax.lax.scan(lambda st, _: update(st, None), state, None, length=config.eval_every)
        else:
            state, losses = jax.lax.scan(refresh, state, None, length=config.eval_every // config.target_every)
        return state, table(state), jnp.mean(losses)

    def summary(state: TrainState):
        """Per layer: singular values and mean |activation| of every member over all inputs, norm per step."""
        steps = critic.features(state.params, state.noise)  # [step][layer] (E, N, H)
        out = []
        for layer in range(len(steps[0])):
            x = jnp.concatenate([st[layer] for st in steps], axis=1)  # (E, steps * N, H)
            norms = jnp.stack([jnp.mean(jnp.linalg.norm(st[layer], axis=-1), axis=-1) for st in steps], -1)  # (E, T)
            out.append({"sv": jax.vmap(lambda m: jnp.linalg.svd(m, compute_uv=False))(x),
                        "mean_abs": jnp.mean(jnp.abs(x), axis=1), "norm_t": norms})
        return out

    # start runs once: compiled without optimisation passes (floq_lite/jitting.py); its parameters are those of the
    # default compilation bit for bit, its first Q-table agrees to float rounding
    return jit_once(jax.vmap(start)), jax.jit(jax.vmap(chunk)), jax.jit(jax.vmap(table)), jax.jit(jax.vmap(summary))


def _diagnostics(summaries) -> dict[str, np.ndarray]:
    """Host side of ``summary``: srank / dormant fraction / norm per run (member mean) from its device outputs."""
    from floq_lite import diagnostics as dg

    out: dict[str, np.ndarray] = {}
    for layer, summ in enumerate(summaries):
        sv, act, norm_t = (np.asarray(summ[k]) for k in ("sv", "mean_abs", "norm_t"))  # (n, E, H), (n, E, H), (n, E, T)
        out[f"layer{layer}/srank"] = np.array([[dg.srank_from_singular_values(m) for m in run] for run in sv]).mean(1)
        out[f"layer{layer}/dormant"] = np.array([[dg.dormant_from_activity(m, DORMANT_TAU) for m in run]
                                                 for run in act]).mean(1)
        out[f"layer{layer}/norm"] = norm_t.mean(axis=(1, 2))
        if norm_t.shape[-1] > 1:
            out[f"layer{layer}/norm_t"] = norm_t.mean(axis=1)
    return out


def _train(kind: str, mdp: mdp_lib.TabularMDP, config: TDConfig, q_star: np.ndarray, seeds: Sequence[int],
           noises: np.ndarray, kappas: np.ndarray, progress: bool, desc: str, init: Any = None) -> TDResult:
    """Run one training per row of ``(seeds, noises)``, all vmapped together (one compilation for the lot); from
    fresh parameters, or from the final states ``init`` of an earlier result (on this or another maze)."""
    start, run_chunk, measure, summarize = _compiled(kind, mdp, config.replace(num_steps=config.eval_every,
                                                                                snapshot_at=0))

    def errors_of(tables) -> np.ndarray:  # (n_runs, S, A) -> (n_runs,)
        return np.array([mdp_lib.q_error(mdp, q, q_star) for q in np.asarray(tables)])

    if init is None:
        keys = jnp.stack([jax.random.PRNGKey(int(s)) for s in seeds])  # (n_runs, 2)
        states, tables = start(keys, jnp.asarray(noises, dtype=jnp.float32))
    else:
        states = init._replace(step=jnp.zeros_like(init.step))  # the freeze schedule counts from here
        tables = measure(states)
    errors, losses = [errors_of(tables)], [np.full(len(seeds), np.nan)]
    diags = [_diagnostics(summarize(states))] if config.track_features else []
    num_chunks = config.num_steps // config.eval_every
    snapshot = None
    for i in tqdm(range(num_chunks), desc=desc, disable=not progress, leave=False):
        states, tables, loss = run_chunk(states)
        errors.append(errors_of(tables))
        losses.append(np.asarray(loss))
        if config.track_features:
            diags.append(_diagnostics(summarize(states)))
        if config.snapshot_at and (i + 1) * config.eval_every == config.snapshot_at:
            snapshot = jax.tree_util.tree_map(jnp.copy, states.params)
    return TDResult(
        steps=np.arange(num_chunks + 1) * config.eval_every,
        q_error=np.stack(errors, axis=1),
        loss=np.stack(losses, axis=1),
        q_table=np.asarray(tables),
        params=states.params,
        seeds=np.asarray(seeds),
        kappas=np.asarray(kappas, dtype=float),
        config=config,
        kind=kind,
        snapshot=snapshot,
        states=states,
        diagnostics={k: np.stack([d[k] for d in diags], axis=1) for k in diags[0]} if diags else None,
    )


def continue_training(result: TDResult, mdp: mdp_lib.TabularMDP, config: TDConfig | None = None, *,
                      q_star: np.ndarray | None = None, progress: bool = False) -> TDResult:
    """Go on training the critics of ``result`` (same kind, sizes and runs) on ``mdp``, e.g. the same maze with the
    goal moved (a new ``Q*``). ``config`` may change the schedule (steps, freeze); its sizes must match the result's.
    The freeze step of ``config`` counts from the start of this call."""
    if result.states is None:
        raise ValueError("this result keeps no training states to continue from; train it with this version.")
    config = result.config if config is None else config
    for name in ("hidden_dims", "num_ensembles", "inputs", "resnet_blocks", "resnet_block_depth"):
        if getattr(config, name) != getattr(result.config, name):
            raise ValueError(f"continue_training keeps the networks: {name} must stay {getattr(result.config, name)!r}.")
    q_star = mdp_lib.value_iteration(mdp) if q_star is None else q_star
    noises = np.asarray(result.states.noise)
    return _train(result.kind, mdp, config, q_star, result.seeds.tolist(), noises, result.kappas, progress,
                  f"{result.kind} critic (continued)", init=result.states)


def train_longer(result: TDResult, mdp: mdp_lib.TabularMDP, num_steps: int, *, q_star: np.ndarray | None = None,
                 progress: bool = False) -> TDResult:
    """``result`` trained ``num_steps`` further on the same ``mdp`` with the same schedule, returned with its whole
    history: the same result as a run of ``result.config.num_steps + num_steps`` steps from the start (the random
    streams live in the training states, so a stopped run goes on exactly where it was; tested)."""
    config = result.config
    if num_steps % config.eval_every:
        raise ValueError(f"num_steps ({num_steps}) must be a multiple of eval_every ({config.eval_every}).")
    if config.freeze_features_at is not None:  # continue_training counts the freeze step from its own start
        raise ValueError("train_longer cannot continue a run with a feature freeze; use continue_training.")
    more = continue_training(result, mdp, config.replace(num_steps=num_steps, snapshot_at=0), q_star=q_star,
                             progress=progress)  # the snapshot, if any, was taken in the first part
    return more._replace(
        steps=np.concatenate([result.steps, result.steps[-1] + more.steps[1:]]),
        q_error=np.concatenate([result.q_error, more.q_error[:, 1:]], axis=1),
        loss=np.concatenate([result.loss, more.loss[:, 1:]], axis=1),
        config=config.replace(num_steps=config.num_steps + num_steps),
        snapshot=result.snapshot,
        diagnostics=None if result.diagnostics is None else {
            k: np.concatenate([v, more.diagnostics[k][:, 1:]], axis=1) for k, v in result.diagnostics.items()},
    )


def train_critic(kind: str, mdp: mdp_lib.TabularMDP, config: TDConfig, seeds: Sequence[int] = (0,), *,
                 kappas: Sequence[float] | None = None, q_star: np.ndarray | None = None,
                 progress: bool = False) -> TDResult:
    """Q-learning with a critic of ``kind`` (``"monolithic"``, ``"resnet"`` or ``"flow"``); one run per seed (and,
    for the flow critic, per ``kappa``), all vmapped. See :func:`train_monolithic` and :func:`train_flow`."""
    if kind == "flow":
        return train_flow(mdp, config, seeds, kappas=kappas, q_star=q_star, progress=progress)
    if kind not in KINDS:
        raise ValueError(f"Unknown critic kind {kind!r}; choose one of {', '.join(KINDS)}.")
    q_star = mdp_lib.value_iteration(mdp) if q_star is None else q_star
    seeds = list(seeds)
    return _train(kind, mdp, config, q_star, seeds, np.zeros((len(seeds), 2)), np.full(len(seeds), config.kappa),
                  progress, f"{kind} critic")


def train_monolithic(mdp: mdp_lib.TabularMDP, config: TDConfig, seeds: Sequence[int] = (0,), *,
                     q_star: np.ndarray | None = None, progress: bool = False) -> TDResult:
    """Q-learning with the monolithic ``Value`` critic and an EMA target; one run per seed, vmapped.

    ``progress`` shows a tqdm bar over chunks (keep it off in the smoke tier).
    """
    return train_critic("monolithic", mdp, config, seeds, q_star=q_star, progress=progress)


def pair_inputs(mdp: mdp_lib.TabularMDP, config: TDConfig, states, actions) -> tuple[Array, Array]:
    """Network inputs of ``(state, action)`` pairs as ``config.inputs`` says: ``obs (N, d_s)``, one-hot ``act (N, A)``."""
    feats = mdp_lib.state_features(mdp, config.inputs)
    return jnp.asarray(feats[np.asarray(states)]), jnp.eye(mdp.num_actions)[np.asarray(actions)]


def flow_field(mdp: mdp_lib.TabularMDP, config: TDConfig) -> VelocityField:
    """The velocity field for ``mdp``: floq's HL-Gauss support ``[r_min - 0.01, r_max + 0.01] / (1 - gamma)``."""
    r_min, r_max = mdp.reward_range
    q_min, q_max = q_range(r_min, r_max, mdp.discount)
    return floq_critic.make_velocity_field(config.hidden_dims, q_min, q_max, num_ensembles=config.num_ensembles)


def noise_interval(mdp: mdp_lib.TabularMDP, kappa: float) -> tuple[float, float]:
    """``(l, u) = kappa * (r_min, r_max) / (1 - gamma)`` from the MDP's reward range (floq's rule)."""
    r_min, r_max = mdp.reward_range
    low, high = floq_critic.noise_interval(r_min, r_max, mdp.discount, kappa)
    return float(low), float(high)


def train_flow(mdp: mdp_lib.TabularMDP, config: TDConfig, seeds: Sequence[int] = (0,), *,
               kappas: Sequence[float] | None = None, q_star: np.ndarray | None = None,
               progress: bool = False) -> TDResult:
    """Q-learning with the floq velocity field (flow-matching loss toward the TD target).

    One run per ``(kappa, seed)`` in ``kappas x seeds`` (``kappas`` defaults to ``[config.kappa]``), all vmapped:
    the noise interval is data, not a compile-time constant, so a sweep over ``kappa`` compiles once.
    Use :meth:`TDResult.select` to pick one ``kappa``'s runs.
    """
    q_star = mdp_lib.value_iteration(mdp) if q_star is None else q_star
    kappas = [config.kappa] if kappas is None else list(kappas)
    if any(k <= 0 for k in kappas):
        raise ValueError(f"every kappa must be > 0, got {kappas}.")
    run_kappas = np.repeat(np.asarray(kappas, dtype=float), len(seeds))
    run_seeds = np.tile(np.asarray(seeds), len(kappas))
    noises = np.array([noise_interval(mdp, k) for k in run_kappas])  # (n_runs, 2)
    desc = f"flow critic (kappa in {kappas})" if len(kappas) > 1 else f"flow critic (kappa={kappas[0]})"
    return _train("flow", mdp, config, q_star, run_seeds.tolist(), noises, run_kappas, progress, desc)


def flow_q_statistics(mdp: mdp_lib.TabularMDP, result: TDResult, num_steps: int, *, num_noise: int = 64,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The trained flow critics' Q-tables integrated with ``num_steps`` Euler steps (test-time compute).

    Each run integrates from ``num_noise`` draws of ``z0`` in its own noise interval.
    Returns:
      ``q_mean (n_runs, S, A)``: the mean over the draws (the critic's Q-value), and
      ``q_std (n_runs, S, A)``: the standard deviation over the draws (how much the answer depends on ``z0``).
    """
    field = flow_field(mdp, result.config)
    s_all, a_all = mdp_lib.all_pairs(mdp)
    obs, act = pair_inputs(mdp, result.config, s_all, a_all)
    ratio = jax.random.uniform(jax.random.PRNGKey(seed), (obs.shape[0], num_noise))  # (P, R), shared by all runs
    noises = jnp.asarray([noise_interval(mdp, k) for k in result.kappas], dtype=jnp.float32)  # (n_runs, 2)
    shape = (mdp.num_states, mdp.num_actions)

    @jax.jit
    @jax.vmap
    def stats(params, noise):
        z0 = (1.0 - ratio) * noise[0] + ratio * noise[1]  # (P, R)
        q = flow_q_samples(field, params, obs, act, z0, num_steps, result.config.predicts)  # (P, R)
        return jnp.mean(q, axis=1).reshape(shape), jnp.std(q, axis=1).reshape(shape)

    q_mean, q_std = stats(result.params, noises)
    return np.asarray(q_mean), np.asarray(q_std)


def q_error_vs_steps(mdp: mdp_lib.TabularMDP, result: TDResult, step_counts: Sequence[int],
                     q_star: np.ndarray | None = None, num_noise: int = 64) -> np.ndarray:
    """``(n_runs, len(step_counts))``: Q error of the trained flow critics integrated with each K at evaluation."""
    q_star = mdp_lib.value_iteration(mdp) if q_star is None else q_star
    out = []
    for k in step_counts:
        q_mean, _ = flow_q_statistics(mdp, result, int(k), num_noise=num_noise)
        out.append([mdp_lib.q_error(mdp, q, q_star) for q in q_mean])
    return np.array(out).T


def q_along_noise(mdp: mdp_lib.TabularMDP, result: TDResult, state: int, action: int, num_steps: int, *,
                  num_points: int = 41) -> tuple[np.ndarray, np.ndarray]:
    """Integrated value of one pair ``(state, action)`` from evenly spaced starts across each run's noise interval.

    Returns:
      ``z0 (n_runs, M)`` and ``q (n_runs, M)`` (ensemble mean after ``num_steps`` Euler steps), ``M = num_points``.
    """
    field = flow_field(mdp, result.config)
    obs, act = pair_inputs(mdp, result.config, [state], [action])  # (1, d_s), (1, A)
    frac = jnp.linspace(0.0, 1.0, num_points)  # (M,)
    noises = jnp.asarray([noise_interval(mdp, k) for k in result.kappas], dtype=jnp.float32)  # (n_runs, 2)
    z0 = (1.0 - frac)[None] * noises[:, :1] + frac[None] * noises[:, 1:]  # (n_runs, M)
    predicts = result.config.predicts
    run = jax.jit(jax.vmap(lambda p, z: flow_q_samples(field, p, obs, act, z[None], num_steps, predicts)[0]))
    return np.asarray(z0), np.asarray(run(result.params, z0))


# ---------------------------------------------------------------------------------------------------------------
# Compute per Q-value, and compute-matched monolithic critics (chapter 7).


def input_dim(mdp: mdp_lib.TabularMDP, config: TDConfig) -> int:
    """Width of a critic's ``[s, a]`` input: state features plus one-hot actions."""
    return mdp_lib.state_features(mdp, config.inputs).shape[1] + mdp.num_actions


def flops_per_q(kind: str, mdp: mdp_lib.TabularMDP, config: TDConfig, flow_steps: int | None = None) -> int:
    """Matmul FLOPs of one Q-value: one ``(s, a)`` pair through every ensemble member.

    * monolithic: one pass of the MLP ``[d_sa, *hidden_dims, 1]``;
    * resnet: the stem ``d_sa -> w``, ``resnet_blocks * resnet_block_depth`` layers ``w -> w``, the output ``w -> 1``;
    * flow: ``K`` passes (``flow_steps``, default ``config.flow_steps``) of the field's MLP, whose input also holds
      ``embed(z)`` and the time feature, from one start ``z0`` (as the official code integrates it; caching the
      ``(s, a)`` block of the first layer, as floq_lite does, would save ``(K - 1) * 2 * d_sa * w``).

    ``2 * in * out`` per dense layer (:func:`floq_lite.networks.mlp.mlp_flops`); activations, norms and the HL-Gauss
    embedding are not counted.
    """
    d_sa, hidden, E = input_dim(mdp, config), list(config.hidden_dims), config.num_ensembles
    if kind == "monolithic":
        return E * mlp_flops([d_sa, *hidden, 1])
    if kind == "resnet":
        w = hidden[0]
        blocks = config.resnet_blocks * config.resnet_block_depth * mlp_flops([w, w])
        return E * (mlp_flops([d_sa, w]) + blocks + mlp_flops([w, 1]))
    if kind == "flow":
        K = config.flow_steps if flow_steps is None else flow_steps
        return E * K * mlp_flops([d_sa + flow_field(mdp, config).zt_dim, *hidden, 1])
    raise ValueError(f"Unknown critic kind {kind!r}; choose one of {', '.join(KINDS)}.")


def flop_matched_config(kind: str, mdp: mdp_lib.TabularMDP, config: TDConfig, target_flops: int) -> TDConfig:
    """The ``kind`` critic (``"monolithic"``: a deeper MLP of the same width; ``"resnet"``: more residual blocks)
    whose :func:`flops_per_q` is closest to ``target_flops`` (the paper's compute-matched comparison)."""
    width = config.hidden_dims[0]
    if kind == "monolithic":
        candidates = [config.replace(hidden_dims=(width,) * depth) for depth in range(1, 65)]
    elif kind == "resnet":
        candidates = [config.replace(resnet_blocks=n) for n in range(0, 65)]
    else:
        raise ValueError(f"flop_matched_config makes 'monolithic' or 'resnet' critics, not {kind!r}.")
    return min(candidates, key=lambda c: abs(flops_per_q(kind, mdp, c) - target_flops))


# ---------------------------------------------------------------------------------------------------------------
# Metrics of a Q-table against Q*, and test-time recovery of a corrupted integration (chapter 7).


def table_metrics(mdp: mdp_lib.TabularMDP, q_tables: np.ndarray, q_star: np.ndarray) -> dict[str, np.ndarray]:
    """Per run (``q_tables (n_runs, S, A)``): ``q_error`` (mean ``|Q - Q*|``), ``agreement`` (greedy action optimal)
    and ``policy_gap`` (mean ``V* - V^pi`` of the greedy policy, by exact policy evaluation), each ``(n_runs,)``."""
    tables = np.asarray(q_tables)
    return {
        "q_error": np.array([mdp_lib.q_error(mdp, q, q_star) for q in tables]),
        "agreement": np.array([mdp_lib.greedy_agreement(mdp, q, q_star) for q in tables]),
        "policy_gap": np.array([mdp_lib.greedy_policy_gap(mdp, q, q_star) for q in tables]),
    }


def _integrate_steps(field: VelocityField, params, ctx: Array, z: Array, start: int, stop: int, num_steps: int):
    """Euler steps ``i = start .. stop - 1`` of a ``num_steps``-step integration: ``z <- z + v(i / K, z) / K``."""
    for i in range(start, stop):  # K is small and static: unrolled
        z = z + velocity_from_features(field, params, ctx, z, i / num_steps) / num_steps
    return z


def _integrate_range(field: VelocityField, params, ctx: Array, z: Array, start: Array, stop: Array, num_steps: int):
    """:func:`_integrate_steps` with traced bounds, as one rolled loop: the same Euler steps, compiled once and
    reused for all ``(start, stop)`` (unrolling the ``K + 1`` corrupted integrations of :func:`recovery_errors` made its
    compilation grow as ``K^2``: 19 s of a 2,000-step maze6 cell at ``K = 8``)."""
    def step(i, z):
        return z + velocity_from_features(field, params, ctx, z, i / num_steps) / num_steps
    return jax.lax.fori_loop(start, stop, step, z)


def recovery_errors(mdp: mdp_lib.TabularMDP, result: TDResult, *, q_star: np.ndarray | None = None,
                    noise_scale: float = 1.0, num_noise: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    """How much of a corruption of the first integration steps the remaining steps undo (the follow-up's
    "test-time recovery"), for every run of a flow ``result`` trained with ``K = config.flow_steps``.

    For ``j = 0 .. K`` (the number of corrupted steps):

    * ``stale_error (n_runs, K + 1)``: mean ``|Q - Q*|`` when steps ``0 .. j-1`` use the snapshot parameters
      (``config.snapshot_at``; a stale copy of the field) and steps ``j .. K-1`` the final ones. ``j = 0`` is the
      final critic, ``j = K`` the stale one. Needs a result trained with ``snapshot_at > 0``, else NaN.
    * ``noise_gain (n_runs, K + 1)``: every integrated ``z`` gets ``N(0, noise_scale^2)`` noise after step ``j``;
      the mean ``|z_noisy(1) - z_clean(1)|`` over members, starts and pairs, divided by the mean ``|noise|``. 1 means
      the remaining steps keep the perturbation as it is (what an error in a monolithic critic's output does),
      below 1 that they shrink it. ``j = K`` is 1 by construction.

    Each Q-value of ``stale_error`` is the mean over ``num_noise`` starts ``z0``; the same starts and perturbations
    for every ``j``.
    """
    if result.kind != "flow" or result.config.predicts != "velocity":
        raise ValueError("recovery_errors needs a flow critic's result (train_flow) that predicts velocities.")
    q_star = mdp_lib.value_iteration(mdp) if q_star is None else q_star
    config, K = result.config, result.config.flow_steps
    field = flow_field(mdp, config)
    s_all, a_all = mdp_lib.all_pairs(mdp)
    obs, act = pair_inputs(mdp, config, s_all, a_all)
    P = obs.shape[0]
    obs_r, act_r = floq_critic.repeat_rows(obs, num_noise), floq_critic.repeat_rows(act, num_noise)  # (P*R, .)
    k_ratio, k_pert = jax.random.split(jax.random.PRNGKey(seed))
    ratio = jax.random.uniform(k_ratio, (P * num_noise, 1))  # (P*R, 1), shared by all runs and j
    pert = noise_scale * jax.random.normal(k_pert, (P * num_noise, 1))  # (P*R, 1)
    noises = jnp.asarray([noise_interval(mdp, k) for k in result.kappas], dtype=jnp.float32)  # (n_runs, 2)
    shape = (mdp.num_states, mdp.num_actions)
    have_snapshot = result.snapshot is not None
    snapshot = result.snapshot if have_snapshot else result.params

    def q_of(z):  # (E, P*R, 1) -> (S, A): member mean, then mean over starts
        return jnp.mean(floq_critic.unrepeat(jnp.mean(z[..., 0], axis=0), num_noise), axis=1).reshape(shape)

    @jax.jit
    @jax.vmap
    def run(params, stale, noise):
        z0 = floq_critic.tile_ensemble((1.0 - ratio) * noise[0] + ratio * noise[1], config.num_ensembles)
        ctx = sa_features(params, obs_r, act_r)
        ctx_stale = sa_features(stale, obs_r, act_r)
        clean_z = _integrate_range(field, params, ctx, z0, 0, K, K)  # (E, P*R, 1)

        def corrupted(j):  # j: the number of corrupted first steps, traced
            z = _integrate_range(field, stale, ctx_stale, z0, 0, j, K)
            stale_q = q_of(_integrate_range(field, params, ctx, z, j, K, K))  # (S, A)
            z = _integrate_range(field, params, ctx, z0, 0, j, K) + pert
            noisy = _integrate_range(field, params, ctx, z, j, K, K)  # (E, P*R, 1)
            return stale_q, jnp.mean(jnp.abs(noisy - clean_z)) / jnp.mean(jnp.abs(pert))

        return jax.lax.map(corrupted, jnp.arange(K + 1))  # (K + 1, S, A), (K + 1,)

    stale_tables, gains = run(result.params, snapshot, noises)  # (n_runs, K + 1, S, A), (n_runs, K + 1)
    stale_error = np.array([[mdp_lib.q_error(mdp, q, q_star) for q in runs] for runs in np.asarray(stale_tables)])
    if not have_snapshot:
        stale_error[:] = np.nan
    return {"steps_corrupted": np.arange(K + 1), "stale_error": stale_error, "noise_gain": np.asarray(gains)}


def z_paths(mdp: mdp_lib.TabularMDP, result: TDResult, state: int, action: int, *, run: int = 0,
            num_points: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """The Euler path of ``z`` for one pair from evenly spaced starts across the run's noise interval.

    Returns ``t (K + 1,)`` and ``z (num_points, K + 1)`` (member mean at every step) of run ``run`` of a flow result.
    """
    if result.kind != "flow" or result.config.predicts != "velocity":
        raise ValueError("z_paths needs a flow critic's result (train_flow) that predicts velocities.")
    config, K = result.config, result.config.flow_steps
    field = flow_field(mdp, config)
    params = jax.tree_util.tree_map(lambda x: x[run], result.params)
    low, high = noise_interval(mdp, float(result.kappas[run]))
    obs, act = pair_inputs(mdp, config, [state] * num_points, [action] * num_points)  # (M, d_s), (M, A)
    z = floq_critic.tile_ensemble(jnp.linspace(low, high, num_points)[:, None], config.num_ensembles)  # (E, M, 1)
    ctx = sa_features(params, obs, act)
    zs = [z]
    for i in range(K):
        zs.append(_integrate_steps(field, params, ctx, zs[-1], i, i + 1, K))
    path = np.stack([np.asarray(jnp.mean(zz[..., 0], axis=0)) for zz in zs], axis=1)  # (M, K + 1)
    return np.arange(K + 1) / K, path
