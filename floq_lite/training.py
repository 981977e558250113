"""Offline training on an OGBench singletask dataset: S seeds vmapped together, logs, evaluations, checkpoints.

The loop follows the official ``main.py`` of FQL/floq (spec §1.11): uniform batches from the dataset, one ``update``
per step, training metrics every ``log_interval`` steps, an evaluation (binary success over ``eval_episodes``
episodes, spec §5.2) every ``eval_interval`` steps and at the end. What it adds:

* all seeds train in one compiled call (``jax.vmap`` over the seed axis of ``Agent.create_seeds``), ``lax.scan`` over
  the steps of a chunk, batches sampled on the device;
* the batch of step ``n`` of seed ``s`` is drawn with ``fold_in(key(s), n)``, and the agent's own key lives in its
  state, so a run does not depend on how it is cut into chunks: a run stopped and resumed from its checkpoint ends
  with the same parameters and logs (bit for bit on CPU) as one that never stopped;
* checkpoints written atomically (temp file + ``os.replace``) after every evaluation;
* a NaN guard: a non-finite loss stops the run with a message naming the metric, seed and step; the last checkpoint
  (written before the problem) is kept.

Files in the run directory::

    config.json        agent config, env, tier, seeds, git commit, hardware, wall time, status, and the segments
                       of a resumed run (steps, wall time, commit and hardware of each start or resume)
    metrics.csv/.jsonl training metrics of every seed at every logged step (last update of the chunk), and the same
                       losses on one batch of the validation split (``val/...`` columns, no gradient step), as the
                       official ``main.py`` logs them
    eval.csv/.jsonl    success rate and mean return of every seed at every evaluation
    checkpoint.msgpack the vmapped agent state and the step it was taken at
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from floq_lite.agents import AGENT_CLASSES, check_batch_finite
from floq_lite.agents._common import BATCH_KEYS, jit_agent
from floq_lite.atomic import atomic_write_bytes
from floq_lite.jitting import jit_once
from floq_lite.config import FloqConfig, FQLConfig, env_base_name, make_config, with_reward_range
from floq_lite.tiers import current_tier

CHECKPOINT = "checkpoint.msgpack"
CONFIG = "config.json"
METRICS, EVAL = "metrics", "eval"
TRAIN_KEY_SALT = 0xB47C  # batch-sampling keys: fold_in(fold_in(PRNGKey(seed), salt), step)
VAL_KEY_SALT = 0x7A11  # validation-batch keys, same scheme with another salt
VAL_PREFIX = "val/"  # metrics.csv columns of the validation losses: "val/critic/critic_loss", ...
CHECKPOINT_FORMAT = 1


class TrainingError(RuntimeError):
    """A problem the user can act on (the message says what to do)."""


class NonFiniteLossError(TrainingError):
    """A logged loss became NaN/inf; the run stopped and kept its last good checkpoint."""


@dataclasses.dataclass
class RunResult:
    """What :func:`train` did."""

    run_dir: Path
    step: int
    status: str  # "finished", "stopped" (stop_after), "time budget" (time_budget_s) or "nan"
    last_eval: list[dict[str, Any]]
    wall_time_s: float


# --- small file helpers -----------------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    return str(value)


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2, default=_json_default) + "\n").encode())


class TableLog:
    """Rows appended to ``<name>.csv`` and ``<name>.jsonl``; floats written with ``repr`` (exact round trip)."""

    def __init__(self, run_dir: Path, name: str):
        self.csv_path = run_dir / f"{name}.csv"
        self.jsonl_path = run_dir / f"{name}.jsonl"
        self.fields: list[str] | None = None
        if self.csv_path.exists():
            with open(self.csv_path, newline="") as f:
                self.fields = next(csv.reader(f), None)

    def append(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.fields is None:
            first = ["step", "seed"]
            self.fields = first + sorted({k for r in rows for k in r} - set(first))
            with open(self.csv_path, "w", newline="") as f:
                csv.writer(f).writerow(self.fields)
        with open(self.csv_path, "a", newline="") as f:
            writer = csv.writer(f)
            for r in rows:
                writer.writerow([_fmt(r.get(k, "")) for k in self.fields])
        with open(self.jsonl_path, "a") as f:
            for r in rows:
                f.write(json.dumps(r, default=_json_default) + "\n")

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after ``step`` (written by a run that was killed before its next checkpoint)."""
        if self.csv_path.exists():
            with open(self.csv_path, newline="") as f:
                rows = list(csv.reader(f))
            if rows:
                head, body = rows[0], rows[1:]
                keep = [r for r in body if int(r[head.index("step")]) <= step]
                buf = io.StringIO()
                csv.writer(buf).writerows([head, *keep])
                atomic_write_bytes(self.csv_path, buf.getvalue().encode())
        if self.jsonl_path.exists():
            lines = [ln for ln in self.jsonl_path.read_text().splitlines() if ln.strip()]
            keep = [ln for ln in lines if json.loads(ln)["step"] <= step]
            atomic_write_bytes(self.jsonl_path, "".join(ln + "\n" for ln in keep).encode())

    def read(self) -> list[dict[str, str]]:
        if not self.csv_path.exists():
            return []
        with open(self.csv_path, newline="") as f:
            return list(csv.DictReader(f))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


# --- run metadata -----------------------------------------------------------------------------------------------------


def git_commit() -> dict[str, Any] | None:
    """The commit (and whether the tree is dirty) of the floq_lite checkout, or None outside a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        # safe.directory: CI runs as root on a checkout owned by another user, where git would refuse
        git = ["git", "-c", "safe.directory=*"]
        commit = subprocess.run([*git, "rev-parse", "HEAD"], check=False, cwd=here, capture_output=True,
                                text=True, timeout=10)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], check=False, cwd=here,
                               capture_output=True, text=True, timeout=10)
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what ``platform`` knows; "" if neither says).

    Timings differ between CPU models of the same core count (this project's 2-core machines are AMD EPYC or Intel
    Xeon), so a run records which one it ran on."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def hardware() -> dict[str, Any]:
    """JAX backend and devices, CPU model and count, platform and versions."""
    return {
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(d) for d in jax.devices()],
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "jax": jax.__version__,
    }


def config_from_dict(agent: str, values: dict[str, Any]) -> FloqConfig | FQLConfig:
    """Rebuild a config saved in ``config.json`` (JSON lists back to tuples)."""
    cls = FloqConfig if agent == "floq" else FQLConfig
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in values:
            v = values[f.name]
            kwargs[f.name] = tuple(v) if isinstance(v, list) else v
    return cls(**kwargs)


def load_run(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """``config.json`` of a run directory, with a clear error if it is not one."""
    path = Path(run_dir) / CONFIG
    if not path.exists():
        raise TrainingError(f"{run_dir} is not a run directory (no {CONFIG}); make one with `floq-lite train`.")
    meta = json.loads(path.read_text())
    meta["config_obj"] = config_from_dict(meta["agent"], meta["config"])
    return meta


# --- checkpoints ------------------------------------------------------------------------------------------------------


def save_checkpoint(run_dir: Path, agents: Any, step: int, wall_time_s: float) -> Path:
    """Write the vmapped agent state atomically (msgpack via flax.serialization)."""
    from flax import serialization

    state = serialization.to_state_dict(jax.device_get(agents))
    payload = {"format": CHECKPOINT_FORMAT, "step": int(step), "wall_time_s": float(wall_time_s), "agents": state}
    return atomic_write_bytes(run_dir / CHECKPOINT, serialization.msgpack_serialize(payload))


def load_checkpoint(run_dir: Path, template: Any) -> tuple[Any, int, float]:
    """``(agents, step, wall_time_s)`` from ``run_dir``; ``template`` gives the structure (a fresh state)."""
    from flax import serialization

    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        raise TrainingError(f"{path} does not exist: nothing to resume or evaluate (train first, or drop --resume).")
    try:
        payload = serialization.msgpack_restore(path.read_bytes())
        agents = serialization.from_state_dict(template, payload["agents"])
    except Exception as exc:
        raise TrainingError(f"{path} cannot be read ({type(exc).__name__}: {exc}); it does not match this run's "
                            "config or is corrupt.") from exc
    agents = jax.tree.map(jnp.asarray, agents)
    return agents, int(payload["step"]), float(payload.get("wall_time_s", 0.0))


def template_agents(agent: str, config: Any, seeds: Sequence[int], obs_dim: int, action_dim: int) -> Any:
    """A freshly initialised vmapped state with the right structure (what checkpoints are restored into)."""
    cls = AGENT_CLASSES[agent]
    return cls.create_seeds(list(seeds), np.zeros((1, obs_dim), np.float32), np.zeros((1, action_dim), np.float32),
                            config)


# --- the compiled chunk -----------------------------------------------------------------------------------------------


def seed_keys(seeds: Sequence[int], salt: int = TRAIN_KEY_SALT) -> jax.Array:
    """Per-seed batch-sampling keys ``(S, 2)`` (``salt``: training or validation batches)."""
    return jnp.stack([jax.random.fold_in(jax.random.PRNGKey(int(s)), salt) for s in seeds])


# The chunk is the outermost jit of training, so it is where the agents' compile options (floq_lite/jitting.py) apply.
@partial(jit_agent, static_argnames=("num_steps", "batch_size"))
def train_chunk(agents: Any, dataset: dict[str, jax.Array], keys: jax.Array, start: jax.Array, num_steps: int,
                batch_size: int) -> tuple[Any, dict[str, jax.Array]]:
    """``num_steps`` updates of every seed; batch of step ``n`` of seed ``s``: ``randint(fold_in(keys[s], n))``.

    Returns the new state and the infos stacked ``(S, num_steps)``.
    """
    size = dataset["observations"].shape[0]

    def one_seed(agent, key):
        def body(ag, n):
            idx = jax.random.randint(jax.random.fold_in(key, n), (batch_size,), 0, size)
            return ag._update(jax.tree.map(lambda x: x[idx], dataset))

        return jax.lax.scan(body, agent, start + jnp.arange(num_steps, dtype=jnp.int32))

    return jax.vmap(one_seed)(agents, keys)


@partial(jit_once, static_argnames=("batch_size",))  # runs once per log interval: compile time is its cost
def validation_losses(agents: Any, dataset: dict[str, jax.Array], keys: jax.Array, step: jax.Array,
                      batch_size: int) -> dict[str, jax.Array]:
    """The training losses of every seed on one validation batch, without a gradient step: infos ``(S,)``.

    As the official ``main.py`` (``agent.total_loss(val_batch, grad_params=None)``): the agent's current parameters
    and its own key; the batch of seed ``s`` at ``step`` is ``randint(fold_in(keys[s], step))``.
    """
    size = dataset["observations"].shape[0]

    def one_seed(agent, key):
        idx = jax.random.randint(jax.random.fold_in(key, step), (batch_size,), 0, size)
        batch = jax.tree.map(lambda x: x[idx], dataset)
        trainable = {k: agent.params[k] for k in agent.TRAINABLE}
        _, info = agent.total_loss(trainable, batch, agent.rng)
        return info

    return jax.vmap(one_seed)(agents, keys)


def nonfinite_losses(infos: dict[str, np.ndarray], seeds: Sequence[int], start: int) -> tuple[str, int, int] | None:
    """``(metric, seed, step)`` of the first non-finite loss in a chunk's infos ``(S, T)``, or None."""
    first: tuple[int, str, int] | None = None
    for name in sorted(infos):
        if "loss" not in name:
            continue
        bad = ~np.isfinite(np.asarray(infos[name]))
        if bad.any():
            s, t = (int(v) for v in np.argwhere(bad)[np.argmin(np.argwhere(bad)[:, 1])])
            if first is None or t < first[0]:
                first = (t, name, s)
    if first is None:
        return None
    t, name, s = first
    return name, int(seeds[s]), start + t + 1


# --- setup ------------------------------------------------------------------------------------------------------------


def build_config(agent: str, tier: str, env_name: str, rewards: np.ndarray, overrides: dict[str, Any]):
    """The agent config for ``env_name`` (README flags where floq_lite knows the env) with the data's reward range."""
    notes = []
    try:
        env_base_name(env_name)
        flags_env: str | None = env_name
    except ValueError:
        flags_env = None
        notes.append(f"{env_name} has no per-environment flags in floq_lite.config; using the {agent} defaults.")
    config = make_config(agent, tier=tier, env_name=flags_env, **overrides)
    return with_reward_range(config, rewards), notes


def _device_dataset(train: dict[str, np.ndarray]) -> dict[str, jax.Array]:
    missing = [k for k in BATCH_KEYS if k not in train]
    if missing:
        raise TrainingError(f"the dataset lacks {missing}; train on a '-singletask' env name (rewards and masks "
                            "come from the singletask relabelling), e.g. pointmaze-medium-navigate-singletask-v0.")
    check_batch_finite(train)
    return {k: jnp.asarray(np.asarray(train[k], np.float32)) for k in BATCH_KEYS}


def _as_saved(value: Any) -> Any:
    """A config value as ``config.json`` round-trips it (tuples and lists compare equal; ints equal floats)."""
    if isinstance(value, (tuple, list)):
        return [_as_saved(v) for v in value]
    return value


def _segments(meta: dict[str, Any], start: int, wall_before: float) -> list[dict[str, Any]]:
    """The run's stretches so far plus a new one from ``start``: a resumed run may continue on another machine, so
    each stretch keeps its steps, wall time, commit and hardware. A run saved before segments were recorded gets one
    stretch made from its saved fields (up to its checkpoint)."""
    done = [dict(s) for s in meta.get("segments", []) if s.get("to_step", 0) > s.get("from_step", 0)]
    if meta and not meta.get("segments") and start > 0:
        done = [{"from_step": 0, "to_step": start, "wall_time_s": wall_before, "started": meta.get("started"),
                 "git": meta.get("git"), "hardware": meta.get("hardware")}]
    done = [s for s in done if s["from_step"] < start]
    if done:
        done[-1]["to_step"] = min(done[-1]["to_step"], start)  # a stretch killed after its last checkpoint
    return done + [{"from_step": start, "to_step": start, "wall_time_s": 0.0,
                    "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "git": git_commit(), "hardware": hardware()}]


def default_run_dir(env_name: str, agent: str, tier: str) -> Path:
    return Path("runs") / f"{env_name}-{agent}-{tier}"


def _boundaries(start: int, total: int, log_interval: int, eval_interval: int) -> list[int]:
    """Steps at which a chunk ends: multiples of the log and eval intervals, and the last step."""
    marks = set(range(log_interval, total, log_interval)) | set(range(eval_interval, total, eval_interval))
    marks.add(total)
    return sorted(m for m in marks if m > start)


# --- the loop ---------------------------------------------------------------------------------------------------------


def train(
    env_name: str,
    *,
    agent: str = "floq",
    tier: str | None = None,
    seeds: int | Sequence[int] = 1,
    steps: int | None = None,
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    dataset_dir: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    eval_max_episode_steps: int | None = None,
    progress: bool = True,
    stop_after: int | None = None,
    time_budget_s: float | None = None,
    download: bool | None = None,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Train ``agent`` offline on ``env_name`` for ``config.offline_steps`` steps (``steps`` overrides it).

    Args:
      env_name: an OGBench singletask name, e.g. ``"pointmaze-medium-navigate-singletask-v0"``.
      agent: ``"floq"`` or ``"fql"``.  tier: compute tier (default ``$FLOQ_TIER`` or ``teach``).
      seeds: number of seeds (0..N-1) or the list of seeds; all train together.
      steps: total gradient steps (default: the tier's ``offline_steps``).
      out: run directory (default ``runs/<env>-<agent>-<tier>``).
      resume: continue from ``out/checkpoint.msgpack`` with the saved config (``steps`` may extend the run).
      dataset_dir: where the dataset files are (see :func:`floq_lite.data.resolve_dataset_dir`).
      overrides: config fields to change (e.g. ``{"alpha": 30.0, "eval_episodes": 5}``).
      eval_max_episode_steps: time-limit override for evaluation episodes (default: the env's).
      progress: tqdm progress bar.
      stop_after: stop once this many steps are done (checkpointing first only where an evaluation falls), as if
        killed: for tests and time-boxed jobs.
      time_budget_s: stop after the first chunk that ends past this many seconds of this call (evaluations
        included), then evaluate and checkpoint at that step, so that the run ends with a result and can be
        resumed. For fixed wall-clock runs (the GPU run); ``None`` runs to the last step.
      download: passed to :func:`floq_lite.data.load` (None: only if the OGBench server answers).
      log: where one-line messages go.

    Raises:
      NonFiniteLossError: a loss became NaN/inf (the last good checkpoint is kept).
      TrainingError, floq_lite.data.DatasetError, floq_lite.data.UnknownEnvError: bad input, with the fix.
    """
    from tqdm.auto import tqdm

    from floq_lite import evaluation
    from floq_lite.data import ogbench_io

    if agent not in AGENT_CLASSES:
        raise TrainingError(f"Unknown agent {agent!r}; choose one of {', '.join(AGENT_CLASSES)}.")
    tier = current_tier(tier)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise TrainingError("need at least one seed.")
    run_dir = Path(out) if out is not None else default_run_dir(env_name, agent, tier)
    overrides = dict(overrides or {})
    if steps is not None:
        if steps < 1:
            raise TrainingError(f"steps must be >= 1, got {steps}.")
        overrides["offline_steps"] = int(steps)

    have_checkpoint = (run_dir / CHECKPOINT).exists()
    if resume and not (run_dir / CONFIG).exists():
        raise TrainingError(f"--resume: {run_dir} has no {CONFIG}; start the run without --resume.")
    if not resume and ((run_dir / CONFIG).exists() or have_checkpoint):
        raise TrainingError(f"{run_dir} already holds a run; pass --resume to continue it, or choose another --out.")

    env, train_data, val_data = ogbench_io.load(env_name, dataset_dir=dataset_dir, download=download)
    env.close()  # evaluation makes its own envs
    dataset = _device_dataset(train_data)
    val_dataset = _device_dataset(val_data) if val_data and len(val_data.get("observations", ())) else None
    obs_dim, action_dim = int(train_data["observations"].shape[-1]), int(train_data["actions"].shape[-1])

    if resume:
        meta = load_run(run_dir)
        for key, value in (("env_name", env_name), ("agent", agent), ("seeds", seed_list)):
            if meta[key] != value:
                raise TrainingError(f"--resume: {run_dir} was trained with {key}={meta[key]!r}, not {value!r}.")
        config = meta["config_obj"]
        tier = meta.get("tier", tier)
        if steps is not None:
            config = dataclasses.replace(config, offline_steps=int(steps))
        saved = dataclasses.asdict(config)
        changed = {k: v for k, v in overrides.items() if k != "offline_steps"
                   and (k not in saved or _as_saved(saved[k]) != _as_saved(v))}
        if changed:
            raise TrainingError(
                "--resume keeps the saved config; " + ", ".join(
                    f"{k}={v!r} differs from the run's {saved.get(k, '(no such field)')!r}" for k, v in changed.items())
                + f". Drop those --set options, or start a new run with another --out than {run_dir}.")
        notes = meta.get("notes", [])
    else:
        config, notes = build_config(agent, tier, env_name, train_data["rewards"], overrides)
        meta = {}
    for note in notes:
        log(f"note: {note}")

    template = template_agents(agent, config, seed_list, obs_dim, action_dim)
    if resume and have_checkpoint:
        agents, start, wall_before = load_checkpoint(run_dir, template)
        log(f"resuming {run_dir} from step {start}")
    else:
        agents, start, wall_before = template, 0, 0.0
    total = int(config.offline_steps)

    run_dir.mkdir(parents=True, exist_ok=True)
    metrics_log, eval_log = TableLog(run_dir, METRICS), TableLog(run_dir, EVAL)
    metrics_log.truncate_after(start)
    eval_log.truncate_after(start)
    meta_out = {
        "env_name": env_name,
        "agent": agent,
        "tier": tier,
        "seeds": seed_list,
        "config": dataclasses.asdict(config),
        "overrides": {k: v for k, v in overrides.items()},
        "notes": notes,
        "dataset": {"dataset_dir": str(ogbench_io.resolve_dataset_dir(dataset_dir)), "rows": len(dataset["rewards"]),
                    "obs_dim": obs_dim, "action_dim": action_dim},
        "eval_max_episode_steps": eval_max_episode_steps,
        "git": git_commit(),
        "hardware": hardware(),
        "started": meta.get("started", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
        "steps_done": start,
        "wall_time_s": wall_before,
        "status": "running",
        "segments": _segments(meta, start, wall_before),
    }
    segment = meta_out["segments"][-1]  # this call's; updated in place whenever config.json is written
    write_json(run_dir / CONFIG, meta_out)

    keys = seed_keys(seed_list)
    val_keys = seed_keys(seed_list, VAL_KEY_SALT)
    # One env per seed and evaluation episode, made once: every evaluation plays all its episodes side by side.
    envs = evaluation.make_envs(env_name, len(seed_list) * config.eval_episodes, eval_max_episode_steps)
    t0 = time.perf_counter()
    step = start
    status = "finished"
    last_eval: list[dict[str, Any]] = []
    bar = tqdm(total=total, initial=start, unit="step", desc=f"{agent} {env_name}", disable=not progress)

    def finish(state: str, steps_done: int) -> RunResult:
        bar.close()
        wall = wall_before + time.perf_counter() - t0
        meta_out.update(steps_done=steps_done, wall_time_s=wall, status=state)
        segment.update(to_step=steps_done, wall_time_s=wall - wall_before)
        write_json(run_dir / CONFIG, meta_out)
        return RunResult(run_dir, step, state, last_eval, wall)

    for end in _boundaries(start, total, config.log_interval, config.eval_interval):
        if stop_after is not None and step >= stop_after:
            status = "stopped"
            break
        agents, infos = train_chunk(agents, dataset, keys, jnp.asarray(step, jnp.int32), end - step,
                                    config.batch_size)
        infos = jax.device_get(infos)
        bad = nonfinite_losses(infos, seed_list, step)
        chunk_start, step = step, end
        bar.update(end - chunk_start)
        if end % config.log_interval == 0 or end == total or bad is not None:
            val_infos: dict[str, np.ndarray] = {}
            if val_dataset is not None:
                val_infos = jax.device_get(validation_losses(agents, val_dataset, val_keys,
                                                             jnp.asarray(end, jnp.int32), config.batch_size))
            metrics_log.append([
                {"step": end, "seed": s, **{k: float(v[i, -1]) for k, v in sorted(infos.items())},
                 **{VAL_PREFIX + k: float(v[i]) for k, v in sorted(val_infos.items())},
                 "time_s": wall_before + time.perf_counter() - t0}
                for i, s in enumerate(seed_list)
            ])
        if bad is not None:
            name, seed, bad_step = bad
            ckpt = run_dir / CHECKPOINT
            good_step = load_checkpoint_step(ckpt) if ckpt.exists() else None
            meta_out["nonfinite"] = {"metric": name, "seed": seed, "step": bad_step}
            finish("nan", good_step or 0)
            kept = (f"the last good checkpoint {ckpt} (step {good_step}) is kept" if good_step is not None
                    else "no checkpoint had been written yet")
            raise NonFiniteLossError(
                f"non-finite {name} for seed {seed} at step {bad_step}; training stopped and {kept}. Lower lr, "
                "check the dataset's rewards, or resume from the checkpoint with another config."
            )
        loss_key = "critic/critic_loss"
        if loss_key in infos:
            bar.set_postfix(critic_loss=f"{float(np.mean(infos[loss_key][:, -1])):.3g}", refresh=False)
        over_budget = time_budget_s is not None and time.perf_counter() - t0 >= time_budget_s
        if end % config.eval_interval == 0 or end == total or over_budget:
            results = evaluation.evaluate(agents, episodes=config.eval_episodes, seeds=seed_list, step=end,
                                          envs=envs)
            last_eval = [{"step": end, **r.row(), "time_s": wall_before + time.perf_counter() - t0} for r in results]
            eval_log.append(last_eval)
            rate = float(np.mean([r.success_rate for r in results]))
            bar.write(f"step {end}: success {rate:.2f} (mean over {len(seed_list)} seed(s), "
                      f"{config.eval_episodes} episodes each)")
            save_checkpoint(run_dir, agents, end, wall_before + time.perf_counter() - t0)
            meta_out.update(steps_done=end, wall_time_s=wall_before + time.perf_counter() - t0)
            segment.update(to_step=end, wall_time_s=time.perf_counter() - t0)
            write_json(run_dir / CONFIG, meta_out)
        if over_budget and end < total:
            status = "time budget"
            log(f"time budget of {time_budget_s:.0f} s reached at step {end}; resume with --resume to continue")
            break
    return finish(status, step)


def load_checkpoint_step(path: Path) -> int | None:
    """The step stored in a checkpoint file (None if unreadable)."""
    from flax import serialization

    try:
        return int(serialization.msgpack_restore(Path(path).read_bytes())["step"])
    except Exception:  # noqa: BLE001
        return None


def summarize(values: Sequence[float]) -> str:
    """``mean ± std`` of a list of numbers (``nan`` if empty)."""
    if not values:
        return "nan"
    arr = np.asarray(values, float)
    return f"{arr.mean():.3f} ± {arr.std():.3f}" if len(arr) > 1 else f"{arr[0]:.3f}"


__all__ = [
    "NonFiniteLossError",
    "RunResult",
    "TrainingError",
    "config_from_dict",
    "load_checkpoint",
    "load_run",
    "save_checkpoint",
    "template_agents",
    "train",
    "train_chunk",
    "validation_losses",
]
