"""Precision and recall of the guidance engine on a labelled set of intake notes.

    python bench/guidance_eval.py [cases.jsonl] [--show-errors]

Each line of the set: {"id", "notes", "expected": [profession slugs], "emergency": bool}, and
optionally "acceptable": [slugs] the case's author would not count as wrong (a midwife beside the
obstetrician for a pregnancy). Prints precision and recall per profession and overall
(micro-averaged; an acceptable suggestion is neither a hit nor a false one), whether every
emergency was found, and how many cases pass — every expected profession, nothing outside the
expected and the acceptable, and an emergency exactly when one is expected — overall and per tag
(kind of note). Exits non-zero
when a target is missed (recall 0.90, precision 0.85, every emergency).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from referwell.guidance.engine import Intake, suggest  # noqa: E402

TARGET_RECALL, TARGET_PRECISION = 0.90, 0.85


def evaluate(cases: list[dict], show_errors: bool = False) -> dict[str, float]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    emergencies = missed_emergencies = false_emergencies = 0
    passed: Counter[str] = Counter()
    tagged: Counter[str] = Counter()
    for case in cases:
        result = suggest(Intake(notes=case["notes"], visit_number=case.get("visit_number", 2)))
        got = {s.profession for s in result.suggestions}
        want = set(case["expected"])
        allowed = want | set(case.get("acceptable", []))
        for slug in got & want:
            tp[slug] += 1
        for slug in got - allowed:
            fp[slug] += 1
        for slug in want - got:
            fn[slug] += 1
        if case.get("emergency"):
            emergencies += 1
            if not result.emergency:
                missed_emergencies += 1
        elif result.emergency:
            false_emergencies += 1
        ok = want <= got <= allowed and bool(case.get("emergency")) == result.emergency
        for tag in ["all", *case.get("tags", [])]:
            tagged[tag] += 1
            passed[tag] += ok
        if show_errors and not want <= got <= allowed:
            print(f"{case['id']}: {case['notes']}")
            if want - got:
                print(f"   missed: {sorted(want - got)}")
            if got - allowed:
                extra = [
                    r
                    for s in result.suggestions
                    if s.profession in got - allowed
                    for r in s.reasons
                ]
                print(f"   extra:  {sorted(got - allowed)} {extra}")
    slugs = sorted(set(tp) | set(fp) | set(fn))
    print(f"{'profession':28} {'precision':>9} {'recall':>7} {'tp':>4} {'fp':>4} {'fn':>4}")
    for slug in slugs:
        p = tp[slug] / (tp[slug] + fp[slug]) if tp[slug] + fp[slug] else 1.0
        r = tp[slug] / (tp[slug] + fn[slug]) if tp[slug] + fn[slug] else 1.0
        print(f"{slug:28} {p:9.2f} {r:7.2f} {tp[slug]:4} {fp[slug]:4} {fn[slug]:4}")
    TP, FP, FN = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision = TP / (TP + FP) if TP + FP else 1.0
    recall = TP / (TP + FN) if TP + FN else 1.0
    print(
        f"\n{len(cases)} cases: precision {precision:.3f}, recall {recall:.3f} "
        f"(targets {TARGET_PRECISION}, {TARGET_RECALL})"
    )
    print(
        f"emergencies found: {emergencies - missed_emergencies}/{emergencies}; "
        f"false emergencies: {false_emergencies}"
    )
    print(f"cases passed: {passed['all']}/{tagged['all']} ({passed['all'] / tagged['all']:.0%})")
    for tag in sorted(t for t in tagged if t != "all"):
        print(f"  {tag:28} {passed[tag]:3}/{tagged[tag]:<3}")
    return {
        "precision": precision,
        "recall": recall,
        "missed_emergencies": missed_emergencies,
        "passed": passed["all"] / tagged["all"] if tagged["all"] else 1.0,
    }


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = Path(args[0]) if args else ROOT / "bench" / "guidance" / "cases.jsonl"
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    scores = evaluate(cases, show_errors="--show-errors" in sys.argv)
    ok = (
        scores["recall"] >= TARGET_RECALL
        and scores["precision"] >= TARGET_PRECISION
        and scores["missed_emergencies"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
