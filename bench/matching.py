"""Cross-source patient matching quality on the sandbox's shared patients (known truth).

    .venv/bin/python bench/matching.py [--patients 500] [--seeds 1 2 3]

For each seed: the demo clinic, its hospital's and immunization registry's copies (typos,
married names, missing phones, moves with or without the former address kept, look-alikes:
sandbox/clinic/shared_patients.py), candidates
gathered by the Patient searches matching asks a source for, then scored. Prints precision and
recall of auto-links, how many patients go to confirmation, false auto-links and the time.
Targets (issue 16): precision >= 99.5 %, recall >= 95 %, no false auto-link.
"""

from __future__ import annotations

import argparse
import time

from healthprep_desktop.sandbox.clinic.clinic import SyntheticClinic
from healthprep_desktop.sandbox.clinic.shared_patients import shared_patients
from healthprep_desktop.sources.quality import Quality, measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    totals: dict[str, Quality] = {}
    for seed in args.seeds:
        clinic = SyntheticClinic(seed=seed, patients=args.patients)
        started = time.perf_counter()
        shared = shared_patients(clinic)
        built = time.perf_counter() - started
        for org in shared.organizations:
            truth = {p.clinic_id: p.remote_id for p in shared.truth if p.source_id == org.source_id}
            started = time.perf_counter()
            q = measure(shared.clinic_patients, org.source_id, org.patients, truth)
            took = time.perf_counter() - started
            print(
                f"seed {seed} {org.name:<28} patients {len(org.patients):>5} true pairs "
                f"{q.truth_pairs:>4}  auto {q.auto_links:>4}  precision {q.precision:7.2%}  "
                f"recall {q.recall:7.2%}  confirm {q.confirmations:>3} "
                f"(true pair in {q.true_pair_in_confirmation})  missed {q.missed:>2}  "
                f"false auto {len(q.false_auto_links)}  "
                f"{took * 1000 / max(1, len(shared.clinic_patients)):.2f} ms/patient"
                f" (generate {built:.2f} s)"
            )
            for clinic_id, remote_id in q.false_auto_links:
                print(f"    FALSE AUTO-LINK {clinic_id} -> {remote_id}")
            total = totals.setdefault(org.name, Quality())
            total.truth_pairs += q.truth_pairs
            total.auto_links += q.auto_links
            total.correct_auto_links += q.correct_auto_links
            total.false_auto_links += q.false_auto_links
            total.confirmations += q.confirmations
            total.true_pair_in_confirmation += q.true_pair_in_confirmation
            total.missed += q.missed
            total.dated_truth_pairs += q.dated_truth_pairs
            total.dated_correct_auto_links += q.dated_correct_auto_links
            total.by_previous_address += q.by_previous_address
    print()
    combined = Quality()
    for q in totals.values():
        combined.truth_pairs += q.truth_pairs
        combined.auto_links += q.auto_links
        combined.correct_auto_links += q.correct_auto_links
        combined.false_auto_links += q.false_auto_links
        combined.confirmations += q.confirmations
        combined.missed += q.missed
        combined.dated_truth_pairs += q.dated_truth_pairs
        combined.dated_correct_auto_links += q.dated_correct_auto_links
        combined.by_previous_address += q.by_previous_address
    totals["both sources"] = combined
    for name, q in totals.items():
        verdict = (
            "OK"
            if q.precision >= 0.995 and q.recall >= 0.95 and not q.false_auto_links
            else "BELOW TARGET"
        )
        print(
            f"all seeds {name:<28} precision {q.precision:7.2%}  recall {q.recall:7.2%} "
            f"(with a clinic birth date {q.dated_recall:7.2%})  "
            f"confirm {q.confirmations}  missed {q.missed}  false auto {len(q.false_auto_links)}"
            f"  {verdict}"
        )
        # How much the former addresses carry (without them these would wait for a person).
        without = (q.correct_auto_links - q.by_previous_address) / max(1, q.truth_pairs)
        print(
            f"    linked only through a former address: {q.by_previous_address}"
            f" (recall without address history {without:7.2%})"
        )


if __name__ == "__main__":
    main()
