"""Near-duplicate rules on real article text: syndicated copies cluster, other reports of the same event do not."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from pipelines.dedup import normalize_text
from pipelines.dedup.near import (
    NearDupSettings,
    find_clusters,
    first_copy,
    fold_exact,
    match_prior,
    node_from_state,
    node_of,
    plan_clusters,
    resolve_cluster,
    shingle_hashes,
    signature,
    similarity,
    state_value,
)
from pipelines.dedup.revisions import facts_of
from schemas.records import Article, DedupResult
from tests.conftest import SEED_URL

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
    assert [revision for _, revision in flagged.remembered] == [1]  # the flagged copy went out under its own id


def test_same_url_same_text_is_seen_changed_text_is_a_revision(seed_text):
    first = node_of(DedupResult(art(SEED_URL, seed_text), ()))
    prior = node_from_state(first.id, state_value(first, 1))
    again = match_prior(node_of(DedupResult(art(SEED_URL, seed_text), ())), prior)
    assert again.seen and resolve_cluster([again], False).emitted == ()
    corrected = match_prior(node_of(DedupResult(art(SEED_URL, seed_text.replace("77", "81")), ())), prior)
    [event] = resolve_cluster([corrected], False).emitted
    assert (event.revision, event.cluster_id) == (2, first.id)


def test_copy_of_an_emitted_story_is_a_revision_only_when_its_facts_differ(seed_text):
    # resolve_cluster with a tagger stand-in: the facts come from whatever `tag` reports of an article.
    class Tags:
        def __init__(self, killed: int) -> None:
            self.is_conflict, self.locations, self.actors = True, [{"name": "Hasaka"}], []
            self.casualties = {"killed": {"count": killed}}

    def tag(article: Article) -> Tags:
        return Tags(20 if "twenty" in article.text else 14)

    earlier = node_of(DedupResult(art("https://site9.example/story", seed_text, "2022-01-23T11:00:00Z"), ()))
    emitted = replace(earlier, facts=facts_of(tag(earlier.group.representative)))
    prior = node_from_state(earlier.id, state_value(emitted, 1))
    same_facts = node_of(DedupResult(art("https://site1.example/story", syndicated(seed_text)[0]), ()))
    folded = resolve_cluster([same_facts, prior], False, tag)
    assert folded.emitted == () and folded.duplicates == 1
    other_facts = node_of(DedupResult(art("https://site2.example/story", syndicated(seed_text)[0] + " twenty"), ()))
    [revision] = resolve_cluster([other_facts, same_facts, prior], False, tag).emitted
    assert (revision.representative.url, revision.event_id, revision.revision) == (other_facts.url, earlier.id, 2)
    assert revision.changes == ("killed 14 → 20",)
    # without a tagger no facts are known: the copy folds, as copies always did
    assert resolve_cluster([other_facts, prior], False).emitted == ()


def test_a_copy_that_only_names_other_places_or_actors_folds(seed_text):
    # A wire copy's dateline ("LONDON (Reuters) -") or a byline names a place the story is not about: places
    # and actors alone do not tell a revision at another URL; they are listed when the figures tell one.
    class Tags:
        def __init__(self, text: str) -> None:
            self.is_conflict, self.actors = True, [{"name": "SDF"}]
            self.locations = [{"name": "London"}, {"name": "Hasaka"}] if "LONDON" in text else [{"name": "Hasaka"}]
            self.casualties = {"killed": {"count": 20 if "twenty" in text else 14}}

    def tag(article: Article) -> Tags:
        return Tags(article.text)

    earlier = node_of(DedupResult(art("https://site9.example/story", seed_text, "2022-01-23T11:00:00Z"), ()))
    emitted = replace(earlier, facts=facts_of(tag(earlier.group.representative)))
    prior = node_from_state(earlier.id, state_value(emitted, 1))
    dateline = node_of(DedupResult(art("https://site1.example/story", "LONDON (Reuters) - " + seed_text), ()))
    assert resolve_cluster([dateline, prior], False, tag).emitted == ()
    # within one run alike
    first = node_of(DedupResult(art("https://site9.example/story", seed_text, "2022-01-23T08:00:00Z"), ()))
    assert [g.representative.url for g in resolve_cluster([first, dateline], False, tag).emitted] == [first.url]
    both = node_of(DedupResult(art("https://site2.example/story", "LONDON (Reuters) - " + seed_text + " twenty"), ()))
    [revision] = resolve_cluster([both, prior], False, tag).emitted
    assert revision.changes == ("killed 14 → 20", "places Hasaka → London, Hasaka")


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


def test_shingles_are_five_word_windows_and_a_short_text_is_one():
    words = normalize_text(PROTEST).split()
    hashes = shingle_hashes(normalize_text(PROTEST))
    assert len(hashes) == len(words) - 4
    assert len(set(hashes.tolist())) == len({tuple(words[i:i + 5]) for i in range(len(words) - 4)})
    police = words.index("police")
    assert " ".join(words[police:police + 5]) == "police fired tear gas near"
    assert hashes[police] == shingle_hashes("police fired tear gas near")[0]  # wherever a shingle stands
    assert len(shingle_hashes("police fired tear gas")) == len(shingle_hashes("")) == 1


def test_signature_values_are_fixed():
    # Every run and every worker must agree, and so must the state that keeps them.
    assert hashlib.sha256(signature(PROTEST)).hexdigest() == (
        "2726a6bd649e7900ae3f3fcc0ec156ecb1f843ecfe5b0ad54ec6f3e854ba3474")


def test_plan_folds_exact_copies_and_lists_only_articles_that_are_not_alone(seed_text):
    from pipelines.dedup.near import Copy, plan_copies

    def copy(url: str, text: str, hour: int, guid: str | None = None) -> Copy:
        node = node_of(DedupResult(art(url, text, f"2022-01-23T{hour:02d}:00:00Z"), ()))
        return Copy(url_key=url.split("?")[0], guid_key=guid or "url:" + url.split("?")[0], node=node)

    wire = copy("https://wire.example/siege", THIRD_REPORT, 6)
    tracked = copy("https://wire.example/siege?utm_source=rss", THIRD_REPORT, 7)  # the same URL key
    other = copy("https://local.example/hasaka", OTHER_REPORT, 7)
    plan = plan_copies([wire, tracked, other], [])
    # the two entries of one URL are one group, alone in its cluster: listed, to be folded together
    assert plan.labels == {"https://wire.example/siege": wire.node.id} and plan.clusters == {}
    # a near copy elsewhere joins them in one cluster, the earliest at its head
    near = copy("https://paper.example/siege", "By our wire service. " + THIRD_REPORT, 8)
    plan = plan_copies([wire, tracked, other, near], [])
    assert set(plan.labels) == {"https://wire.example/siege", "https://paper.example/siege"}
    [cluster] = plan.clusters.values()
    assert [n.id for n in cluster] == [wire.node.id, near.node.id]


def test_exact_folding_does_not_depend_on_the_order_copies_arrive_in():
    # Two undated records of one URL fetched in the same second with different texts (a backfill can hold
    # such): the plan and the cluster fold copies in whatever order each receives them, and must agree.
    import itertools

    from pipelines.beam.dedup import copy_of
    from pipelines.dedup import singleton

    def article(url: str, text: str) -> Article:
        return Article(url=url, canonical_url=url, title="Prison siege", text=text, language="en",
                       fetched_at="2022-01-24T08:00:00Z")

    articles = [article("https://x.example/a", THIRD_REPORT), article("https://x.example/a", OTHER_REPORT),
                article("https://y.example/c", THIRD_REPORT), article("https://z.example/d", PROTEST)]
    copies = [copy_of(node_of(singleton(a))) for a in articles]
    foldings = set()
    for order in itertools.permutations(copies):
        sets = fold_exact(order)
        foldings.add(frozenset((first_copy(s).node.fingerprint, frozenset(c.url_key for c in s)) for s in sets))
    assert len(foldings) == 1


def test_a_node_normalizes_once_for_signature_and_fingerprint(seed_text):
    from pipelines.dedup import content_fingerprint, fingerprint, fingerprint_from, singleton

    fresh = Article(url=SEED_URL, canonical_url=SEED_URL, title="Clashes", text=seed_text + "\nMore.",
                    language="en", fetched_at="2022-01-23T12:00:00Z")
    node = node_of(singleton(fresh))
    assert node.sig == signature(fresh.text)
    assert node.fingerprint == fingerprint(fresh) == content_fingerprint(fresh.text)
    # A fingerprint the article already has is kept, never recomputed from another text.
    cached = Article(url=SEED_URL, canonical_url=SEED_URL, title="Clashes", text=OTHER_REPORT, language="en",
                     fetched_at="2022-01-23T12:00:00Z")
    before = fingerprint(cached)
    assert fingerprint_from(cached, normalize_text(PROTEST)) == before == content_fingerprint(OTHER_REPORT)
