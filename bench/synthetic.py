"""Synthetic syndicated copies and distinct articles made from real article bodies (the shared extraction set)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

GROUND_TRUTH = Path(__file__).resolve().parents[2] / "shared" / "data" / "extraction-benchmark" / "ground-truth.json"

DATELINES = ["LONDON (Meridian Wire) — ", "By our correspondent. ", "(AFP) - ", "Updated 14:32 GMT. ", "Reuters — "]
TRAILERS = [
    "Reporting by the world desk; editing by the night editor.",
    "Sign up for our daily newsletter to get the top stories in your inbox. © 2024 All rights reserved.",
    "This article was originally published by a partner site and is republished with permission.",
    "Follow us on social media for the latest updates. Share this article. Comments are closed.",
]
SYNONYMS = {"said": "stated", "says": "states", "people": "residents", "killed": "left dead", "also": "further",
            "government": "authorities", "Monday": "on Monday", "about": "around", "more than": "over"}


def load_bodies(path: Path = GROUND_TRUTH) -> list[str]:
    """The real article bodies of the shared benchmark (read in place, never copied into the repository)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [record["articleBody"] for _id, record in sorted(data.items()) if len(record["articleBody"].split()) >= 60]


def sentences(bodies: list[str]) -> list[str]:
    return [s for body in bodies for s in re.split(r"(?<=[.!?])\s+", body) if len(s.split()) >= 6]


def syndicated_copy(text: str, rng: random.Random, headline: str) -> str:
    """What another site makes of a wire story: a dateline or headline line, a credit or newsletter trailer,
    a few words in house style, sometimes the last paragraph cut or a sentence dropped."""
    words = text.split(" ")
    for i in rng.sample(range(len(words)), k=max(1, len(words) // 60)):  # ~1.5% of the words changed
        words[i] = SYNONYMS.get(words[i], words[i].upper() if rng.random() < 0.5 else words[i] + ",")
    body = " ".join(words)
    paragraphs = body.split("\n")
    if len(paragraphs) > 4 and rng.random() < 0.5:
        paragraphs = paragraphs[:-1]
    if len(paragraphs) > 4 and rng.random() < 0.3:
        del paragraphs[rng.randrange(1, len(paragraphs) - 1)]
    parts = []
    if rng.random() < 0.5:
        parts.append(headline)
    parts.append(rng.choice(DATELINES) + "\n".join(paragraphs))
    parts.append(rng.choice(TRAILERS))
    return "\n".join(parts)


def mixed_article(pool: list[str], rng: random.Random, length: int) -> str:
    """A distinct article for scale tests: real sentences drawn from many articles, in a new order."""
    return " ".join(rng.sample(pool, length))
