#!/bin/sh
# check_plans.sh SETTLE DIR - every reference plan in DIR (contracts/plans)
# compiles: `settle check-contract` exits 0 and prints one "ok" per plan.
# There are at least three plans (a PPO, an HDHP, a plan with visit limits).
settle=$1
dir=$2
count=0
for plan in "$dir"/*.yaml; do
    [ -f "$plan" ] || continue
    count=$((count + 1))
    if ! out=$("$settle" check-contract "$plan" 2>&1); then
        echo "plans: FAIL $plan"
        echo "$out"
        exit 1
    fi
    case $out in
    *": ok ("*) echo "$out" ;;
    *) echo "plans: no ok line for $plan: $out"; exit 1 ;;
    esac
done
echo "plans: $count compiled"
[ "$count" -ge 3 ]
