#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz/ for SECONDS each (default 60), one at a time,
# niced, and prints per target: executions, exec/s, coverage (cov/ft), corpus size, and
# whether it found a crash. Exits 1 when any target crashed.
#
#   deploy/fuzz.sh [--merge] [SECONDS] [TARGET...]     (default: every target)
#
# Builds with clang into build-fuzz/ (or $FUZZ_BUILD_DIR), only the *_libfuzzer binaries and
# the replay drivers that write the seeds. Each target's working corpus, build-fuzz/corpus/T,
# starts from tests/fuzz/corpus/T and the seeds `T_fuzz --write-corpus` writes, and grows from
# run to run. Crash, leak, timeout and OOM inputs are kept in build-fuzz/crashes/T; replay one
# with build-fuzz/tests/fuzz/T_libfuzzer FILE. The full libFuzzer log is build-fuzz/logs/T.log.
# --merge adds to tests/fuzz/corpus/T the inputs of the working corpus that reach coverage
# edges the checked-in corpus does not (-merge=1 -use_counters=0: one input per new edge, not
# per hit count, so the checked-in corpus stays a few hundred small files), for a commit.
# Environment: FUZZ_JOBS (build parallelism, default 1), FUZZ_BUILD_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

merge=0
if [ "${1:-}" = "--merge" ]; then
  merge=1
  shift
fi
seconds=${1:-60}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: deploy/fuzz.sh [--merge] [SECONDS] [TARGET...]" >&2
  exit 2
fi
[ $# -gt 0 ] && shift
build=${FUZZ_BUILD_DIR:-build-fuzz}

# The target list has one home: tests/fuzz/CMakeLists.txt.
read -r -a all_targets < <(sed -n 's/^set(lienthong_fuzz_targets \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  if ! printf '%s\n' "${all_targets[@]}" | grep -qx "$t"; then
    echo "fuzz: unknown target '$t'; the targets are: ${all_targets[*]}" >&2
    exit 2
  fi
done

# --- clang with libFuzzer ------------------------------------------------------------------
./deploy/install-deps.sh
have_libfuzzer() {
  command -v clang++ >/dev/null 2>&1 || return 1
  local probe
  probe=$(mktemp -d)
  printf '#include <cstddef>\n#include <cstdint>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' \
    >"$probe/p.cpp"
  clang++ -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" >/dev/null 2>&1
  local rc=$?
  rm -rf "$probe"
  return $rc
}
if ! have_libfuzzer; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "fuzz: clang with libFuzzer is missing; as root run: apt-get install clang libclang-rt-14-dev" \
         "(or run this script as root, which installs them)" >&2
    exit 1
  fi
  echo "fuzz: installing clang libclang-rt-14-dev"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
  have_libfuzzer || { echo "fuzz: clang still cannot link -fsanitize=fuzzer" >&2; exit 1; }
fi

# --- build ---------------------------------------------------------------------------------
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLIENTHONG_FUZZ=ON -DLIENTHONG_TESTS=ON >/dev/null
build_args=()
for t in "${targets[@]}"; do build_args+=(--target "${t}_libfuzzer" --target "${t}_fuzz"); done
echo "fuzz: building ${targets[*]} in $build (clang, -j${FUZZ_JOBS:-1})"
cmake --build "$build" -j"${FUZZ_JOBS:-1}" "${build_args[@]}" -- --no-print-directory -s

# --- run -----------------------------------------------------------------------------------
# Options for one target beyond the common ones: edXML inputs are large XML (the samples
# carry attachments of hundreds of KiB); mutating whole ones is slow and finds nothing the
# trimmed samples do not, and the dictionary gives libFuzzer the element names.
target_options() {
  case "$1" in
    edxml_parse) echo "-max_len=65536 -dict=tests/fuzz/edxml_parse.dict" ;;
    *) echo "" ;;
  esac
}

mkdir -p "$build/logs"
results=()
crashed=0
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/${t}_libfuzzer"
  work="$build/corpus/$t"
  crashes="$build/crashes/$t"
  log="$build/logs/$t.log"
  mkdir -p "$work" "$crashes"
  if [ -d "tests/fuzz/corpus/$t" ]; then cp -n "tests/fuzz/corpus/$t"/* "$work"/ 2>/dev/null || true; fi
  "$build/tests/fuzz/${t}_fuzz" --write-corpus "$work" >/dev/null
  echo "fuzz: $t for ${seconds}s (log: $log)"
  before=$(find "$crashes" -type f | sort)
  rc=0
  # shellcheck disable=SC2046
  nice -n 19 "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$crashes/" $(target_options "$t") "$work" \
    >"$log" 2>&1 || rc=$?
  new_files=$(comm -13 <(echo "$before") <(find "$crashes" -type f | sort) | tr '\n' ' ')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  status=$(grep -E '^#[0-9]+.* cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
  files=$(find "$work" -type f | wc -l)
  size=$(du -sh --apparent-size "$work" | cut -f1)
  if [ "$rc" -ne 0 ] || [ -n "$new_files" ]; then
    crashed=1
    found="CRASH (exit $rc) ${new_files}"
  else
    found="none"
  fi
  if [ "$merge" = 1 ] && [ "$rc" -eq 0 ]; then
    mkdir -p "tests/fuzz/corpus/$t"
    n0=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
    nice -n 19 "$bin" -merge=1 -use_counters=0 $(target_options "$t") "tests/fuzz/corpus/$t" "$work" \
      >>"$log" 2>&1
    n1=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
    found="$found; merged $((n1 - n0)) input(s) into tests/fuzz/corpus/$t"
  fi
  results+=("$(printf '%-16s %7s %12s %8s %6s %7s %7s %6s  %s' "$t" "$seconds" "${execs:-?}" \
    "${rate:-?}" "${cov:-?}" "${ft:-?}" "$files" "$size" "$found")")
done

echo
printf '%-16s %7s %12s %8s %6s %7s %7s %6s  %s\n' target seconds executions exec/s cov ft corpus size crash
printf '%s\n' "${results[@]}"
if [ "$crashed" -ne 0 ]; then
  echo "fuzz: a target crashed; the inputs are in $build/crashes/<target>/, the reports in $build/logs/" >&2
  exit 1
fi
