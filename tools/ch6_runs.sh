#!/usr/bin/env bash
# Chapter 6's committed runs: floq and FQL on antmaze-large task 1 at equal sizes, seeds and steps (2-core CPU).
# Each command is resumable: run it again (same arguments) after a stop and it continues with --resume.
#   tools/ch6_runs.sh DATA_DIR RUNS_DIR [data|floq|fql|all]
#   then: python tools/ch6_artifacts.py --floq RUNS_DIR/floq --fql RUNS_DIR/fql --k-eval --dataset-dir DATA_DIR
# On a 2-core CPU: data ~4 min, floq ~1.5 h, FQL ~20 min.
set -euo pipefail
DATA=${1:?dataset directory}; RUNS=${2:?runs directory}; WHICH=${3:-all}
ENV=antmaze-large-navigate-singletask-v0
STEPS=${STEPS:-100000}  # the committed runs; STEPS=300000 extends them (--resume keeps the rest)
# Sizes shared by both agents (the paper: 4x512 networks, batch 256, K 8, R 8, 1M-2M steps, 50 episodes per eval).
COMMON=(--tier teach --steps $STEPS --seeds 3 --dataset-dir "$DATA" --no-progress
        --set 'actor_hidden_dims=(128,128)' --set 'value_hidden_dims=(128,128)' --set batch_size=128
        --set eval_interval=5000 --set eval_episodes=10 --set log_interval=500)
resume() { [[ -f "$1/config.json" ]] && echo --resume || true; }
run() { local out="$RUNS/$1"; shift; floq-lite train "$ENV" --out "$out" $(resume "$out") "${COMMON[@]}" "$@"; }
case "$WHICH" in
  data|all) [[ -f "$DATA/antmaze-large-navigate-v0.npz" ]] ||
              floq-lite data generate antmaze-large-navigate-v0 --workers 2 --dataset-dir "$DATA" --no-progress ;;&
  floq|all) run floq --agent floq --set block_width=128 --set noise_samples=4 ;;&
  fql|all) run fql --agent fql ;;
  *) ;;
esac
