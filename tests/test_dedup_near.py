"""Near-duplicate rules on real article text: syndicated copies cluster, other reports of the same event do not."""

from __future__ import annotations

import pytest

from pipelines.dedup import DedupResult
from pipelines.extract import ArticleExtractor
from pipelines.neardup import (
    NearDupSettings,
    find_clusters,
    match_prior,
    node_from_state,
    node_of,
    plan_clusters,
    resolve_cluster,
    signature,
    similarity,
    state_value,
)
from schemas.records import Article, FeedEntry, FetchedPage
from tests.conftest import SEED_PAGE, sample_page

SEED_URL = "https://www.frontline-daily.example/world/middle-east/clashes-continue-isis-attack-prison-syria"

# Two outlets' own reports of the same attack: same place, same day, same facts, different words.
OTHER_REPORT = (
    "HASAKA, Syria — Gunfire and explosions echoed across the Ghwayran neighbourhood for a third night as the "
    "Syrian Democratic Forces tried to retake the prison that Islamic State fighters stormed on Thursday. "
    "Residents said families fled on foot towards the city centre, carrying what they could. A spokesman for "
    "the SDF told our correspondent that coalition aircraft had struck buildings near the prison walls where "
    "militants were hiding, and that several hundred escaped inmates had been caught in nearby streets. "
    "The United Nations children's agency warned that some 850 boys held in the facility were in grave danger. "
    "Local officials imposed a curfew on the city and closed the roads leading to Qamishli."
)
THIRD_REPORT = (
    "The siege of Ghwayran prison in Hasaka entered its fourth day on Sunday, with Kurdish commanders saying they "
    "had cornered the last Islamic State gunmen in one wing of the complex. Aid workers reported that more than "
    "forty thousand people had left the surrounding districts, many sheltering in mosques and schools in "
    "freezing weather. The attack began with a car bomb at the prison gate, followed by an uprising of inmates "
    "who seized weapons from guards. Washington said its forces had provided air support and intelligence. "
    "Analysts describe the assault as the most serious sign of the group's revival since it lost its territory."
)
PROTEST = (
    "Thousands of people marched through the capital on Saturday to protest against a sharp rise in fuel "
    "prices, blocking the main ring road for several hours. Police fired tear gas near parliament after "
    "demonstrators threw stones, and the interior ministry said 23 people had been detained. Unions have "
    "called a general strike for Tuesday if the government does not reverse the increase."
)


@pytest.fixture(scope="module")
def seed_text() -> str:
    page = FetchedPage(FeedEntry(link=SEED_URL), SEED_URL, 200, "text/html; charset=utf-8", sample_page(SEED_PAGE),
                       "2022-01-23T12:00:00Z")
    return ArticleExtractor().extract(page).text


def syndicated(text: str) -> list[str]:
    """How copies of a wire story look on other sites: a dateline and credits around it, a house style edit,
    a corrected figure, a paragraph cut, a newsletter plug."""
    paragraphs = text.split("\n")
    return [
        "HASAKA, Syria (Meridian Wire) — " + text + "\nReporting by Meridian Wire staff; editing by the world desk.",
        text.replace("ISIS", "the Islamic State group").replace("At least 39", "At least 41"),
        "\n".join(paragraphs[:-2]) + "\nSign up for our Middle East newsletter. © 2022 Frontline Daily. All rights "
        "reserved.",
        "\n".join(p for i, p in enumerate(paragraphs) if i != 3).replace("Hasaka", "al-Hasakah"),
    ]


def art(url: str, text: str, published: str = "2022-01-23T09:00:00Z") -> Article:
    return Article(url=url, canonical_url=url, title="headline", text=text, language="en",
                   fetched_at="2022-01-23T12:00:00Z", published_at=published)


def nodes(texts: list[str]) -> list:
    return [node_of(DedupResult(art(f"https://site{i}.example/story", t, f"2022-01-23T0{i}:00:00Z"), ()))
            for i, t in enumerate(texts)]


def urls(cluster: list) -> list[str]:
    return [n.url for n in cluster]


def test_syndicated_copies_are_one_cluster_with_the_earliest_as_representative(seed_text):
    clusters = find_clusters(nodes([seed_text, *syndicated(seed_text)]))
    assert len(clusters) == 1
    assert urls(clusters[0])[0] == "https://site0.example/story"


def test_other_reports_of_the_same_event_stay_apart(seed_text):
    texts = [seed_text, OTHER_REPORT, THIRD_REPORT, PROTEST]
    assert max(similarity(signature(a), signature(b)) for a in texts for b in texts if a is not b) < 0.2
    assert [len(c) for c in find_clusters(nodes(texts))] == [1, 1, 1, 1]


def test_copies_and_different_reports_mixed(seed_text):
    texts = [OTHER_REPORT, seed_text, THIRD_REPORT, *syndicated(seed_text), OTHER_REPORT + " Read more on our app."]
    clusters = find_clusters(nodes(texts))
    assert sorted(len(c) for c in clusters) == [1, 2, 5]


def test_threshold_is_tunable(seed_text):
    lines = seed_text.split("\n")
    excerpt = "\n".join(lines[: len(lines) * 2 // 3])  # two thirds of the story
    copies = nodes([seed_text, excerpt])
    assert 0.4 < similarity(copies[0].sig, copies[1].sig) < 0.8
    assert len(find_clusters(copies, NearDupSettings(threshold=0.3))) == 1
    assert len(find_clusters(copies, NearDupSettings(threshold=0.9))) == 2
    with pytest.raises(ValueError):
        NearDupSettings(threshold=1.5)


def test_cluster_keeps_the_story_an_earlier_run_emitted(seed_text):
    earlier = node_of(DedupResult(art("https://site9.example/story", seed_text, "2022-01-23T11:00:00Z"), ()))
    prior = node_from_state(earlier.id, state_value(earlier, 1))
    copy = node_of(DedupResult(art("https://site1.example/story", syndicated(seed_text)[0],
                                   "2022-01-23T08:00:00Z"), ()))
    dropped = resolve_cluster([copy, prior], flag_duplicates=False)
    # published earlier, but the story already went out under the earlier run's id: no second event
    assert dropped.emitted == () and dropped.duplicates == 1
    flagged = resolve_cluster([copy, prior], flag_duplicates=True)
    assert [(g.representative.url, g.duplicate_of) for g in flagged.emitted] == [(copy.url, earlier.id)]


def test_same_url_same_text_is_seen_changed_text_is_a_revision(seed_text):
    first = node_of(DedupResult(art(SEED_URL, seed_text), ()))
    prior = node_from_state(first.id, state_value(first, 1))
    again = match_prior(node_of(DedupResult(art(SEED_URL, seed_text), ())), prior)
    assert again.seen and resolve_cluster([again], False).emitted == ()
    corrected = match_prior(node_of(DedupResult(art(SEED_URL, seed_text.replace("77", "81")), ())), prior)
    [event] = resolve_cluster([corrected], False).emitted
    assert (event.revision, event.cluster_id) == (2, first.id)


def test_plan_lists_only_clusters_that_join_something(seed_text):
    current = nodes([seed_text, *syndicated(seed_text)[:2], PROTEST])
    plan = plan_clusters(current, [])
    copies, protest = current[:3], current[3]
    assert set(plan.labels) == {n.id for n in copies} and protest.id not in plan.labels
    [cluster] = plan.clusters.values()
    assert [n.id for n in cluster] == [n.id for n in sorted(copies, key=lambda n: n.rank)]
    # an earlier run saw the protest at its URL: matched, so listed, with the earlier record at its head
    earlier = node_from_state(protest.id, state_value(protest, 1))
    seen = plan_clusters(current, [earlier, node_from_state("unrelated", state_value(nodes([OTHER_REPORT])[0], 1))])
    assert seen.clusters[seen.labels[protest.id]][0].seen and "unrelated" not in seen.labels
