"""Revision rules: the facts a changed copy is compared on, and how what changed is told."""

from __future__ import annotations

from pipelines.dedup.revisions import fact_changes, facts_of
from pipelines.tagging import ConflictTagger

REPORT = ("Gunmen killed at least 14 people and wounded 30 in an attack on a market in Maiduguri, Borno state, "
          "officials said. Boko Haram fighters were blamed for the attack.")


def test_facts_are_the_counts_places_actors_and_flag_of_the_tags():
    facts = facts_of(ConflictTagger().tag("Market attack", REPORT, "en"))
    assert facts["killed"] == 14 and facts["injured"] == 30 and facts["abducted"] is None
    assert facts["places"][0] == "Maiduguri" and facts["actors"] == ["Boko Haram"] and facts["conflict"] is True


def test_changes_name_each_fact_that_differs():
    tagger = ConflictTagger()
    before = facts_of(tagger.tag("Market attack", REPORT, "en"))
    after = facts_of(tagger.tag("Market attack", REPORT.replace("14", "20").replace("30", "45"), "en"))
    assert fact_changes(before, after) == ["killed 14 → 20", "injured 30 → 45"]
    assert fact_changes(before, before) == []
    assert fact_changes(None, {"killed": 3, "places": []}) == ["killed none → 3"]
