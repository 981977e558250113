"""Generate OGBench ``navigate`` datasets offline, following the official locomaze procedure.

The procedure (OGBench ``data_gen_scripts/generate_locomaze.py``, re-implemented here):

* the goal-conditioned maze env with ``terminate_at_goal=False`` and ``max_episode_steps=1001``;
* each episode starts in a cell drawn uniformly from all empty cells and gets a goal drawn uniformly from the
  *non-hallway* cells (a hallway cell has walls on both sides of a straight corridor); both positions get the env's
  uniform jitter of ±1 unit around the cell centre;
* every step a BFS oracle over the maze grid names the neighbouring cell that is one step closer to the goal; the
  unit vector towards that cell's centre is the *direction*;
* a low-level *expert* turns (observation without x-y, direction) into an action. For the point mass the action is
  the direction itself; the ant needs a trained locomotion policy (see :data:`Expert`);
* Gaussian noise (std 0.5 point, 0.2 ant) is added and the action is clipped to [-1, 1];
* whenever the agent reaches its goal a new goal is drawn within the same episode (episodes never end early).

Every episode draws its randomness from ``SeedSequence(seed, spawn_key=(split, episode))``, so a dataset is a pure
function of its arguments: the same with 1 or N worker processes, and the validation episodes do not change when
the number of training episodes does.

Arrays produced per split (N = episodes x episode_length rows), exactly the fields of the official files::

    observations  float32 (N, ob_dim)   env observation *before* the step   (point: x, y; ant: qpos ++ qvel)
    actions       float32 (N, act_dim)  noisy, clipped action taken at that row
    terminals     bool    (N,)          True on the last row of each episode (an episode end, NOT a success)
    qpos          float32 (N, nq)       MuJoCo qpos before the step (the singletask relabelling reads qpos[:, :2])
    qvel          float32 (N, nv)       MuJoCo qvel before the step

This module only builds arrays; :mod:`floq_lite.data.ogbench_io` writes and reads the files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import multiprocessing
import os
import pickle
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

Expert = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""A low-level policy ``expert(obs_without_xy, direction) -> action``.

``obs_without_xy``: float (ob_dim - 2,), the state observation with its first two entries (x, y) removed;
``direction``: float (2,), a unit vector towards the next maze cell; returns float (act_dim,), roughly in [-1, 1]
(noise and clipping are applied afterwards, so the expert should act deterministically, e.g. the mean action).
For antmaze this is the SAC policy trained on ``online-ant-xy-v0``.
"""

ExpertSpec = Expert | str
"""An :data:`Expert`, or ``"package.module:factory"`` naming a callable ``factory(dataset_name) -> Expert``.

The string form is resolved inside each worker process, so a policy holding JAX arrays never has to be pickled.
"""

EPISODE_LENGTH = 1001  # official navigate episodes: 1001 rows each
TRAIN_EPISODES = 1000  # official train split; the val split has a tenth of that
ACTION_NOISE = {"point": 0.5, "ant": 0.2}
_MAZES = ("medium", "large", "giant", "teleport")
NAVIGATE_DATASETS: dict[str, str] = {
    f"{robot}maze-{maze}-navigate-v0": robot for robot in ("point", "ant") for maze in _MAZES
}
"""Dataset names this module can generate -> robot type ('point' or 'ant')."""

ANT_EXPERT = "floq_lite.expert.shipped:ant_expert"
"""The default ant expert: the SAC policy shipped in ``floq_lite/expert/weights`` (loaded lazily, per worker)."""
_NEIGHBOURS = ((-1, 0), (0, -1), (1, 0), (0, 1))  # the order OGBench's oracle scans; ties go to the first


def env_id_of(dataset_name: str) -> str:
    """Gymnasium id of the env a navigate dataset is recorded in: ``pointmaze-medium-navigate-v0`` ->
    ``pointmaze-medium-v0``."""
    check_dataset_name(dataset_name)
    return dataset_name.replace("-navigate-", "-")


def check_dataset_name(dataset_name: str) -> str:
    """Return ``dataset_name`` if this module can generate it, else raise ``ValueError`` listing the valid names."""
    if dataset_name not in NAVIGATE_DATASETS:
        raise ValueError(
            f"Cannot generate {dataset_name!r}: floq-lite generates the OGBench 'navigate' datasets "
            f"{', '.join(NAVIGATE_DATASETS)}."
        )
    return dataset_name


@dataclasses.dataclass(frozen=True)
class MazeGrid:
    """The maze of an OGBench locomaze env as a grid of cells, with its cell <-> x-y conversion.

    ``walls[i, j]`` is True for a wall block; row ``i`` grows with y, column ``j`` with x. Cell ``(i, j)`` is a square
    of side ``unit`` centred at ``(j * unit - offset_x, i * unit - offset_y)``.
    """

    walls: np.ndarray  # bool (H, W)
    unit: float
    offset_x: float
    offset_y: float
    jitter: float  # half-width of the uniform jitter OGBench adds to start/goal positions

    @classmethod
    def from_env(cls, env: Any) -> MazeGrid:
        """Read the grid from a (possibly wrapped) ``ogbench.locomaze`` maze env."""
        maze = env.unwrapped
        return cls(
            walls=np.asarray(maze.maze_map) == 1,
            unit=float(maze._maze_unit),
            offset_x=float(maze._offset_x),
            offset_y=float(maze._offset_y),
            jitter=float(maze._noise) * float(maze._maze_unit) / 4,
        )

    def cell_of(self, xy: Sequence[float]) -> tuple[int, int]:
        """The cell containing ``xy`` (truncation towards zero, as OGBench's ``xy_to_ij``)."""
        return (
            int((xy[1] + self.offset_y + 0.5 * self.unit) / self.unit),
            int((xy[0] + self.offset_x + 0.5 * self.unit) / self.unit),
        )

    def center_of(self, ij: tuple[int, int]) -> np.ndarray:
        """x-y centre of cell ``ij``, float64 (2,)."""
        return np.array([ij[1] * self.unit - self.offset_x, ij[0] * self.unit - self.offset_y])

    def empty_cells(self) -> list[tuple[int, int]]:
        """All free cells in row-major order (the start-cell candidates)."""
        return [(int(i), int(j)) for i, j in zip(*np.nonzero(~self.walls), strict=True)]

    def is_hallway(self, ij: tuple[int, int]) -> bool:
        """True for a free cell inside a straight corridor: open on one axis, walled on the other."""
        i, j = ij
        w = self.walls
        vertical = not w[i - 1, j] and not w[i + 1, j] and w[i, j - 1] and w[i, j + 1]
        horizontal = not w[i, j - 1] and not w[i, j + 1] and w[i - 1, j] and w[i + 1, j]
        return bool(vertical or horizontal)

    def goal_cells(self) -> list[tuple[int, int]]:
        """Free cells that are not hallways (the goal candidates): corners, junctions, dead ends, rooms."""
        return [ij for ij in self.empty_cells() if not self.is_hallway(ij)]

    def distances_to(self, goal: tuple[int, int]) -> np.ndarray:
        """BFS step counts to ``goal`` over free cells, int (H, W); -1 for walls and unreachable cells."""
        dist = np.full(self.walls.shape, -1, dtype=np.int64)
        dist[goal] = 0
        queue = deque([goal])
        while queue:
            i, j = queue.popleft()
            for di, dj in _NEIGHBOURS:
                ni, nj = i + di, j + dj
                if self.inside(ni, nj) and not self.walls[ni, nj] and dist[ni, nj] == -1:
                    dist[ni, nj] = dist[i, j] + 1
                    queue.append((ni, nj))
        return dist

    def inside(self, i: int, j: int) -> bool:
        """True if ``(i, j)`` indexes the grid."""
        return 0 <= i < self.walls.shape[0] and 0 <= j < self.walls.shape[1]


class BFSOracle:
    """The navigate oracle: from a position, the next cell on a shortest grid path to the goal's cell.

    It gives the same answers as OGBench's ``get_oracle_subgoal`` (including its tie-breaking and its quirk of
    preferring a neighbour whose BFS value is -1) but caches one BFS table per goal cell instead of re-running BFS
    every step, which makes it several times faster.
    """

    def __init__(self, grid: MazeGrid) -> None:
        self.grid = grid
        self._tables: dict[tuple[int, int], np.ndarray] = {}

    def subgoal_cell(self, xy: Sequence[float], goal_xy: Sequence[float]) -> tuple[int, int]:
        """Neighbour of ``xy``'s cell with the smallest BFS value towards ``goal_xy``'s cell (or ``xy``'s own cell)."""
        goal = self.grid.cell_of(goal_xy)
        table = self._tables.get(goal)
        if table is None:
            table = self._tables[goal] = self.grid.distances_to(goal)
        best = here = self.grid.cell_of(xy)
        for di, dj in _NEIGHBOURS:
            ni, nj = here[0] + di, here[1] + dj
            if self.grid.inside(ni, nj) and not self.grid.walls[ni, nj] and table[ni, nj] < table[best]:
                best = (ni, nj)
        return best

    def direction(self, xy: Sequence[float], goal_xy: Sequence[float]) -> np.ndarray:
        """Unit vector, float64 (2,), from ``xy`` towards the centre of the subgoal cell (≈0 at that centre)."""
        delta = self.grid.center_of(self.subgoal_cell(xy, goal_xy)) - np.asarray(xy, dtype=np.float64)
        return delta / (np.linalg.norm(delta) + 1e-6)  # the 1e-6 keeps it finite at the cell centre, as OGBench


def point_expert(obs_without_xy: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The point mass's "expert": its action is a velocity command, so it just follows the direction."""
    del obs_without_xy
    return np.asarray(direction, dtype=np.float64)


def resolve_expert(spec: ExpertSpec | None, dataset_name: str) -> Expert:
    """Turn an :data:`ExpertSpec` (or None) into the expert for ``dataset_name``.

    None means the built-in expert: the direction itself for the point mass, the shipped SAC policy for the ant.
    """
    robot = NAVIGATE_DATASETS[check_dataset_name(dataset_name)]
    if spec is None:
        spec = point_expert if robot == "point" else ANT_EXPERT
    if callable(spec):
        return spec
    module_name, sep, attr = str(spec).partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"Expert spec {spec!r} must look like 'package.module:factory'.")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"Cannot import expert factory {spec!r}: {exc}") from exc
    expert = factory(dataset_name)
    if not callable(expert):
        raise ValueError(f"Expert factory {spec!r} returned {type(expert).__name__}, not a callable policy.")
    return expert


@dataclasses.dataclass(frozen=True)
class NavigateConfig:
    """Everything that determines a navigate dataset (besides the episode indices)."""

    dataset_name: str
    seed: int = 0
    episode_length: int = EPISODE_LENGTH
    noise: float | None = None  # None: the official value for the robot (ACTION_NOISE)
    expert: ExpertSpec | None = None

    @property
    def action_noise(self) -> float:
        return ACTION_NOISE[NAVIGATE_DATASETS[self.dataset_name]] if self.noise is None else float(self.noise)


@dataclasses.dataclass(frozen=True)
class Episode:
    """One recorded episode: the five official arrays (``T = episode_length`` rows) and the goals it was given.

    ``goals`` is float64 (k + 1, 2): the first goal and every new goal drawn after reaching one, so the episode
    reached ``k = len(goals) - 1`` goals (the last goal is still pending when the episode ends).
    """

    arrays: dict[str, np.ndarray]
    goals: np.ndarray

    @property
    def goals_reached(self) -> int:
        return len(self.goals) - 1


@contextlib.contextmanager
def _global_numpy_seed(seed: int) -> Iterator[None]:
    """Seed numpy's legacy global RNG for the duration, then restore it.

    OGBench envs draw from the global RNG inside ``reset`` (start/goal jitter, overridden below) and, in the teleport
    mazes, inside ``step`` (which exit a teleporter leads to); seeding it per episode keeps episodes reproducible
    without disturbing the caller's random state.
    """
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(saved)


class EpisodeRunner:
    """Holds one env, its oracle and the expert; records episodes by (split, index)."""

    def __init__(self, config: NavigateConfig) -> None:
        import gymnasium  # lazy: keeps `import floq_lite.data` free of mujoco
        import ogbench.locomaze  # noqa: F401  (registers the maze envs with gymnasium)

        check_dataset_name(config.dataset_name)
        if config.episode_length < 2:
            raise ValueError(f"episode_length must be at least 2 (got {config.episode_length}).")
        self.config = config
        self.env = gymnasium.make(
            env_id_of(config.dataset_name), terminate_at_goal=False, max_episode_steps=config.episode_length
        )
        self.grid = MazeGrid.from_env(self.env)
        self.oracle = BFSOracle(self.grid)
        self.starts = self.grid.empty_cells()
        self.goals = self.grid.goal_cells()
        self.expert = resolve_expert(config.expert, config.dataset_name)

    def run(self, split: int, index: int) -> Episode:
        """Record episode ``index`` of ``split`` (0 = train, 1 = val); deterministic in (seed, split, index)."""
        seq = np.random.SeedSequence(self.config.seed, spawn_key=(split, index))
        env_seed, global_seed = (int(s) for s in seq.generate_state(2))
        rng = np.random.default_rng(seq)
        with _global_numpy_seed(global_seed):
            return self._run(rng, env_seed)

    def _jittered(self, rng: np.random.Generator, cell: tuple[int, int]) -> np.ndarray:
        return self.grid.center_of(cell) + rng.uniform(-self.grid.jitter, self.grid.jitter, size=2)

    def _run(self, rng: np.random.Generator, env_seed: int) -> Episode:
        env, maze, length = self.env, self.env.unwrapped, self.config.episode_length
        start = self.starts[rng.integers(len(self.starts))]
        goal = self.goals[rng.integers(len(self.goals))]
        noise = rng.normal(0.0, self.config.action_noise, size=(length, *env.action_space.shape))

        env.action_space.seed(env_seed)  # reset takes a few random "settling" steps with sampled actions
        env.reset(seed=env_seed, options=dict(task_info=dict(init_ij=start, goal_ij=goal)))
        # Place start and goal with our own generator (reset drew its jitter from the global RNG).
        maze.set_xy(self._jittered(rng, start))
        goals = [self._jittered(rng, goal)]
        maze.set_goal(goal_xy=goals[0])
        ob = maze.get_ob()

        rows: dict[str, list[np.ndarray]] = {k: [] for k in ("observations", "actions", "qpos", "qvel")}
        terminals = np.zeros(length, dtype=bool)
        for t in range(length):
            direction = self.oracle.direction(maze.get_xy()[:2], maze.cur_goal_xy)
            action = np.asarray(self.expert(ob[2:], direction), dtype=np.float64)
            action = np.clip(action + noise[t], -1.0, 1.0)
            next_ob, _, terminated, truncated, info = env.step(action)
            rows["observations"].append(ob)
            rows["actions"].append(action)
            rows["qpos"].append(info["prev_qpos"])
            rows["qvel"].append(info["prev_qvel"])
            terminals[t] = terminated or truncated
            if info["success"]:  # navigate: keep going towards a fresh goal in the same episode
                goals.append(self._jittered(rng, self.goals[rng.integers(len(self.goals))]))
                maze.set_goal(goal_xy=goals[-1])
            ob = next_ob
            if terminals[t]:
                break
        if t != length - 1 or not terminals[-1]:
            raise RuntimeError(f"Episode ended after {t + 1} steps instead of {length}; the env did not truncate.")
        arrays = {k: np.asarray(v, dtype=np.float32) for k, v in rows.items()}
        arrays["terminals"] = terminals
        return Episode(arrays, np.array(goals))


@dataclasses.dataclass(frozen=True)
class NavigateDataset:
    """A generated train/val pair (arrays in the official layout) and the goals of every episode.

    ``train_goals[e]`` is float64 (k + 1, 2), the goal positions of train episode ``e`` in the order given
    (see :class:`Episode`); the goals are not part of the official files.
    """

    train: dict[str, np.ndarray]
    val: dict[str, np.ndarray]
    train_goals: list[np.ndarray]
    val_goals: list[np.ndarray]

    @property
    def train_goals_reached(self) -> np.ndarray:
        """int (train episodes,): goals reached per train episode."""
        return np.array([len(g) - 1 for g in self.train_goals])

    @property
    def val_goals_reached(self) -> np.ndarray:
        """int (val episodes,): goals reached per val episode."""
        return np.array([len(g) - 1 for g in self.val_goals])


# One runner per worker process, built once by the pool initializer.
_WORKER_RUNNER: EpisodeRunner | None = None


def _init_worker(config: NavigateConfig) -> None:
    global _WORKER_RUNNER
    _WORKER_RUNNER = EpisodeRunner(config)


def _run_in_worker(job: tuple[int, int]) -> Episode:
    assert _WORKER_RUNNER is not None, "worker used before its initializer ran"
    return _WORKER_RUNNER.run(*job)


def default_val_episodes(episodes: int) -> int:
    """The official val split is a tenth of the train episodes (1000 -> 100); at least one episode."""
    return max(1, episodes // 10)


@contextlib.contextmanager
def _environ(**values: str):
    """Set environment variables while the block runs (spawned processes inherit them), then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def generate_navigate(
    dataset_name: str,
    *,
    episodes: int = TRAIN_EPISODES,
    val_episodes: int | None = None,
    episode_length: int = EPISODE_LENGTH,
    seed: int = 0,
    noise: float | None = None,
    expert: ExpertSpec | None = None,
    workers: int = 1,
    progress: bool = True,
) -> NavigateDataset:
    """Generate the train and val splits of an OGBench navigate dataset in memory.

    Args:
        dataset_name: one of :data:`NAVIGATE_DATASETS`, e.g. ``"pointmaze-medium-navigate-v0"``.
        episodes: train episodes (official: 1000).
        val_episodes: val episodes; default ``max(1, episodes // 10)`` (official: 100).
        episode_length: rows per episode (official: 1001).
        seed: the dataset is a deterministic function of the seed (and the other arguments).
        noise: std of the Gaussian action noise; default 0.5 for the point mass, 0.2 for the ant.
        expert: low-level policy (:data:`ExpertSpec`); None uses the point mass's direction-following expert, or the
            shipped SAC ant expert. With ``workers > 1`` a callable must be picklable (an ``AntExpert`` is); else
            prefer the string form.
        workers: processes to spread the episodes over (results do not depend on it).
        progress: show a tqdm progress bar.

    Returns:
        :class:`NavigateDataset` with ``train`` holding ``episodes * episode_length`` rows and ``val`` holding
        ``val_episodes * episode_length`` rows.
    """
    check_dataset_name(dataset_name)
    val_episodes = default_val_episodes(episodes) if val_episodes is None else val_episodes
    for name, value, low in (("episodes", episodes, 1), ("val_episodes", val_episodes, 1), ("workers", workers, 1)):
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low} (got {value!r}).")
    if noise is not None and not noise >= 0:
        raise ValueError(f"noise must be a non-negative standard deviation (got {noise!r}).")
    config = NavigateConfig(dataset_name, seed=seed, episode_length=episode_length, noise=noise, expert=expert)
    jobs = [(0, i) for i in range(episodes)] + [(1, i) for i in range(val_episodes)]
    if not isinstance(expert, str):
        resolve_expert(expert, dataset_name)  # fail fast (e.g. missing expert weights) before starting any work
        if workers > 1 and expert is not None:
            try:
                pickle.dumps(expert)
            except Exception as exc:  # lambdas, closures, objects holding device buffers
                raise ValueError(
                    f"With workers > 1 the expert is sent to each worker process, but it cannot be pickled ({exc}). "
                    "Pass it as 'package.module:factory' instead, or use workers=1."
                ) from exc

    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), desc=dataset_name, unit="episode", disable=not progress)
    try:
        if workers == 1:
            runner = EpisodeRunner(config)
            results = []
            for job in jobs:
                results.append(runner.run(*job))
                bar.update()
        else:
            # "spawn": forking a process that has started JAX or MuJoCo threads can deadlock. The workers run the
            # simulator and the small expert on the CPU: on a GPU machine, 16 workers must not each claim the GPU.
            ctx = multiprocessing.get_context("spawn")
            with _environ(JAX_PLATFORMS="cpu"), ctx.Pool(workers, initializer=_init_worker,
                                                          initargs=(config,)) as pool:
                results = []
                for episode in pool.imap(_run_in_worker, jobs, chunksize=4):
                    results.append(episode)
                    bar.update()
    finally:
        bar.close()

    def stack(part: list[Episode]) -> dict[str, np.ndarray]:
        return {k: np.concatenate([e.arrays[k] for e in part]) for k in part[0].arrays}

    train, val = results[:episodes], results[episodes:]
    return NavigateDataset(
        train=stack(train),
        val=stack(val),
        train_goals=[e.goals for e in train],
        val_goals=[e.goals for e in val],
    )


def cell_coverage(grid: MazeGrid, xy: np.ndarray) -> float:
    """Fraction of the maze's free cells that contain at least one of the positions ``xy`` (float (N, 2))."""
    xy = np.asarray(xy, dtype=np.float64)
    # Vectorised MazeGrid.cell_of: astype(int) truncates towards zero like int().
    i = ((xy[:, 1] + grid.offset_y + 0.5 * grid.unit) / grid.unit).astype(np.int64)
    j = ((xy[:, 0] + grid.offset_x + 0.5 * grid.unit) / grid.unit).astype(np.int64)
    inside = (i >= 0) & (i < grid.walls.shape[0]) & (j >= 0) & (j < grid.walls.shape[1])
    visited = np.zeros(grid.walls.shape, dtype=bool)
    visited[i[inside], j[inside]] = True
    free = ~grid.walls
    return float((visited & free).sum() / free.sum())
