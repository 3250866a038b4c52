"""Train the relevance model (schemas/models/relevance-v1.json.gz) on the WCEP items' training part.

Labels are the portal editors' headings: "Armed conflicts and attacks" and the headings of named protests,
uprisings and unrest (sitrep's taxonomy counts protests and riots as conflict events) are conflict news; arts,
business, sport, science, health, technology and disasters and accidents (violent deaths that are not conflict)
are not. Other headings (crime, politics, international relations, named wars) mix both and are left out.

The model's regularisation is chosen on the development part; how its log-odds and the rules' combine is fitted
on the training part's out-of-fold predictions, so the development part stays a fair check. The holdout part is
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
MIN_COUNT = 2
C_GRID = (2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
FOLDS = 5
# Weights smaller than this move no decision: left out of the shipped file.
MIN_WEIGHT = 0.02


def training_label(row: dict) -> int | None:
    if row.get("is_conflict") is not None:
        return int(bool(row["is_conflict"]))
    heading = row.get("wcep_category") or ""
    if PROTEST_HEADING.search(heading):
        return 1
    if DISASTER_HEADING.search(heading):
        return 0
    return None


def load(parts: tuple[str, ...], tagger: ConflictTagger) -> tuple[list[list[str]], np.ndarray, np.ndarray, list]:
    """Feature lists, labels, the rules' scores and month groups of the WCEP rows of some parts."""
    wcep = labelled_set("wcep-en")
    feats, labels, rules, groups = [], [], [], []
    with wcep.path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if wcep.part_of(row) not in parts:
                continue
            label = training_label(row)
            if label is None:
                continue
            feats.append(features(lead_words(row.get("title", ""), row["text"])))
            labels.append(label)
            rules.append(tagger.tag(row.get("title", ""), row["text"], "en").score)
            groups.append(str(row.get("date", ""))[:7])
    return feats, np.array(labels), np.array(rules), groups


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
    train_f, train_y, train_rules, groups = load(("train",), rules_only)
    dev_f, dev_y, dev_rules, _ = load(("dev",), rules_only)
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
        model = LogisticRegression(C=c, max_iter=2000).fit(x_train, train_y)
        p = model.predict_proba(x_dev)[:, 1]
        loss, f1 = log_loss(dev_y, p), f1_score(dev_y, p >= 0.5)
        print(f"C {c:<4}  development log loss {loss:.4f}  F1 {f1:.4f}")
        if best is None or loss < best[0]:
            best = (loss, c, model)
    _, c, model = best

    # Out-of-fold log-odds on the training part (folds by month), to fit how model and rules combine.
    oof = np.zeros(len(train_y))
    for fit_rows, held in GroupKFold(n_splits=FOLDS).split(x_train, train_y, groups):
        fold = LogisticRegression(C=c, max_iter=2000).fit(x_train[fit_rows], train_y[fit_rows])
        oof[held] = fold.decision_function(x_train[held])
    rule_logits = np.array([logit(s) for s in train_rules])
    combine = LogisticRegression(C=100.0).fit(np.column_stack([oof, rule_logits]), train_y)
    a, b = combine.coef_[0]
    intercept = combine.intercept_[0]

    names = sorted(vocabulary, key=vocabulary.get)
    weights = {name: round(float(w), 4) for name, w in zip(names, model.coef_[0], strict=True)
               if abs(w) >= MIN_WEIGHT}
    dev_logodds = model.decision_function(x_dev)
    dev_p = 1 / (1 + np.exp(-(a * dev_logodds + b * np.array([logit(s) for s in dev_rules]) + intercept)))
    print(f"chosen C {c}; combine: model {a:.3f}, rules {b:.3f}, intercept {intercept:.3f}; "
          f"weights kept {len(weights)} of {len(names)}")
    print(f"development: rules alone F1 {f1_score(dev_y, dev_rules >= 0.5):.4f}, model alone "
          f"{f1_score(dev_y, dev_logodds >= 0):.4f}, combined {f1_score(dev_y, dev_p >= 0.5):.4f} "
          f"(log loss {log_loss(dev_y, dev_p):.4f})")
    card = {
        "trained_on": "Wikipedia Current Events Portal items (ianrastall/current-events-context @ 4ff6f7d2), "
                      "training part of bench/tagging_sets.py's split by month",
        "licence": "CC BY-SA 4.0 (derived from Wikipedia's text: attribution to the portal's editors)",
        "labels": "editors' headings: armed conflicts and attacks, named protests and unrest (conflict); arts, "
                  "business, sport, science, health, technology, disasters and accidents (not)",
        "rows": len(train_y), "C": c,
    }
    write_model(args.out, "1", card, {"en": {
        "weights": weights, "bias": round(float(model.intercept_[0]), 4),
        "combine": {"model": round(float(a), 4), "rules": round(float(b), 4), "intercept": round(float(intercept), 4)},
    }})
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
