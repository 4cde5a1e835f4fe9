#!/bin/bash
# Issue 20's many-core measurements, prepared for a machine with 16 or more cores (the GPU
# machine's CPU). Run from the repository root after `pip install -e '.[fast,test]' torch`
# (torch: the CPU contender; a CUDA build is fine, it runs on the CPU here). About 6 minutes,
# of which numba compiles mlplab's kernels for ~1 minute the first time.
#
#   bash bench/many_cores.sh 2>&1 | tee bench/results-16core.txt
set -u
export PYTHONPATH="$PWD"
lscpu | grep -E "^(Model name|CPU\(s\)|Thread|Core|Socket)"
python -c "import numba, numpy, sklearn, torch; print('numba', numba.__version__, 'numpy', \
numpy.__version__, 'sklearn', sklearn.__version__, 'torch', torch.__version__)"
echo "== numba: compile once, then load from the cache (wall / CPU s)"
python bench/numba_cache.py
echo "== the minibatch gather: NumPy's take against the compiled gather on every thread"
python bench/gather.py
echo "== the 16-core targets: relu-1024 and relu-128 against PyTorch and the GEMM-only bound"
python bench/run.py --cases relu-1024,relu-128,estimator --rounds 3
echo "== the compiled passes on every thread (MLPLAB_PARALLEL=on; default: one thread)"
MLPLAB_PARALLEL=on python bench/run.py --cases relu-1024,relu-128 --rounds 2 \
    --contenders mlplab,gemm,torch
echo "== the same with numba's workqueue threading layer (its threads sleep between regions)"
MLPLAB_PARALLEL=on NUMBA_THREADING_LAYER=workqueue python bench/run.py --cases relu-1024 \
    --rounds 2 --contenders mlplab,gemm,torch
