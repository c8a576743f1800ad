#!/usr/bin/env bash
# Builds llama-cpp-python once per CPU and keeps the wheel, so that neither a second
# `make` nor a CI run on the same machine pays the 5-10 minute compile again.
# pip's own wheel cache cannot be used: it ignores CMAKE_ARGS, and the wheel is built with
# -march=native, so it is keyed here by the CPU's model and flags.
# Prints the path of the wheel.
set -euo pipefail
version="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
python="${1:-python3}"
# No AMX: on VMs whose CPU flags list AMX without the kernel granting the tile state, llama.cpp's
# AMX matmul segfaults on the first prompt of more than one token (gdb: ggml_backend_amx_mul_mat),
# and -march=native (GGML_NATIVE) turns AMX on whatever GGML_AMX_* say. So the instruction sets
# are named instead: the AVX-512 family where the CPU has it, else AVX2.
if [ -z "${CMAKE_ARGS:-}" ]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
  has() { case " $flags " in *" $1 "*) echo ON ;; *) echo OFF ;; esac; }
  export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=$(has avx) -DGGML_AVX2=$(has avx2) -DGGML_FMA=$(has fma) \
-DGGML_F16C=$(has f16c) -DGGML_BMI2=$(has bmi2) -DGGML_AVX_VNNI=$(has avx_vnni) -DGGML_AVX512=$(has avx512f) \
-DGGML_AVX512_VBMI=$(has avx512vbmi) -DGGML_AVX512_VNNI=$(has avx512_vnni) -DGGML_AVX512_BF16=$(has avx512_bf16)"
fi
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
