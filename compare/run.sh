#!/usr/bin/env bash
# Frame time of bevy_radiance's `bench` against bevy_gaussian_splatting 8.0.2
# (`peer_bench`) on the same training PLY, camera, resolution and loop.
#
#   compare/run.sh
#
# Environment: OUT (default compare/out), ROUNDS (default 3), FRAMES (default 20),
# CARGO_TARGET_DIR (main crate, default ~/.cache/bevy_radiance-target),
# PEER_TARGET_DIR (this crate, default ~/.cache/bevy_radiance-compare-target),
# NICE (prefix of the cargo builds, default `nice -n 19`),
# OURS_BIN (a prebuilt `bench` to time instead of building the working tree's).
# See README.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
OUT="${OUT:-$here/out}"
ROUNDS="${ROUNDS:-3}"
FRAMES="${FRAMES:-20}"
target="${CARGO_TARGET_DIR:-$HOME/.cache/bevy_radiance-target}"
peer_target="${PEER_TARGET_DIR:-$HOME/.cache/bevy_radiance-compare-target}"
read -r -a nice_cmd <<< "${NICE:-nice -n 19}"
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR=/tmp/xdg
    mkdir -p -m700 "$XDG_RUNTIME_DIR"
fi
mkdir -p "$OUT"
ply="$OUT/biker.ply"

# (a) The shipped capture as a 3DGS training PLY (the peer reads no compressed PLY).
if [ ! -f "$ply" ]; then
    (cd "$root" && CARGO_TARGET_DIR="$target" "${nice_cmd[@]}" cargo run --release --example convert -- \
        assets/biker.compressed.ply "$ply")
fi

# (b) Builds.
if [ -z "${OURS_BIN:-}" ]; then
    (cd "$root" && CARGO_TARGET_DIR="$target" "${nice_cmd[@]}" cargo build --release --example bench)
fi
(cd "$here" && CARGO_TARGET_DIR="$peer_target" "${nice_cmd[@]}" cargo build --release --bins)
ours="${OURS_BIN:-$target/release/examples/bench}"
peer="$peer_target/release/peer_bench"
coverage="$peer_target/release/coverage"

# (c) One frame of each (orbit index 0); the peer orbits the centre `bench` uses.
# `coverage` fails when a frame is blank (a renderer that draws nothing is not timed).
ours_out="$("$ours" "$ply" --frames 1 --save "$OUT/ours.png")"
echo "$ours_out" | grep -E '^(saved|center)'
center="$(echo "$ours_out" | awk '/^center:/ { print $2 "," $3 "," $4 }')"
[ -n "$center" ] || { echo "bench printed no center" >&2; exit 1; }
"$peer" "$ply" --frames 1 --center "$center" --save "$OUT/peer.png" | grep -E '^(saved|center)'
"$coverage" "$OUT/ours.png" "$OUT/peer.png"

# (d) Alternate runs; each run's median frame time.
median_of() { grep -oE 'median [0-9.]+ ms' | awk '{ print $2 }'; }
ours_medians=()
peer_medians=()
adapter=""
for round in $(seq 1 "$ROUNDS"); do
    run_out="$("$ours" "$ply" --frames "$FRAMES")"
    adapter="$(echo "$run_out" | grep '^adapter:' || true)"
    m="$(echo "$run_out" | grep '^frame' | median_of)"
    [ -n "$m" ] || { echo "bench printed no median" >&2; echo "$run_out" >&2; exit 1; }
    ours_medians+=("$m")
    run_out="$("$peer" "$ply" --frames "$FRAMES" --center "$center")"
    p="$(echo "$run_out" | grep '^frame' | median_of)"
    [ -n "$p" ] || { echo "peer_bench printed no median" >&2; echo "$run_out" >&2; exit 1; }
    peer_medians+=("$p")
    echo "round $round/$ROUNDS: ours $m ms, peer $p ms"
done

med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ours_med="$(med "${ours_medians[@]}")"
peer_med="$(med "${peer_medians[@]}")"
echo "$adapter"
echo "scene: $ply, 1280x720, $FRAMES frames a run, $ROUNDS runs each"
echo "bevy_radiance bench:           median of run medians $ours_med ms (${ours_medians[*]})"
echo "bevy_gaussian_splatting 8.0.2: median of run medians $peer_med ms (${peer_medians[*]})"
awk -v a="$ours_med" -v b="$peer_med" 'BEGIN { printf "ratio ours/peer: %.2f\n", a / b }'
