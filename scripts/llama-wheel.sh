#!/usr/bin/env bash
# Builds llama-cpp-python once per CPU and keeps the wheel, so that neither a second
# `make` nor a CI run on the same machine pays the 5-10 minute compile again.
# pip's own wheel cache cannot be used: it ignores CMAKE_ARGS, and the wheel is built with
# -march=native, so it is keyed here by the CPU's model and flags.
# Prints the path of the wheel.
set -euo pipefail
version="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
python="${1:-python3}"
# AMX off: on VMs whose CPU flags list AMX without the kernel granting the tile state, llama.cpp's
# AMX matmul segfaults on the first prompt of more than one token (gdb: ggml_backend_amx_mul_mat).
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF}"
home="${SEGLAM_HOME:-$HOME/.cache/seglam}"
cpu_key=$( (grep -m1 'model name' /proc/cpuinfo; grep -m1 '^flags' /proc/cpuinfo; echo "${CMAKE_ARGS:-}") 2>/dev/null | sha256sum | cut -c1-12)
wheelhouse="$home/wheels/llama-$version-$cpu_key"
wheel=$(ls "$wheelhouse"/llama_cpp_python-"$version"-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$wheel" ]; then
  echo "building llama-cpp-python $version for this CPU (once; 5-10 minutes)..." >&2
  mkdir -p "$wheelhouse"
  tmp=$(mktemp -d "$wheelhouse/.build.XXXXXX")
  "$python" -m pip wheel --no-deps --no-cache-dir -w "$tmp" "llama-cpp-python==$version" >&2
  mv "$tmp"/llama_cpp_python-*.whl "$wheelhouse"/
  rm -rf "$tmp"
  wheel=$(ls "$wheelhouse"/llama_cpp_python-"$version"-*.whl | head -n1)
fi
echo "$wheel"
