"""Calibration data for lookup thresholds: how close MiniLM puts texts that must hit, and texts
that must not.

    python -m bench.cache.calibrate     writes the "calibration" section of bench/results/cache.json
                                        and bench/results/calibration.md

Should hit: a family's paraphrase against its intent, and against its other paraphrases (the
aliases a cache collects). Must not hit: any text of a family against any text of another
family with the same input signature (only those reach similarity: the signature filter
removes the rest); near-miss siblings are reported apart. The threshold that gives zero false
hits is the one just above the closest must-not-hit pair; its recall says what a single
threshold costs, and the bands between say where a gray zone (confirm by the model) pays.
"""
from __future__ import annotations

import itertools
import random
import sys
from typing import Any

import numpy as np

from orchestrator.storage.embed import Embedder
from orchestrator.matching.guards import columns_agree, columns_clash, words_agree
from orchestrator.matching.intent_terms import conflict, data_names, merge, names_in
from orchestrator.matching.known_words import unexplained_words
from orchestrator.settings import Settings

from .families import FAMILIES, PARAPHRASE_KINDS, Family
from .outsiders import OUTSIDERS
from .wordings import load as load_wordings
from .results import RESULTS, update_section

BANDS = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.925, 0.95, 0.975, 0.99]


def family_texts(family: Family) -> list[str]:
    return [family.intent, *family.paraphrases]


def distribution(values: list[float]) -> dict[str, float]:
    array = np.array(values)
    return {"n": len(values), "min": round(float(array.min()), 4),
            **{f"p{q}": round(float(np.percentile(array, q)), 4) for q in (5, 25, 50, 75, 95)},
            "max": round(float(array.max()), 4)}


def nearest_key_analysis(vectors: dict[str, np.ndarray]) -> dict[str, Any]:
    """Ranking instead of a threshold: for each paraphrase of a family that has same-signature
    rivals, is the nearest key among all
    same-signature families' keys its own family's, and by what margin over the best key of
    another family? Warm: every other text is a key (a cache with aliases); cold: intents only.
    A margin only protects when the look-alike family is cached too; the first request of a
    sibling meets its partner alone, which no ranking can catch."""
    report = {}
    for mode in ("warm", "cold"):
        right, margins = 0, []
        for family in FAMILIES:
            rivals = [f for f in FAMILIES if f.params == family.params and f.name != family.name]
            if not rivals:
                continue  # nothing to confuse it with once the signature filter has run
            for index in range(1, len(vectors[family.name])):
                query = vectors[family.name][index]
                own_keys = [j for j in range(len(vectors[family.name])) if j != index and (mode == "warm" or j == 0)]
                own = max(float(vectors[family.name][j] @ query) for j in own_keys)
                other = max(float(vectors[r.name][j] @ query) for r in rivals
                            for j in range(len(vectors[r.name])) if mode == "warm" or j == 0)
                right += own > other
                margins.append(own - other)
        wrong = [-m for m in margins if m <= 0]
        report[mode] = {"queries": len(margins), "nearest_is_own_family": round(right / len(margins), 4),
                        "margin_own_minus_best_other": distribution(margins),
                        "largest_wrong_margin": round(max(wrong), 4) if wrong else None}
    return report


def with_intent_terms(texts: dict[str, list[str]], vectors: dict[str, np.ndarray]) -> dict[str, Any]:
    """The same pairs after lookup's intent-term guard (orchestrator/matching/intent_terms.py): a key text
    of one family meeting a request text of another is only a false-hit risk when the guard
    lets it through; a pair of one family that the guard separates is a hit lost to it."""
    signature = {f.name: f.params for f in FAMILIES}
    survivors, lost, kept = [], [], []
    for a, b in itertools.permutations(texts, 2):
        if signature[a] != signature[b]:
            continue
        sims = vectors[a] @ vectors[b].T
        for i, key in enumerate(texts[a]):
            for j, request in enumerate(texts[b]):
                if conflict(request, merge(key)) is None:
                    survivors.append((float(sims[i, j]), a, b, key, request))
    for name, group in texts.items():
        sims = vectors[name] @ vectors[name].T
        for i, j in itertools.permutations(range(len(group)), 2):
            (kept if conflict(group[j], merge(group[i])) is None else lost).append(float(sims[i, j]))
    survivors.sort(reverse=True)
    top = survivors[0][0] if survivors else 0.0
    positives = kept + lost
    return {
        "must_not_hit_pairs_checked": len([1 for a, b in itertools.permutations(texts, 2)
                                           if signature[a] == signature[b]]),
        "must_not_hit_surviving": len(survivors),
        "should_hit_pairs_separated_by_the_guard": len(lost),
        "zero_false_hit_threshold": round(top + 0.0005, 4),
        "bands": [{"threshold": t, "must_not_hit_pairs_at_or_above": sum(s >= t for s, *_ in survivors),
                   "recall_pairwise": round(sum(v >= t for v in kept) / len(positives), 4)} for t in BANDS],
        "closest_surviving": [{"similarity": round(s, 4), "key_of": a, "request_of": b, "key": k, "request": r}
                              for s, a, b, k, r in survivors[:10:2]],
    }


AGREEMENT_BANDS = [0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6]


def with_agreement(texts: dict[str, list[str]], vectors: dict[str, np.ndarray], embedder: Embedder,
                   wordings: dict[str, list[str]]) -> dict[str, Any]:
    """Lookup's agreement zone (orchestrator/guards.words_agree): a request is run without the
    model, from a lower similarity than the sure hit, when it names exactly the terms of one of
    the procedure's verified texts and its known texts explain its other words. Pairs: every
    text of a family as the one verified text of its procedure (known besides it: the model's
    wordings for the family), against every request text of the same signature; plus requests
    for tasks the workload does not have (outsiders.py), which must agree with nothing. Text
    only: the column and field names that lookup also compares need the requests' data."""
    signature = {f.name: tuple(sorted(f.params.items())) for f in FAMILIES}
    outsider_texts = [(sig, text) for sig, group in OUTSIDERS.items() for text in group]
    outsider_vectors = np.array(embedder.embed([text for _, text in outsider_texts]))
    wording_vectors = {name: np.array(embedder.embed(group)) for name, group in wordings.items() if group}
    same, other, outside = [], [], []
    for key_family, keys in texts.items():
        for i, key in enumerate(keys):
            known = [key, *wordings.get(key_family, [])]
            for request_family, requests in texts.items():
                if signature[request_family] != signature[key_family]:
                    continue
                for j, request in enumerate(requests):
                    if request_family == key_family and i == j:
                        continue
                    similarity = float(vectors[key_family][i] @ vectors[request_family][j])
                    agrees = words_agree(request, [key], known)
                    if request_family == key_family:
                        same.append((similarity, agrees))
                    elif agrees:
                        other.append((similarity, key_family, request_family, key, request))
            for (sig, request), vector in zip(outsider_texts, outsider_vectors):
                if sig == signature[key_family] and words_agree(request, [key], known):
                    outside.append((float(vectors[key_family][i] @ vector), key_family, key, request))
    other.sort(reverse=True)
    outside.sort(reverse=True)
    return {
        "outsiders_answered_by_a_procedure": outsiders_answered(outsider_texts, outsider_vectors, texts, vectors,
                                                                wordings, wording_vectors),
        "should_hit_pairs": len(same),
        "outsider_requests": len(outsider_texts),
        "bands": [{"threshold": t,
                   "recall_pairwise": round(sum(s >= t and a for s, a in same) / len(same), 4),
                   "must_not_hit_pairs_agreeing": sum(s >= t for s, *_ in other),
                   "outsider_pairs_agreeing": sum(s >= t for s, *_ in outside)} for t in AGREEMENT_BANDS],
        "closest_agreeing_other_family": [{"similarity": round(s, 4), "key_of": a, "request_of": b, "key": k,
                                           "request": r} for s, a, b, k, r in other[:8]],
        "closest_agreeing_outsiders": [{"similarity": round(s, 4), "key_of": a, "key": k, "request": r}
                                       for s, a, k, r in outside[:8]],
    }


def outsiders_answered(outsider_texts, outsider_vectors, texts, vectors, wordings, wording_vectors) -> dict[str, Any]:
    """Per outsider request (a task no family does): would lookup run a family's procedure, with
    every text of that family verified (the warmest cache), at the default settings? By the
    sure hit, by the sure hit only thanks to the model's other wordings as keys
    (bench/cache/wordings.json), or by the agreement zone; and which sure hits go to the model
    instead because a word of the request is unexplained. The request's data, for the column
    and field names lookup compares, is an input of the family's own generator."""
    settings = Settings()
    families = {f.name: f for f in FAMILIES}
    signature = {f.name: tuple(sorted(f.params.items())) for f in FAMILIES}
    sure, by_wordings, agreed, asked = [], [], [], []
    for (sig, request), vector in zip(outsider_texts, outsider_vectors):
        for name, keys in texts.items():
            if signature[name] != sig:
                continue
            verified, known = keys[1:], [*keys, *wordings.get(name, [])]
            best = max(float(v @ vector) for v in vectors[name])
            worded = max([float(v @ vector) for v in wording_vectors.get(name, [])], default=-1.0)
            # The request's data: inputs of the family's own kind, for lookup's column-name rule.
            names = data_names(families[name].make_inputs(random.Random(0)))
            columns, columns_known = names_in(request, names), names_in("\n".join(verified), names)
            if conflict(request, merge(*verified)) is not None or columns_clash(columns, columns_known):
                continue
            row = {"request": request, "family": name, "similarity": round(max(best, worded), 4)}
            unexplained = unexplained_words(request, known, names)
            if max(best, worded) >= settings.hit_similarity and settings.sure_hit_needs_known_words and unexplained:
                asked.append({**row, "unexplained": " ".join(unexplained)})
            elif best >= settings.hit_similarity:
                sure.append(row)
            elif worded >= settings.hit_similarity:
                by_wordings.append(row)
            elif (settings.agree_similarity is not None and best >= settings.agree_similarity
                  and words_agree(request, verified, known, names) and columns_agree(columns, columns_known)):
                agreed.append(row)
    return {"outsiders": len(outsider_texts), "hit_similarity": settings.hit_similarity,
            "agree_similarity": settings.agree_similarity, "by_sure_hit": sure, "by_wordings": by_wordings,
            "by_agreement": agreed, "asked_instead_of_a_sure_hit": asked}


def calibrate(embedder: Embedder) -> dict[str, Any]:
    texts = {f.name: family_texts(f) for f in FAMILIES}
    vectors = {name: np.array(embedder.embed(group)) for name, group in texts.items()}

    # Should hit: paraphrase vs intent (a cold cache holds the intent and the first task),
    # and paraphrase vs paraphrase (what aliases add).
    to_intent, to_paraphrase, best_alias = [], [], []
    for name, matrix in vectors.items():
        sims = matrix @ matrix.T
        count = len(matrix)
        to_intent += [float(sims[i, 0]) for i in range(1, count)]
        to_paraphrase += [float(sims[i, j]) for i, j in itertools.combinations(range(1, count), 2)]
        # a paraphrase's nearest other key of its own family (intent or another paraphrase)
        best_alias += [float(max(sims[i, j] for j in range(count) if j != i)) for i in range(1, count)]

    # Must not hit: every text pair of two different families with the same signature.
    negatives, sibling_negatives, closest = [], [], []
    for a, b in itertools.combinations(FAMILIES, 2):
        if a.params != b.params:
            continue
        sims = vectors[a.name] @ vectors[b.name].T
        pair_values = sims.flatten().tolist()
        negatives += pair_values
        if a.sibling == b.name:
            sibling_negatives += pair_values
        i, j = np.unravel_index(np.argmax(sims), sims.shape)
        closest.append({"similarity": round(float(sims[i, j]), 4), "a": a.name, "b": b.name,
                        "text_a": texts[a.name][i], "text_b": texts[b.name][j], "siblings": a.sibling == b.name})
    closest.sort(key=lambda c: -c["similarity"])

    zero_false_hits = round(max(negatives) + 0.0005, 4)
    positives = to_intent + to_paraphrase

    def at_least(values: list[float], threshold: float) -> float:
        return round(sum(v >= threshold for v in values) / len(values), 4)

    bands = [
        {"threshold": t, "recall_paraphrase_vs_intent": at_least(to_intent, t),
         "recall_paraphrase_vs_any_own_key": at_least(best_alias, t),
         "recall_pairwise": at_least(positives, t),
         "must_not_hit_pairs_at_or_above": sum(v >= t for v in negatives),
         "sibling_pairs_at_or_above": sum(v >= t for v in sibling_negatives)}
        for t in BANDS
    ]
    nearest = nearest_key_analysis(vectors)
    by_kind = {kind: distribution([float(vectors[f.name][k + 1] @ vectors[f.name][0]) for f in FAMILIES])
               for k, kind in enumerate(PARAPHRASE_KINDS)}
    hardest = sorted(
        ({"similarity": round(s, 4), "family": f.name, "text": p}
         for f in FAMILIES for p, s in zip(f.paraphrases, (vectors[f.name][1:] @ vectors[f.name][0]).tolist())),
        key=lambda h: h["similarity"],
    )
    return {
        "model": "all-MiniLM-L6-v2 (orchestrator.storage.embed.Embedder)",
        "families": len(FAMILIES),
        "should_hit": {"paraphrase_vs_intent": distribution(to_intent),
                       "paraphrase_vs_paraphrase": distribution(to_paraphrase),
                       "paraphrase_vs_nearest_own_key": distribution(best_alias),
                       "paraphrase_vs_intent_by_kind": by_kind},
        "must_not_hit": {"same_signature_other_family": distribution(negatives),
                         "near_miss_siblings": distribution(sibling_negatives)},
        "zero_false_hit_threshold": zero_false_hits,
        "recall_at_zero_false_hit_threshold": {
            "paraphrase_vs_intent": at_least(to_intent, zero_false_hits),
            "paraphrase_vs_nearest_own_key": at_least(best_alias, zero_false_hits),
            "pairwise": at_least(positives, zero_false_hits),
        },
        "bands": bands,
        "nearest_key": nearest,
        "closest_must_not_hit": closest[:20],
        "farthest_paraphrases_from_intent": hardest[:15],
        "with_intent_terms": with_intent_terms(texts, vectors),
        "with_agreement": with_agreement(texts, vectors, embedder, load_wordings()),
    }


def table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    return lines


def markdown(data: dict[str, Any], command: str) -> str:
    agreed = data["with_agreement"]
    outsiders = agreed["outsiders_answered_by_a_procedure"]
    dist_rows = [{"set": f"should hit: {k}", **v} for k, v in data["should_hit"].items() if k != "paraphrase_vs_intent_by_kind"]
    dist_rows += [{"set": f"should hit: {k} paraphrase vs intent", **v}
                  for k, v in data["should_hit"]["paraphrase_vs_intent_by_kind"].items()]
    dist_rows += [{"set": f"must not hit: {k}", **v} for k, v in data["must_not_hit"].items()]
    recall = data["recall_at_zero_false_hit_threshold"]
    guarded = data["with_intent_terms"]
    lines = [
        "# Calibration: cosine similarities of all-MiniLM-L6-v2 on the cache workload",
        "",
        f"Command: `{command}` ({data['date']}). {data['families']} families, 7 paraphrases each "
        "(bench/cache/families.py). Must-not-hit pairs are texts of two different families with the same "
        "input signature (only those get past the signature filter).",
        "",
        *table(dist_rows, ["set", "n", "min", "p5", "p25", "p50", "p75", "p95", "max"]),
        "",
        f"**Threshold for zero false hits (single threshold): {data['zero_false_hit_threshold']}.** "
        f"Recall there: paraphrase vs intent {recall['paraphrase_vs_intent']:.1%}, paraphrase vs its nearest "
        f"own key (intent or another paraphrase, i.e. with aliases) {recall['paraphrase_vs_nearest_own_key']:.1%}, "
        f"pairwise {recall['pairwise']:.1%}.",
        "",
        "Reading: the sets overlap almost entirely. Sibling texts in one language and one template "
        f"(\"sort ... smallest to largest\" / \"... largest to smallest\") reach {data['must_not_hit']['near_miss_siblings']['max']}, "
        "while a family's German, French, typo'd or terse paraphrases sit far from its English intent "
        f"(median {data['should_hit']['paraphrase_vs_intent']['p50']}): MiniLM is an English model that "
        "scores surface form, not direction or operation. No single threshold gives both zero false hits "
        "and useful recall; a sure-hit zone must sit above the sibling maximum, and everything between "
        "must go to discriminating terms and the confirm node, or to aliases learned from confirmed requests.",
        "",
        "By threshold (recall of should-hit; counts of must-not-hit pairs at or above it):",
        "",
        *table(data["bands"], ["threshold", "recall_paraphrase_vs_intent", "recall_paraphrase_vs_any_own_key",
                               "recall_pairwise", "must_not_hit_pairs_at_or_above", "sibling_pairs_at_or_above"]),
        "",
        "Closest must-not-hit pairs (one per family pair):",
        "",
        *table(data["closest_must_not_hit"][:12], ["similarity", "a", "b", "text_a", "text_b", "siblings"]),
        "",
        "Ranking instead of a threshold (for families with same-signature rivals: is the nearest key, over "
        "every same-signature family's keys, the paraphrase's own family's?): warm cache (every other text a key) "
        f"{data['nearest_key']['warm']['nearest_is_own_family']:.1%}, cold (intents only) "
        f"{data['nearest_key']['cold']['nearest_is_own_family']:.1%}. A ranking only helps when the look-alike "
        "family is cached too: the first request of a sibling meets its partner alone.",
        "",
        "## After the intent-term guard",
        "",
        f"Lookup rules a candidate out when the request names another operation, order, position, "
        f"counting unit, conversion direction, field, party or severity than the texts verified to map "
        f"to it (orchestrator/matching/intent_terms.py). Of the text pairs of {guarded['must_not_hit_pairs_checked']} "
        f"ordered same-signature family pairs, {guarded['must_not_hit_surviving']} get past it; "
        f"{guarded['should_hit_pairs_separated_by_the_guard']} pairs of one family are wrongly separated. "
        f"**Zero false hits from {guarded['zero_false_hit_threshold']} on** (seglam's sure hit: "
        "Settings.hit_similarity; the gray zone below it is asked of the model).",
        "",
        *table(guarded["bands"], ["threshold", "recall_pairwise", "must_not_hit_pairs_at_or_above"]),
        "",
        "Closest pairs the guard lets through:",
        "",
        *table(guarded["closest_surviving"], ["similarity", "key_of", "request_of", "key", "request"]),
        "",
        "Paraphrases farthest from their own intent:",
        "",
        *table(data["farthest_paraphrases_from_intent"][:10], ["similarity", "family", "text"]),
        "",
        "## The agreement zone and requests for tasks the workload lacks",
        "",
        "Below the sure hit (from `Settings.agree_similarity`), lookup runs a candidate when the request "
        "names exactly the terms of one of the procedure's verified texts on every axis, the same columns, "
        "and no word that the procedure's known texts (intent, verified texts, the model's wordings) do not "
        "explain (orchestrator/matching/known_words.py). "
        f"Pairs: each family text as the one verified text, against the {agreed['should_hit_pairs']} other texts "
        f"of its family and every text of the same signature; and {agreed['outsider_requests']} requests for "
        "tasks no family does, worded with the workload's terms (bench/cache/outsiders.py).",
        "",
        *table(agreed["bands"], ["threshold", "recall_pairwise", "must_not_hit_pairs_agreeing",
                                 "outsider_pairs_agreeing"]),
        "",
        f"Outsider requests that would get a family's procedure, every text of the family verified "
        f"(sure hit at {outsiders['hit_similarity']}; agreement zone from {outsiders['agree_similarity']}): "
        f"**{len(outsiders['by_sure_hit'])} of {outsiders['outsiders']} by the sure hit, "
        f"{len(outsiders.get('by_wordings', []))} more by the sure hit on one of the model's other wordings "
        "(bench/cache/wordings.json), "
        f"{len(outsiders['by_agreement'])} more by the agreement zone.** "
        f"{len(outsiders.get('asked_instead_of_a_sure_hit', []))} would have been sure hits but carry a word "
        "the family's texts do not explain, so lookup asks the model instead (a miss where no confirmer runs).",
        "",
        *table([{**row, "zone": "sure hit", "unexplained": ""} for row in outsiders["by_sure_hit"]]
               + [{**row, "zone": "sure hit on a wording", "unexplained": ""} for row in outsiders.get("by_wordings", [])]
               + [{**row, "zone": "agreement", "unexplained": ""} for row in outsiders["by_agreement"]]
               + [{**row, "zone": "asked instead"} for row in outsiders.get("asked_instead_of_a_sure_hit", [])],
               ["zone", "similarity", "family", "request", "unexplained"]),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    command = "python -m bench.cache.calibrate"
    data = calibrate(Embedder())
    results = update_section("calibration", data, command)
    (RESULTS / "calibration.md").write_text(markdown(results["calibration"], command))
    print(markdown(results["calibration"], command))


if __name__ == "__main__":
    sys.exit(main())
