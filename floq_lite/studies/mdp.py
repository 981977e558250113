"""A small slippery maze whose optimal Q-function is known exactly (chapter 3).

The maze mimics the reward convention of OGBench's single-task mazes, the setting floq was tuned for:

* every step costs ``-1`` until the agent reaches the goal;
* the transition that *enters* the goal has reward ``0`` and mask ``0`` (``mask = 1 - success``), so bootstrapping
  stops there and the goal itself is never a state we need a Q-value for;
* actions slip: with probability ``slip`` the intended move is replaced by a uniformly random one (which may be the
  intended move again). Bumping into a wall or the border leaves the agent where it is.

With ``gamma = 0.97`` the optimal values lie in roughly ``[-14, 0]``, the same "a few tens of units below zero"
scale as floq's returns.

Everything here is plain numpy: the MDP is data, not something we differentiate through. States are indexed
``0..S-1`` in row-major order over the free cells (goal included); actions are ``0..3`` = up, right, down, left.
Arrays keep a fixed layout:

* ``transitions[s, a, s2] = P(s2 | s, a)``, shape ``(S, A, S)``;
* ``rewards[s, a, s2]`` and ``masks[s, a, s2]``, shape ``(S, A, S)`` (they only depend on whether ``s2`` is the goal);
* ``q[s, a]``, shape ``(S, A)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

# ``#`` wall, ``.`` free cell, ``G`` goal. A spiral-ish maze: the far corners are about 12 moves from the goal.
DEFAULT_LAYOUT: tuple[str, ...] = (
    "......",
    ".####.",
    ".#G..#",
    ".##.#.",
    "....#.",
    "###...",
)
ACTION_NAMES: tuple[str, ...] = ("up", "right", "down", "left")
ACTION_ARROWS: tuple[str, ...] = ("\u2191", "\u2192", "\u2193", "\u2190")
_MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])  # (A, 2) row/col offsets


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """A finite MDP with a single absorbing goal, as arrays.

    Attributes:
      layout: the maze, one string per row.
      cells: ``(S, 2)`` row/col of every state.
      goal: index of the goal state.
      transitions: ``(S, A, S)`` next-state probabilities (rows sum to 1).
      rewards: ``(S, A, S)`` reward of each transition (``-1``, or ``0`` when ``s2`` is the goal).
      masks: ``(S, A, S)`` bootstrap mask (``0`` when ``s2`` is the goal, else ``1``).
      discount: gamma.
      slip: probability that the action is replaced by a uniformly random one.
    """

    layout: tuple[str, ...]
    cells: np.ndarray
    goal: int
    transitions: np.ndarray
    rewards: np.ndarray
    masks: np.ndarray
    discount: float
    slip: float

    @property
    def num_states(self) -> int:
        return self.transitions.shape[0]

    @property
    def num_actions(self) -> int:
        return self.transitions.shape[1]

    @property
    def nonterminal(self) -> np.ndarray:
        """``(S,)`` bool: the states whose Q-values matter (every state but the goal)."""
        keep = np.ones(self.num_states, dtype=bool)
        keep[self.goal] = False
        return keep

    @property
    def reward_range(self) -> tuple[float, float]:
        """``(r_min, r_max)`` over the transitions that can happen, as floq reads it off the dataset."""
        possible = self.rewards[self.nonterminal][self.transitions[self.nonterminal] > 0]
        return float(possible.min()), float(possible.max())


def make_maze(layout: tuple[str, ...] = DEFAULT_LAYOUT, *, slip: float = 0.2, discount: float = 0.97) -> TabularMDP:
    """Build the slippery maze MDP from a layout (``#`` wall, ``.`` free, exactly one ``G``)."""
    if not 0.0 <= slip <= 1.0:
        raise ValueError(f"slip must be a probability in [0, 1], got {slip}.")
    if not 0.0 <= discount < 1.0:
        raise ValueError(f"discount must be in [0, 1), got {discount}.")
    widths = {len(row) for row in layout}
    if len(widths) != 1:
        raise ValueError(f"every layout row must have the same length, got lengths {sorted(widths)}.")
    bad = set("".join(layout)) - set("#.G")
    if bad:
        raise ValueError(f"layout may only contain '#', '.', 'G'; found {sorted(bad)}.")
    if "".join(layout).count("G") != 1:
        raise ValueError("layout must contain exactly one goal 'G'.")

    cells = np.array([(r, c) for r, row in enumerate(layout) for c, ch in enumerate(row) if ch != "#"])
    index = {(int(r), int(c)): i for i, (r, c) in enumerate(cells)}
    goal = next(index[(r, c)] for r, row in enumerate(layout) for c, ch in enumerate(row) if ch == "G")
    num_s, num_a = len(cells), len(_MOVES)

    # Deterministic effect of each move: next state index, (S, A).
    moved = np.empty((num_s, num_a), dtype=int)
    for s, (r, c) in enumerate(cells):
        for a, (dr, dc) in enumerate(_MOVES):
            moved[s, a] = index.get((int(r + dr), int(c + dc)), s)  # walls and borders: stay put

    # Slip: the executed move is the intended one w.p. 1 - slip + slip / A, any other w.p. slip / A.
    executed = np.full((num_a, num_a), slip / num_a) + (1.0 - slip) * np.eye(num_a)  # (A_intended, A_executed)
    transitions = np.zeros((num_s, num_a, num_s))
    for s in range(num_s):
        for a in range(num_a):
            for b in range(num_a):
                transitions[s, a, moved[s, b]] += executed[a, b]
    # The goal is absorbing (never used: it is masked out, but rows must still be distributions).
    transitions[goal] = 0.0
    transitions[goal, :, goal] = 1.0

    enters_goal = np.zeros((num_s, num_a, num_s), dtype=bool)
    enters_goal[:, :, goal] = True
    rewards = np.where(enters_goal, 0.0, -1.0)
    masks = np.where(enters_goal, 0.0, 1.0)
    return TabularMDP(tuple(layout), cells, goal, transitions, rewards, masks, float(discount), float(slip))


def bellman_optimality_backup(mdp: TabularMDP, q: np.ndarray) -> np.ndarray:
    """``(T q)(s, a) = sum_s2 P(s2|s,a) [r + gamma * mask * max_a2 q(s2, a2)]``; ``q`` and the result are ``(S, A)``."""
    v_next = q.max(axis=1)  # (S,)
    backup = mdp.rewards + mdp.discount * mdp.masks * v_next[None, None, :]  # (S, A, S)
    return np.sum(mdp.transitions * backup, axis=-1)


def value_iteration(mdp: TabularMDP, *, tol: float = 1e-10, max_iters: int = 100_000) -> np.ndarray:
    """Exact ``Q*`` by iterating the Bellman optimality backup to a fixed point.

    The backup is a ``gamma``-contraction in the max norm, so ``||q_k - Q*|| <= gamma^k ||q_0 - Q*||``. Returns
    ``(S, A)``; the goal row is 0 by convention (it is never bootstrapped from).
    """
    q = np.zeros((mdp.num_states, mdp.num_actions))
    for _ in range(max_iters):
        q_new = bellman_optimality_backup(mdp, q)
        q_new[mdp.goal] = 0.0
        if np.max(np.abs(q_new - q)) < tol:
            return q_new
        q = q_new
    raise RuntimeError(f"value iteration did not reach tol={tol} in {max_iters} iterations; is discount < 1?")


def bellman_residual(mdp: TabularMDP, q: np.ndarray) -> float:
    """``max |T q - q|`` over non-goal states: 0 exactly at ``Q*``."""
    diff = bellman_optimality_backup(mdp, q) - q
    return float(np.max(np.abs(diff[mdp.nonterminal])))


def q_error(mdp: TabularMDP, q: np.ndarray, q_star: np.ndarray) -> float:
    """Mean absolute error ``mean_{s != goal, a} |q(s, a) - Q*(s, a)|`` in reward units."""
    return float(np.mean(np.abs(np.asarray(q) - q_star)[mdp.nonterminal]))


def transition_dataset(mdp: TabularMDP, samples_per_pair: int = 20) -> dict[str, np.ndarray]:
    """An offline dataset holding every (non-goal state, action) pair ``samples_per_pair`` times.

    The next states are not sampled at random: each ``s2`` appears ``P(s2 | s, a) * samples_per_pair`` times, so the
    dataset's empirical transition kernel *is* the MDP's and TD learning on it has exactly ``Q*`` as its fixed point.
    That needs every probability to be a multiple of ``1 / samples_per_pair`` (slip 0.2 with 4 actions: 0.85 and
    0.05, so 20 works); otherwise a ``ValueError`` says so.

    Returns arrays with ``N = (S - 1) * A * samples_per_pair`` rows:
      ``state`` (N,) int, ``action`` (N,) int, ``next_state`` (N,) int, ``reward`` (N,) float32, ``mask`` (N,) float32.
    Turn indices into network inputs with :func:`one_hot_inputs`.
    """
    counts = mdp.transitions * samples_per_pair
    if not np.allclose(counts, np.round(counts), atol=1e-9):
        raise ValueError(
            f"samples_per_pair={samples_per_pair} cannot represent the transition probabilities exactly "
            f"(slip={mdp.slip}); pick a multiple of {mdp.num_actions} / gcd that makes P * n integers, e.g. 20 for slip 0.2."
        )
    counts = np.round(counts).astype(int)
    rows = []
    for s in np.flatnonzero(mdp.nonterminal):
        for a in range(mdp.num_actions):
            for s2 in np.flatnonzero(counts[s, a]):
                rows += [(s, a, s2)] * counts[s, a, s2]
    idx = np.array(rows)
    s, a, s2 = idx[:, 0], idx[:, 1], idx[:, 2]
    return {
        "state": s,
        "action": a,
        "next_state": s2,
        "reward": mdp.rewards[s, a, s2].astype(np.float32),
        "mask": mdp.masks[s, a, s2].astype(np.float32),
    }


def sampled_dataset(mdp: TabularMDP, size: int, *, seed: int = 0) -> dict[str, np.ndarray]:
    """``size`` transitions drawn at random: ``(s, a)`` uniform over the non-goal pairs, ``s2 ~ P(. | s, a)``.

    Unlike :func:`transition_dataset` its empirical transition kernel is only an estimate of the MDP's, so TD
    learning on it converges to the ``Q*`` of the *empirical* MDP; few rows and many gradient steps per row is the
    offline analogue of a high update-to-data ratio. Same arrays as :func:`transition_dataset`.
    """
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}.")
    rng = np.random.default_rng(seed)
    states = np.flatnonzero(mdp.nonterminal)
    s = rng.choice(states, size=size)
    a = rng.integers(0, mdp.num_actions, size=size)
    cum = np.cumsum(mdp.transitions[s, a], axis=1)  # (size, S)
    s2 = np.minimum((rng.random((size, 1)) > cum).sum(axis=1), mdp.num_states - 1)
    return {
        "state": s,
        "action": a,
        "next_state": s2,
        "reward": mdp.rewards[s, a, s2].astype(np.float32),
        "mask": mdp.masks[s, a, s2].astype(np.float32),
    }


def empirical_mdp(mdp: TabularMDP, dataset: dict[str, np.ndarray]) -> TabularMDP:
    """The MDP whose transition probabilities are the dataset's frequencies (pairs the dataset never holds keep the
    true ones), the fixed point that TD learning on a sampled dataset can reach at best."""
    counts = np.zeros_like(mdp.transitions)
    np.add.at(counts, (dataset["state"], dataset["action"], dataset["next_state"]), 1.0)
    seen = counts.sum(axis=2, keepdims=True)
    transitions = np.where(seen > 0, counts / np.maximum(seen, 1.0), mdp.transitions)
    return dataclasses.replace(mdp, transitions=transitions)


def with_goal(layout: tuple[str, ...], cell: tuple[int, int]) -> tuple[str, ...]:
    """``layout`` with its goal moved to ``cell`` (row, col), which must be free."""
    grid = [list(row.replace("G", ".")) for row in layout]
    r, c = cell
    if not (0 <= r < len(grid) and 0 <= c < len(grid[0])) or grid[r][c] != ".":
        raise ValueError(f"cell {cell} is not a free cell of the layout.")
    grid[r][c] = "G"
    return tuple("".join(row) for row in grid)


def one_hot_inputs(mdp: TabularMDP, states, actions) -> tuple[np.ndarray, np.ndarray]:
    """One-hot network inputs: ``(states (N,), actions (N,))`` -> ``(obs (N, S), act (N, A))`` float32."""
    eye_s = np.eye(mdp.num_states, dtype=np.float32)
    eye_a = np.eye(mdp.num_actions, dtype=np.float32)
    return eye_s[np.asarray(states)], eye_a[np.asarray(actions)]


def coordinate_features(mdp: TabularMDP) -> np.ndarray:
    """``(S, 2)`` float32: each state's (row, col) scaled to ``[-1, 1]`` over the layout.

    As network inputs these make neighbouring cells look alike: a wall between two cells makes ``Q*`` jump between
    nearby inputs, a shape the network has to represent (with one-hot inputs it can store every state apart).
    """
    rows, cols = len(mdp.layout), len(mdp.layout[0])
    scale = np.array([max(rows - 1, 1), max(cols - 1, 1)], dtype=np.float64)
    return (2.0 * mdp.cells / scale - 1.0).astype(np.float32)


def state_features(mdp: TabularMDP, inputs: str = "onehot") -> np.ndarray:
    """The input of every state: ``"onehot"`` ``(S, S)`` or ``"coords"`` ``(S, 2)`` (:func:`coordinate_features`)."""
    if inputs == "onehot":
        return np.eye(mdp.num_states, dtype=np.float32)
    if inputs == "coords":
        return coordinate_features(mdp)
    raise ValueError(f"Unknown inputs {inputs!r}; choose 'onehot' or 'coords'.")


def generated_layout(rows: int, cols: int, *, seed: int = 0, loops: float = 0.15,
                     goal: tuple[int, int] | None = None) -> tuple[str, ...]:
    """A maze layout carved by a seeded depth-first search, with a fraction ``loops`` of extra openings.

    Free cells sit on the even (row, col) positions of the carving grid and the walls between them are knocked out
    along a random spanning tree, so every free cell is reachable; ``loops`` removes that fraction of the remaining
    inner walls, which adds cycles (several routes, as in OGBench's mazes). ``rows`` and ``cols`` are the layout's
    size; odd sizes use every border cell. The goal defaults to the free cell nearest the centre.
    """
    if rows < 3 or cols < 3:
        raise ValueError(f"a generated maze needs at least 3 x 3 cells, got {rows} x {cols}.")
    if not 0.0 <= loops <= 1.0:
        raise ValueError(f"loops must be a fraction in [0, 1], got {loops}.")
    rng = np.random.default_rng(seed)
    grid = np.full((rows, cols), "#")
    nodes = [(r, c) for r in range(0, rows, 2) for c in range(0, cols, 2)]
    start = nodes[rng.integers(len(nodes))]
    grid[start] = "."
    stack, seen = [start], {start}
    while stack:  # randomised DFS over the nodes, knocking out the wall between a node and its new neighbour
        r, c = stack[-1]
        nxt = [(r + dr, c + dc) for dr, dc in ((-2, 0), (0, 2), (2, 0), (0, -2))
               if 0 <= r + dr < rows and 0 <= c + dc < cols and (r + dr, c + dc) not in seen]
        if not nxt:
            stack.pop()
            continue
        nr, nc = nxt[rng.integers(len(nxt))]
        grid[(r + nr) // 2, (c + nc) // 2] = "."
        grid[nr, nc] = "."
        seen.add((nr, nc))
        stack.append((nr, nc))
    # Inner walls between two free cells (in a row or a column): open a fraction of them.
    walls = [(r, c) for r in range(rows) for c in range(cols) if grid[r, c] == "#"
             and ((0 < c < cols - 1 and grid[r, c - 1] == "." and grid[r, c + 1] == ".")
                  or (0 < r < rows - 1 and grid[r - 1, c] == "." and grid[r + 1, c] == "."))]
    for i in rng.permutation(len(walls))[: int(round(loops * len(walls)))]:
        grid[walls[i]] = "."
    free = np.argwhere(grid == ".")
    if goal is None:
        centre = np.array([(rows - 1) / 2, (cols - 1) / 2])
        goal = tuple(free[np.argmin(np.abs(free - centre).sum(axis=1))])
    if grid[goal] != ".":
        raise ValueError(f"goal {goal} is not a free cell of the generated maze.")
    grid[goal] = "G"
    return tuple("".join(row) for row in grid)


def policy_evaluation(mdp: TabularMDP, policy: np.ndarray) -> np.ndarray:
    """Exact ``V^pi`` ``(S,)`` of a deterministic policy ``(S,)`` (action per state), by one linear solve.

    ``V(s) = sum_s2 P(s2 | s, pi(s)) [r + gamma * mask * V(s2)]`` for every state but the goal (``V = 0`` there).
    """
    policy = np.asarray(policy, dtype=int)
    if policy.shape != (mdp.num_states,):
        raise ValueError(f"policy must have shape (S,) = ({mdp.num_states},), got {policy.shape}.")
    idx = np.arange(mdp.num_states)
    p = mdp.transitions[idx, policy]  # (S, S2)
    r = np.sum(p * mdp.rewards[idx, policy], axis=1)  # (S,)
    a = np.eye(mdp.num_states) - mdp.discount * p * mdp.masks[idx, policy]
    a[mdp.goal] = 0.0
    a[mdp.goal, mdp.goal] = 1.0
    r[mdp.goal] = 0.0
    return np.linalg.solve(a, r)


def greedy_policy_gap(mdp: TabularMDP, q: np.ndarray, q_star: np.ndarray) -> float:
    """``mean_{s != goal} V*(s) - V^pi(s)`` for the greedy policy of ``q``: what acting on ``q`` costs (>= 0)."""
    v_pi = policy_evaluation(mdp, greedy_actions(q))
    return float(np.mean((q_star.max(axis=1) - v_pi)[mdp.nonterminal]))


def greedy_agreement(mdp: TabularMDP, q: np.ndarray, q_star: np.ndarray, tol: float = 1e-6) -> float:
    """Fraction of non-goal states whose greedy action under ``q`` is optimal under ``Q*`` (ties count as agreement)."""
    best = q_star.max(axis=1)
    chosen = q_star[np.arange(mdp.num_states), greedy_actions(q)]
    return float(np.mean((chosen >= best - tol)[mdp.nonterminal]))


def all_pairs(mdp: TabularMDP) -> tuple[np.ndarray, np.ndarray]:
    """Every ``(s, a)`` in row-major order: ``states (S*A,)``, ``actions (S*A,)``; reshape results to ``(S, A)``."""
    s, a = np.meshgrid(np.arange(mdp.num_states), np.arange(mdp.num_actions), indexing="ij")
    return s.reshape(-1), a.reshape(-1)


def greedy_actions(q: np.ndarray) -> np.ndarray:
    """``argmax_a q(s, a)`` for every state, ``(S,)``."""
    return np.argmax(q, axis=1)


def one_step_target_std(mdp: TabularMDP, q: np.ndarray) -> np.ndarray:
    """``(S, A)`` standard deviation over ``s2 ~ P(.|s, a)`` of the one-step target ``r + gamma * mask * max q(s2)``.

    A flow critic trained toward sampled TD targets learns this spread (around the mean ``Q``); a monolithic critic
    only learns the mean.
    """
    y = mdp.rewards + mdp.discount * mdp.masks * q.max(axis=1)[None, None, :]  # (S, A, S)
    mean = np.sum(mdp.transitions * y, axis=-1, keepdims=True)
    return np.sqrt(np.sum(mdp.transitions * (y - mean) ** 2, axis=-1))


def one_step_target_quantiles(mdp: TabularMDP, q: np.ndarray, state: int, action: int) -> tuple[np.ndarray, np.ndarray]:
    """The distribution of the one-step target ``r + gamma * mask * max q(s2)``, ``s2 ~ P(.|state, action)``.

    Returns ``(cum_prob (M,), value (M,))``: the sorted distinct target values and the cumulative probability up to
    and including each, i.e. the steps of its quantile function (what a flow from ``Unif[0, 1]`` would learn).
    """
    probs = mdp.transitions[state, action]  # (S,)
    y = mdp.rewards[state, action] + mdp.discount * mdp.masks[state, action] * q.max(axis=1)  # (S,)
    support = probs > 0
    values, inverse = np.unique(np.round(y[support], 12), return_inverse=True)
    mass = np.bincount(inverse, weights=probs[support])
    return np.cumsum(mass), values
