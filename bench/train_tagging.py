"""Train the relevance model (schemas/models/relevance-v1.json.gz) on the WCEP items' training part.

Labels are the portal editors' headings: "Armed conflicts and attacks" and the headings of named protests,
uprisings and unrest (sitrep's taxonomy counts protests and riots as conflict events) are conflict news; arts,
business, sport, science, health, technology and disasters and accidents (violent deaths that are not conflict)
are not. Other headings (crime, politics, international relations, named wars) mix both: their items that name
no violence are weak negatives (see training_label), the rest are left out.

The model's regularisation is chosen on the development part; how its log-odds and the rules' combine is fitted
on the training part's out-of-fold predictions (apart for texts that name violence and those that do not), so
the development part stays a fair check. The holdout part is
never read. Needs scikit-learn (`pip install -e '.[train]'`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tagging_sets import labelled_set

from pipelines.tagging import ConflictTagger, lead_words
from pipelines.tagging.model import MODEL_FILE, features, logit, write_model
from schemas import data_path

PROTEST_HEADING = re.compile(r"protest|unrest|uprising|revolution|riot|demonstration", re.IGNORECASE)
DISASTER_HEADING = re.compile(r"^disasters", re.IGNORECASE)
# The label of an item taken as not conflict from its heading and the rules (see training_label): it weighs
# WEAK_WEIGHT of an editor's label in training, as some of these items are conflict news after all.
WEAK = -1
WEAK_WEIGHT = 0.3
MIXED_HEADING = re.compile(r"^(politics|law and crime|international relations|religion)", re.IGNORECASE)
MIN_COUNT = 2
C_GRID = (2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
FOLDS = 5
# Weights smaller than this move no decision: left out of the shipped file.
MIN_WEIGHT = 0.02


def training_label(row: dict, names_violence: bool) -> int | None:
    """1 conflict, 0 not, None left out. Items under politics, law, relations and religion headings that name no
    violence are taken as not conflict: they teach the model that "the senator attacked the budget" and "a war on
    drugs" are not news of fighting, which the arts, business and sport headings alone do not."""
    if row.get("is_conflict") is not None:
        return int(bool(row["is_conflict"]))
    heading = row.get("wcep_category") or ""
    if PROTEST_HEADING.search(heading):
        return 1
    if DISASTER_HEADING.search(heading):
        return 0
    if MIXED_HEADING.search(heading) and not names_violence:
        return WEAK
    return None


def load(parts: tuple[str, ...], tagger: ConflictTagger) -> tuple[list[list[str]], np.ndarray, np.ndarray, list,
                                                                  np.ndarray, np.ndarray]:
    """Feature lists, labels, the rules' scores, month groups, how the model may combine with the rules (see
    ConflictTagger.rules) and the rows' training weights, of the WCEP rows of some parts."""
    wcep = labelled_set("wcep-en")
    feats, labels, rules, groups, regimes = [], [], [], [], []
    with wcep.path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if wcep.part_of(row) not in parts:
                continue
            score, regime = tagger.rules(row.get("title", ""), row["text"], "en")
            label = training_label(row, regime == "violence")
            if label is None:
                continue
            feats.append(features(lead_words(row.get("title", ""), row["text"])))
            labels.append(label)
            rules.append(score)
            regimes.append(regime)
            groups.append(str(row.get("date", ""))[:7])
    labels_array = np.array(labels)
    weights = np.where(labels_array == WEAK, WEAK_WEIGHT, 1.0)
    return feats, np.maximum(labels_array, 0), np.array(rules), groups, np.array(regimes, dtype=object), weights


def matrix(feats: list[list[str]], vocabulary: dict[str, int]):
    from scipy.sparse import csr_matrix

    indptr, indices, values = [0], [], []
    for found in feats:
        scale = 1 / np.sqrt(len(found)) if found else 0.0
        known = [vocabulary[f] for f in found if f in vocabulary]
        indices += known
        values += [scale] * len(known)
        indptr.append(len(indices))
    return csr_matrix((values, indices, indptr), shape=(len(feats), len(vocabulary)))


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, log_loss
    from sklearn.model_selection import GroupKFold

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(data_path(MODEL_FILE)))
    args = parser.parse_args(argv)
    rules_only = ConflictTagger(rules_only=True)
    train_f, train_y, train_rules, groups, train_regime, train_w = load(("train",), rules_only)
    dev_f, dev_y, dev_rules, _, dev_regime, dev_w = load(("dev",), rules_only)
    counts: dict[str, int] = {}
    for found in train_f:
        for f in found:
            counts[f] = counts.get(f, 0) + 1
    vocabulary = {f: i for i, f in enumerate(sorted(f for f, n in counts.items() if n >= MIN_COUNT))}
    x_train, x_dev = matrix(train_f, vocabulary), matrix(dev_f, vocabulary)
    print(f"training rows {len(train_y)} ({train_y.sum()} conflict), development rows {len(dev_y)}, "
          f"features {len(vocabulary)}")

    best = None
    for c in C_GRID:
        model = LogisticRegression(C=c, max_iter=2000).fit(x_train, train_y, sample_weight=train_w)
        p = model.predict_proba(x_dev)[:, 1]
        loss, f1 = log_loss(dev_y, p, sample_weight=dev_w), f1_score(dev_y, p >= 0.5, sample_weight=dev_w)
        print(f"C {c:<4}  development log loss {loss:.4f}  F1 {f1:.4f}")
        if best is None or loss < best[0]:
            best = (loss, c, model)
    _, c, model = best

    # Out-of-fold log-odds on the training part (folds by month), to fit how model and rules combine.
    oof = np.zeros(len(train_y))
    for fit_rows, held in GroupKFold(n_splits=FOLDS).split(x_train, train_y, groups):
        fold = LogisticRegression(C=c, max_iter=2000).fit(x_train[fit_rows], train_y[fit_rows],
                                                          sample_weight=train_w[fit_rows])
        oof[held] = fold.decision_function(x_train[held])
    # Apart for the texts that name violence and those that do not: the rules' score means more in the first.
    rule_logits = np.array([logit(s) for s in train_rules])
    combines = {}
    for key, rows in (("combine", train_regime == "violence"), ("combine_loose", train_regime == "loose")):
        fit = LogisticRegression(C=100.0).fit(np.column_stack([oof[rows], rule_logits[rows]]), train_y[rows],
                                              sample_weight=train_w[rows])
        combines[key] = {"model": round(float(fit.coef_[0][0]), 4), "rules": round(float(fit.coef_[0][1]), 4),
                         "intercept": round(float(fit.intercept_[0]), 4)}
        print(f"{key} ({rows.sum()} rows): {combines[key]}")

    names = sorted(vocabulary, key=vocabulary.get)
    weights = {name: round(float(w), 4) for name, w in zip(names, model.coef_[0], strict=True)
               if abs(w) >= MIN_WEIGHT}
    dev_logodds = model.decision_function(x_dev)
    dev_rule_logits = np.array([logit(s) for s in dev_rules])
    keep_rules = {"model": 0.0, "rules": 1.0, "intercept": 0.0}
    chosen = [combines["combine"] if regime == "violence" else combines["combine_loose"] if regime == "loose"
              else keep_rules for regime in dev_regime]
    dev_p = 1 / (1 + np.exp(-np.array([c["model"] * m + c["rules"] * r + c["intercept"]
                                        for c, m, r in zip(chosen, dev_logodds, dev_rule_logits, strict=True)])))
    print(f"chosen C {c}; weights kept {len(weights)} of {len(names)}")
    editors = dev_w == 1.0
    print(f"development, editors' labels: rules alone F1 {f1_score(dev_y[editors], dev_rules[editors] >= 0.5):.4f}, "
          f"model alone {f1_score(dev_y[editors], dev_logodds[editors] >= 0):.4f}, combined "
          f"{f1_score(dev_y[editors], dev_p[editors] >= 0.5):.4f} "
          f"(log loss {log_loss(dev_y, dev_p, sample_weight=dev_w):.4f})")
    card = {
        "trained_on": "Wikipedia Current Events Portal items (ianrastall/current-events-context @ 4ff6f7d2), "
                      "training part of bench/tagging_sets.py's split by month",
        "licence": "CC BY-SA 4.0 (derived from Wikipedia's text: attribution to the portal's editors)",
        "labels": "editors' headings: armed conflicts and attacks, named protests and unrest (conflict); arts, "
                  "business, sport, science, health, technology, disasters and accidents (not)",
        "rows": len(train_y), "C": c,
    }
    write_model(args.out, "1", card, {"en": {
        "weights": weights, "bias": round(float(model.intercept_[0]), 4), **combines,
    }})
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
