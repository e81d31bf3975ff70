#!/usr/bin/env bash
# Anomaly detection benchmark (DESIGN 7 and 14): `dmanalytics anomaly scan`
# with its default setting (one setting for every series, none per series)
# and, side by side, the peer: a rolling z-score detector (288-point window,
# |z| > 4, two hours of silence after an alarm; zscore_baseline.py), over the
# labelled NAB series of ../shared/data/nab (relative to the checkout).
# Both alarm lists are scored by NAB's rules with score.py (standard profile).
# Target: beat the peer's NAB-like score; the published HTM figure is 66.1.
#   SENSITIVITY=S  run the scan with --sensitivity S instead of the default
#   NAB_DIR=DIR    the NAB folder (default ../shared/data/nab)
# Needs no database or daemon.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=$(cd "${DM_BUILD_DIR:-$root/build}" && pwd)
bin=$build_dir/bin
out_dir=$build_dir/bench/anomaly
mkdir -p "$out_dir"
nab=${NAB_DIR:-$root/../shared/data/nab}
if [[ ! -f $nab/score.py || ! -d $nab/data || ! -f $nab/labels/combined_windows.json ]]; then
  echo "bench anomaly: no NAB data at $nab (expected score.py, data/ and labels/ there; set NAB_DIR)" >&2
  exit 1
fi
nab=$(cd "$nab" && pwd)
py=python3
mapfile -t series < <(cd "$nab/data" && ls -1 -- */*.csv)
[[ ${#series[@]} -gt 0 ]] || { echo "bench anomaly: no series in $nab/data" >&2; exit 1; }
args=()
[[ -n ${SENSITIVITY:-} ]] && args=(--sensitivity "$SENSITIVITY")

ours=$out_dir/dmanalytics.csv
echo "series,timestamp" >"$ours"
t0=$(date +%s.%N)
for s in "${series[@]}"; do
  "$bin/dmanalytics" -q anomaly scan "$nab/data/$s" "${args[@]}" | tail -n +2 | cut -d, -f1 | sed "s|^|$s,|" >>"$ours"
done
t1=$(date +%s.%N)
peer=$out_dir/zscore.csv
$py "$root/tests/bench/zscore_baseline.py" --window 288 --threshold 4 --silence 120 "$nab/data" "${series[@]}" >"$peer"
t2=$(date +%s.%N)

$py "$nab/score.py" "$ours" "$nab/labels" --quiet --json "$out_dir/dmanalytics.json" >"$out_dir/dmanalytics.txt"
$py "$nab/score.py" "$peer" "$nab/labels" --quiet --json "$out_dir/zscore.json" >"$out_dir/zscore.txt"

echo "dmanalytics anomaly scan ${args[*]:-(default sensitivity)}:"
cat "$out_dir/dmanalytics.txt"
echo
echo "peer: rolling z-score (288 points, |z| > 4, 2 h silence):"
cat "$out_dir/zscore.txt"
echo
$py - "$out_dir/dmanalytics.json" "$out_dir/zscore.json" "$(echo "$t1 - $t0" | bc -l)" "$(echo "$t2 - $t1" | bc -l)" <<'PY'
import json, sys
ours, peer = (json.load(open(p)) for p in sys.argv[1:3])
t_ours, t_peer = float(sys.argv[3]), float(sys.argv[4])
print("%-54s %18s %18s" % ("series (NAB-like score / F1)", "dmanalytics", "rolling z-score"))
for a, b in zip(ours["series"], peer["series"]):
    print("%-54s %9.1f / %5.3f %9.1f / %5.3f" % (a["series"][:54], a["nab_score"], a["F1"], b["nab_score"], b["F1"]))
o, p = ours["overall"], peer["overall"]
print("%-54s %9.1f / %5.3f %9.1f / %5.3f" % ("OVERALL", o["nab_score"], o["F1"], p["nab_score"], p["F1"]))
print("alarms: %d vs %d; TP/FP/FN %d/%d/%d vs %d/%d/%d; time %.2f s vs %.2f s"
      % (o["alarms"], p["alarms"], o["TP"], o["FP"], o["FN"], p["TP"], p["FP"], p["FN"], t_ours, t_peer))
ratio = o["nab_score"] / p["nab_score"] if p["nab_score"] else float("nan")
print("NAB-like score ratio dmanalytics/z-score: %.2f (target > 1: beat the peer; published HTM: 66.1)" % ratio)
print("F1 ratio: %.2f" % (o["F1"] / p["F1"] if p["F1"] else float("nan")))
PY
