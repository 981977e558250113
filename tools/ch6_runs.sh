#!/usr/bin/env bash
# Chapter 6's committed runs: floq and FQL on antmaze-large task 1 at equal sizes, seeds and steps (2-core CPU).
# Each command is resumable: run it again (same arguments) after a stop and it continues with --resume.
#   [MAZE=large|medium|giant] tools/ch6_runs.sh DATA_DIR RUNS_DIR [data|floq|fql|all|save]
# MAZE (default large, the chapter's maze) picks antmaze-MAZE-navigate task 1 with the same sizes: use a separate
# RUNS_DIR per maze. Its runs in progress are carried in tools/ch6_inflight (large) or tools/ch6_inflight_MAZE.
# A run longer than one working session on a machine that is reset between sessions travels through git:
# `save` copies each run's checkpoint and logs into tools/ch6_inflight/ (commit it), and `floq`/`fql` on a machine
# without the run start from that copy (the dataset is regenerated identically: same seed, same files).
#   then: python tools/ch6_artifacts.py --floq RUNS_DIR/floq --fql RUNS_DIR/fql --k-eval --dataset-dir DATA_DIR
# On a 2-core CPU (300,000 steps): data 4-8 min, floq 4-6 h (47 ms per step on an AMD EPYC, 67 on an Intel Xeon,
# plus evaluations), FQL about 1 h. The earlier 100,000-step runs took 93 and 15 minutes.
set -euo pipefail
DATA=${1:?dataset directory}; RUNS=${2:?runs directory}; WHICH=${3:-all}
MAZE=${MAZE:-large}
case "$MAZE" in medium|large|giant) ;; *) echo "unknown MAZE '$MAZE': medium, large or giant" >&2; exit 2 ;; esac
DATASET=antmaze-$MAZE-navigate-v0; ENV=antmaze-$MAZE-navigate-singletask-v0
STEPS=${STEPS:-300000}  # the committed chapter 6 artifacts come from these 300,000-step runs
# Sizes shared by both agents (the paper: 4x512 networks, batch 256, K 8, R 8, 1M-2M steps, 50 episodes per eval).
COMMON=(--tier teach --steps $STEPS --seeds 3 --dataset-dir "$DATA" --no-progress
        --set 'actor_hidden_dims=(128,128)' --set 'value_hidden_dims=(128,128)' --set batch_size=128
        --set eval_interval=5000 --set eval_episodes=10 --set log_interval=500)
INFLIGHT=${CH6_INFLIGHT:-$(dirname "$0")/ch6_inflight$([[ $MAZE == large ]] || echo "_$MAZE")}  # runs in progress
FILES=(config.json checkpoint.msgpack eval.csv eval.jsonl metrics.csv metrics.jsonl)
resume() { [[ -f "$1/config.json" ]] && echo --resume || true; }
restore() {  # the committed copy of a run in progress, where this machine has none
  [[ -f "$RUNS/$1/config.json" || ! -f "$INFLIGHT/$1/checkpoint.msgpack" ]] && return 0
  if ! grep -q "\"$ENV\"" "$INFLIGHT/$1/config.json"; then  # a copy of another maze's run must not be continued here
    echo "$INFLIGHT/$1 holds a run of another environment, not $ENV: set MAZE or CH6_INFLIGHT" >&2; exit 2
  fi
  mkdir -p "$RUNS/$1" && cp "${FILES[@]/#/$INFLIGHT/$1/}" "$RUNS/$1/" && echo "continuing $INFLIGHT/$1 in $RUNS/$1"
}
run() {
  local out="$RUNS/$1"; restore "$1"; shift
  floq-lite train "$ENV" --out "$out" $(resume "$out") "${COMMON[@]}" "$@"
}
save() {  # safe while the run trains: the logs are copied after the checkpoint, and --resume drops rows past it
  [[ -f "$RUNS/$1/checkpoint.msgpack" ]] || return 0
  mkdir -p "$INFLIGHT/$1" && cp "${FILES[@]/#/$RUNS/$1/}" "$INFLIGHT/$1/" && echo "saved $RUNS/$1 to $INFLIGHT/$1"
}
case "$WHICH" in data|floq|fql|all|save) ;; *) echo "unknown action '$WHICH': data, floq, fql, all or save" >&2; exit 2 ;; esac
case "$WHICH" in
  data|all) [[ -f "$DATA/$DATASET.npz" ]] ||
              floq-lite data generate "$DATASET" --workers 2 --dataset-dir "$DATA" --no-progress ;;&
  floq|all) run floq --agent floq --set block_width=128 --set noise_samples=4 ;;&
  fql|all) run fql --agent fql ;;
  save) save floq; save fql ;;
esac
