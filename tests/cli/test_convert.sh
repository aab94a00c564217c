#!/bin/sh
# `settle convert` as a user runs it: usage errors, exit codes, error lines,
# the X12 round trip (837 -> JSON, 837 -> 837 -> JSON, JSON -> 837 -> JSON,
# 837 -> JSON -> 837 -> JSON with other payers' adjudication and BHT04),
# FHIR in and out (FHIR -> JSON/837/FHIR, 837 -> FHIR -> 837, bad FHIR),
# control numbers and stamps, and the acknowledgments written by --ack.
#   test_convert.sh SETTLE_BINARY
set -u
settle=$1
. "$(dirname "$0")/lib.sh"
# same A B WHAT: the two files are byte for byte the same.
same() {
    if ! cmp -s "$1" "$2"; then
        echo "FAIL: $3: $1 and $2 differ"
        diff "$1" "$2" | head -20
        failures=$((failures + 1))
    fi
}

x12=fixtures/x12
three=$x12/settle_837p_three_claims.txt
inst=$x12/settle_837i_full.txt
cob=$x12/settle_837p_cob.txt
stamp="--date 20260301 --time 0930"

# usage
expect 0 "help" -- "$settle" convert --help
contains "$tmp/out" "  --to x12              one X12 837 interchange per input file (837P or 837I"
expect 2 "no target" -- "$settle" convert "$three"
contains "$tmp/err" "settle convert: --to json, --to x12, --to fhir or --ack DIR is required"
expect 2 "unknown target" -- "$settle" convert --to xml "$three"
contains "$tmp/err" 'settle convert: --to takes json, x12 or fhir, not "xml"'
expect 2 "bad date" -- "$settle" convert --to x12 --date 20260231 "$three"
contains "$tmp/err" 'settle convert: --date takes a day CCYYMMDD, not "20260231"'
expect 2 "bad time" -- "$settle" convert --to x12 --time 2460 "$three"
expect 2 "bad control number" -- "$settle" convert --to x12 --control-number 0 "$three"
contains "$tmp/err" 'settle convert: --control-number takes 1 to 999999999, not "0"'
expect 2 "option without its value" -- "$settle" convert --to
expect 2 "no files" -- "$settle" convert --to x12
expect 1 "a missing file" -- "$settle" convert --to x12 fixtures/no-such-file.837
contains "$tmp/err" "settle: fixtures/no-such-file.837: cannot open: No such file or directory"

# --to x12: the good claims written, the bad one reported, exit 1
expect 1 "three claims to x12" -- "$settle" convert --to x12 $stamp --control-number 42 "$three"
contains "$tmp/err" "settle: $three: segment 32 (CLM), element CLM02: bad amount \"12.345\"; expected an amount like 125.50 (at most two decimals)"
contains "$tmp/err" "settle convert: 2 claims written, 1 problem"
contains "$tmp/out" "ISA*00*          *00*          *ZZ*SETTLE         *ZZ*SETTLE         *260301*0930*^*00501*000000042*0*P*:~"
contains "$tmp/out" "GS*HC*SETTLE*SETTLE*20260301*0930*42*X*005010X222A1~"
contains "$tmp/out" "CLM*PCN001*150.75***11:B:1*Y*A*Y*Y~"
contains "$tmp/out" "IEA*1*000000042~"

# one interchange per file, control numbers counting on
expect 0 "two files to x12" -- "$settle" convert --to x12 $stamp --control-number 7 --sender ME --receiver YOU "$inst" "$inst"
contains "$tmp/out" "ISA*00*          *00*          *ZZ*ME             *ZZ*YOU            *260301*0930*^*00501*000000007*0*P*:~"
contains "$tmp/out" "ISA*00*          *00*          *ZZ*ME             *ZZ*YOU            *260301*0930*^*00501*000000008*0*P*:~"
contains "$tmp/out" "GS*HC*ME*YOU*20260301*0930*8*X*005010X223A2~"
[ "$(grep -c '^ISA' "$tmp/out")" -eq 2 ] || fail "two files, two interchanges"

# round trips: 837 -> JSON equals 837 -> 837 -> JSON, for both kinds
for file in "$three" "$inst" $x12/settle_837p_pipes_crlf.txt "$cob"; do
    "$settle" convert --to json "$file" >"$tmp/direct.json" 2>/dev/null
    "$settle" convert --to x12 $stamp "$file" >"$tmp/again.x12" 2>/dev/null
    expect 0 "re-read of $file" -- "$settle" convert --to json "$tmp/again.x12"
    same "$tmp/direct.json" "$tmp/out" "837 -> 837 -> JSON of $file"
    # and the 837 we write is a fixed point
    "$settle" convert --to x12 $stamp "$tmp/again.x12" >"$tmp/third.x12" 2>/dev/null
    same "$tmp/again.x12" "$tmp/third.x12" "837 written twice from $file"
done
# JSON -> 837 -> JSON.  The claim has no creation date; BHT04 is required,
# so the 837 carries the --date given and the claim read back has it.
expect 0 "JSON to x12" -- "$settle" convert --to x12 $stamp fixtures/claims/office-visit.json
cp "$tmp/out" "$tmp/office.x12"
contains "$tmp/office.x12" "BHT*0019*00*1*20260301*0930*CH~"
"$settle" convert --to json fixtures/claims/office-visit.json 2>/dev/null |
    sed 's/"frequency":1,/&"created":"2026-03-01",/' >"$tmp/office.json"
expect 0 "x12 back to JSON" -- "$settle" convert --to json "$tmp/office.x12"
same "$tmp/office.json" "$tmp/out" "JSON -> 837 -> JSON"
# 837 -> JSON -> 837 -> JSON: other payers' adjudication (loops 2320 and
# 2430) and the creation date (BHT04) come back whole
expect 0 "837 with COB to JSON" -- "$settle" convert --to json "$cob"
contains "$tmp/out" '{"format":"settle.claim/1","claim_id":"COB001","kind":"professional","frequency":1,"created":"2026-03-14","payer_id":"PAYER02","billing_npi":"1234567893","member_id":"SEC200","patient":{"birth_date":"1975-03-10","sex":"F","last_name":"DOE","first_name":"JANE"},"place_of_service":"11","total_charge_cents":30000,"diagnoses":["E119","I10"],"other_payers":[{"payer_id":"PRIMARY01","responsibility":"P","paid_cents":16050},{"payer_id":"TERTIARY9","responsibility":"T","paid_cents":0}],"lines":[{"line":1,"procedure_code":"99214","units_milli":1000,"charge_cents":20000,"service_from":"2026-03-02","service_to":"2026-03-02","diagnosis_pointers":[1,2]},{"line":2,"procedure_code":"85025","units_milli":1000,"charge_cents":10000,"service_from":"2026-03-02","service_to":"2026-03-02","diagnosis_pointers":[1]}],"cob":[{"kind":"adjustment","payer":1,"group":"CO","reason":"45","amount_cents":1200},{"kind":"adjustment","payer":1,"group":"PR","reason":"1","amount_cents":2500},{"kind":"adjustment","payer":1,"group":"PR","reason":"2","amount_cents":850},{"kind":"line_paid","payer":1,"line":1,"amount_cents":12000},{"kind":"adjustment","payer":1,"line":1,"group":"CO","reason":"45","amount_cents":5000},{"kind":"adjustment","payer":1,"line":1,"group":"PR","reason":"1","amount_cents":3000},{"kind":"line_paid","payer":1,"line":2,"amount_cents":6400},{"kind":"adjustment","payer":1,"line":2,"group":"CO","reason":"45","amount_cents":2000},{"kind":"adjustment","payer":1,"line":2,"group":"PR","reason":"2","amount_cents":1600}]}'
cp "$tmp/out" "$tmp/cob.json"
expect 0 "COB JSON to x12" -- "$settle" convert --to x12 $stamp "$tmp/cob.json"
cp "$tmp/out" "$tmp/cob.x12"
contains "$tmp/cob.x12" "BHT*0019*00*1*20260314*0930*CH~"
contains "$tmp/cob.x12" "CAS*PR*1*25.00**2*8.50~"
contains "$tmp/cob.x12" "SVD*PRIMARY01*120.00*HC:99214**1~"
expect 0 "COB x12 back to JSON" -- "$settle" convert --to json "$tmp/cob.x12"
same "$tmp/cob.json" "$tmp/out" "837 -> JSON -> 837 -> JSON of $cob"

# FHIR in: detected from the content, to each target
fhir=fixtures/fhir
expect 0 "FHIR Bundle to JSON" -- "$settle" convert --to json $fhir/bundle-two-claims.json
contains "$tmp/out" '{"format":"settle.claim/1","claim_id":"RB-7002","kind":"professional","frequency":1,"created":"2026-01-09","payer_id":"ACMEHP","billing_npi":"1456789019","member_id":"ACM100555002","patient":{"birth_date":"2019-11-03","sex":"U"},"place_of_service":"02","total_charge_cents":9800,"diagnoses":["J069"],"lines":[{"line":1,"procedure_code":"99213","units_milli":1000,"charge_cents":9800,"service_from":"2026-01-07","service_to":"2026-01-07","diagnosis_pointers":[1]}]}'
contains "$tmp/err" "settle convert: 2 claims written, 0 problems"
expect 0 "FHIR Claim to x12" -- "$settle" convert --to x12 $stamp $fhir/claim-professional.json
contains "$tmp/out" "CLM*LFM-2026-1001*210.25***11:B:1*Y*A*Y*Y~"
contains "$tmp/out" "SV1*HC:J1100:JZ:59*25.25*UN*2.5***1~"
expect 0 "FHIR from standard input" -- sh -c "\"$settle\" convert --to json - < $fhir/claim-void.json"
contains "$tmp/err" "settle convert: 1 claim written, 0 problems"
# FHIR -> FHIR -> JSON is FHIR -> JSON, and the FHIR written is a fixed point
for file in $fhir/claim-professional.json $fhir/claim-institutional.json $fhir/claim-replacement.json $fhir/claim-void.json $fhir/bundle-two-claims.json; do
    "$settle" convert --to json "$file" >"$tmp/direct.json" 2>/dev/null
    expect 0 "FHIR to FHIR of $file" -- "$settle" convert --to fhir "$file"
    cp "$tmp/out" "$tmp/again.fhir.json"
    expect 0 "re-read of the FHIR written from $file" -- "$settle" convert --to json "$tmp/again.fhir.json"
    same "$tmp/direct.json" "$tmp/out" "FHIR -> FHIR -> JSON of $file"
    "$settle" convert --to fhir "$tmp/again.fhir.json" >"$tmp/third.fhir.json" 2>/dev/null
    same "$tmp/again.fhir.json" "$tmp/third.fhir.json" "FHIR written twice from $file"
done
contains "$tmp/again.fhir.json" '  "resourceType": "Bundle",'
contains "$tmp/again.fhir.json" '              "value": 126.00,'
# 837 -> FHIR -> 837: the same claims.  A line whose place of service is the
# claim's comes back without one (FHIR has no claim-level place), so the
# direct JSON drops those first.
expect 1 "837 to FHIR" -- "$settle" convert --to fhir "$three"
contains "$tmp/err" "settle: $three: segment 32 (CLM), element CLM02: bad amount \"12.345\"; expected an amount like 125.50 (at most two decimals)"
contains "$tmp/err" "settle convert: 2 claims written, 1 problem"
cp "$tmp/out" "$tmp/three.fhir.json"
expect 0 "FHIR back to 837" -- "$settle" convert --to x12 $stamp "$tmp/three.fhir.json"
cp "$tmp/out" "$tmp/three.again.x12"
expect 0 "837 from FHIR to JSON" -- "$settle" convert --to json "$tmp/three.again.x12"
"$settle" convert --to json "$three" 2>/dev/null |
    sed 's/"place_of_service":"11","units_milli"/"units_milli"/g' >"$tmp/direct.json"
same "$tmp/direct.json" "$tmp/out" "837 -> FHIR -> 837 -> JSON"
# what FHIR cannot carry is refused, naming the field; the Bundle is still written
expect 1 "837I with other payers to FHIR" -- "$settle" convert --to fhir "$inst"
contains "$tmp/err" "settle: $inst: FHIR Claim \"INST001\": other_payers: the FHIR Claim reader reads no coordination of benefits, so other payers cannot be written without a loss"
contains "$tmp/err" "settle convert: 0 claims written, 1 problem"
contains "$tmp/out" '  "type": "collection"'
# bad FHIR: each problem on its own line, the good claims still written
expect 1 "a Bundle with a bad Claim" -- "$settle" convert --to json $fhir/bundle-with-bad-claim.json
contains "$tmp/err" "settle: $fhir/bundle-with-bad-claim.json:128:30: entry[6].resource.item[0].net.value: expected an amount with at most two decimals (found 1.26e2)"
contains "$tmp/err" "settle: $fhir/bundle-with-bad-claim.json:133:5: entry[7].resource: expected a resource with a resourceType"
contains "$tmp/err" "settle convert: 2 claims written, 2 problems"
[ "$(wc -l <"$tmp/out")" -eq 2 ] || fail "two good claims of the bad Bundle"
expect 1 "broken FHIR JSON" -- "$settle" convert --to fhir $fhir/bad-syntax.json
contains "$tmp/err" "settle: $fhir/bad-syntax.json:10:3: invalid JSON: string or '}' expected near end of file"
contains "$tmp/err" "settle convert: 0 claims written, 1 problem"
expect 1 "a FHIR file then a good one" -- "$settle" convert --to json $fhir/bad-status-draft.json $fhir/claim-void.json
contains "$tmp/err" "settle convert: 1 claim written, 1 problem"

# --ack DIR: the three acknowledgments of each input
mkdir "$tmp/acks"
expect 1 "acknowledgments" -- "$settle" convert --ack "$tmp/acks" $stamp --control-number 9 "$three" "$inst"
for suffix in 999 277 ack.json; do
    for name in settle_837p_three_claims.txt settle_837i_full.txt; do
        [ -s "$tmp/acks/$name.$suffix" ] || fail "no $name.$suffix"
    done
done
ack=$tmp/acks/settle_837p_three_claims.txt
contains "$ack.999" "ISA*00*          *00*          *ZZ*RECEIVER       *ZZ*SUBMITTER      *260301*0930*^*00501*000000009*0*T*:~"
contains "$ack.999" "IK3*CLM*32**8~"
contains "$ack.999" "IK4*2**6~"
contains "$ack.999" "IK5*E*5~"
contains "$ack.999" "AK9*E*1*1*1~"
contains "$ack.277" "STC*A7:178*20260301*U*0.00********bad amount \"12.345\"~"
contains "$ack.277" "STC*A2:20*20260301*WQ*150.75~"
contains "$ack.ack.json" '      "claim_id": "PCN002",'
contains "$ack.ack.json" '    "PCN003"'
contains "$tmp/acks/settle_837i_full.txt.999" "AK9*A*1*1*1~"
contains "$tmp/acks/settle_837i_full.txt.999" "ISA*00*          *00*          *ZZ*PAYER          *ZZ*HOSPITAL       *260301*0930*^*00501*000000010*0*P*:~"
# a sample whose SE01 is wrong: the transaction set and its claims are rejected
expect 1 "acknowledgment of a bad trailer" -- "$settle" convert --ack "$tmp/acks" $stamp $x12/x12_valid.txt
contains "$tmp/acks/x12_valid.txt.999" "IK5*R*5*4~"
contains "$tmp/acks/x12_valid.txt.999" "AK9*R*1*1*0~"
# standard input is acknowledged as "stdin"
expect 0 "acknowledgment of standard input" -- sh -c "\"$settle\" convert --ack \"$tmp/acks\" $stamp - < $inst"
[ -s "$tmp/acks/stdin.999" ] || fail "no stdin.999"
# a FHIR input gets the JSON acknowledgment only
expect 1 "acknowledgment of a FHIR Bundle" -- "$settle" convert --ack "$tmp/acks" $stamp $fhir/bundle-with-bad-claim.json
contains "$tmp/acks/bundle-with-bad-claim.json.ack.json" '      "claim_id": "RB-7099",'
contains "$tmp/acks/bundle-with-bad-claim.json.ack.json" '    "RB-7002"'
[ ! -e "$tmp/acks/bundle-with-bad-claim.json.999" ] || fail "a 999 for a FHIR input"
# with --to json as well: claims on standard output, acknowledgments in DIR
expect 0 "convert and acknowledge" -- "$settle" convert --to json --ack "$tmp/acks" $stamp "$inst"
contains "$tmp/err" "settle convert: 1 claim written, 0 problems"
# a directory that cannot be written is a system failure
expect 3 "unwritable acknowledgment directory" -- "$settle" convert --ack "$tmp/no/such/dir" $stamp "$inst"

finish "settle convert"
