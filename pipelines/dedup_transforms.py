"""Beam wiring of deduplication: exact folding, near-duplicate clusters by LSH bands, and the state across runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from connectors.state import StateLog, StateRecord, recency
from pipelines.dedup import DedupResult, article_key, merge_groups, singleton
from pipelines.neardup import (
    ClusterPlan,
    DocNode,
    NearDupSettings,
    Resolution,
    band_values,
    node_from_state,
    node_of,
    plan_clusters,
    resolve_cluster,
    state_value,
)
from pipelines.transforms import counter

STATE_NAMESPACE = "dedup"
STATE = "state"
_DOC = "doc:"
_JOINED = "joined"


def guid_key(group: DedupResult) -> str:
    """Feed GUIDs are unique only within their feed, so the key is the feed's URL and the GUID; an article
    without one keeps its own URL key (a group of one)."""
    article = group.representative
    if article.guid and article.feed_url:
        return f"guid:{article.feed_url}|{article.guid}"
    return "url:" + article_key(article)


class DedupBy(beam.PTransform):
    """Groups of copies that share a key are merged into one group with one representative."""

    def __init__(self, key: Callable[[DedupResult], str], label: str) -> None:
        super().__init__(label)
        self.key = key

    def expand(self, groups: beam.PCollection) -> beam.PCollection:
        return (
            groups
            | "Key" >> beam.Map(lambda g, key=self.key: (key(g), g))
            | "Group" >> beam.GroupByKey()
            | "Merge" >> beam.MapTuple(lambda _key, gs: merge_groups(gs))
        )


class ExactGroups(beam.PTransform):
    """Articles -> groups of exact copies: same canonical URL key, same feed GUID, same normalized text."""

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return (
            articles
            | "AsGroups" >> beam.Map(singleton)
            | "ByUrl" >> DedupBy(lambda g: article_key(g.representative), "ByUrl")
            | "ByGuid" >> DedupBy(guid_key, "ByGuid")
            | "ByContent" >> DedupBy(lambda g: g.representative.fingerprint, "ByContent")
        )


def _newest(records: Iterable[StateRecord]) -> StateRecord:
    return max(records, key=recency)


class ReadDedupState(beam.PTransform):
    """The committed segments listed when the pipeline was built -> newest StateRecord per key within the
    retention window. Segments are read by a worker each (a vanished one is skipped), never by the launcher."""

    def __init__(self, root: str, segments: list[str], cutoff: str | None) -> None:
        super().__init__()
        self.root, self.segments, self.cutoff = root, segments, cutoff

    def expand(self, pipeline: beam.pvalue.PBegin) -> beam.PCollection:
        root, cutoff = self.root, self.cutoff
        return (
            pipeline
            | "Segments" >> beam.Create(self.segments)
            | "Spread" >> beam.Reshuffle()
            | "Read" >> beam.FlatMap(lambda path: StateLog(root, STATE_NAMESPACE).records([path]))
            | "InWindow" >> beam.Filter(lambda r: r.key.startswith(_DOC) and (cutoff is None or r.time >= cutoff))
            | "ByKey" >> beam.Map(lambda r: (r.key, r))
            | "Newest" >> beam.CombinePerKey(_newest)
            | "Records" >> beam.Values()
        )


def _prior_node(record: StateRecord) -> Iterator[DocNode]:
    """A state record of an article an earlier run saw -> its node. (States written before 0.2 also hold
    one record per LSH band of each article; the bands now come from the article's signature.)"""
    if record.key.startswith(_DOC):
        doc_id = record.key[len(_DOC):]
        yield node_from_state(doc_id, record.value)


class _RunKeysFn(beam.CombineFn):
    """This run's nodes -> (their ids, their LSH bands): what decides which earlier articles can matter."""

    def __init__(self, settings: NearDupSettings) -> None:
        self.settings = settings

    def create_accumulator(self) -> tuple[set[str], set[bytes]]:
        return set(), set()

    def add_input(self, keys: tuple[set[str], set[bytes]], node: DocNode) -> tuple[set[str], set[bytes]]:
        keys[0].add(node.id)
        keys[1].update(band_values(node.sig, self.settings))
        return keys

    def merge_accumulators(self, accumulators: Iterable[tuple[set[str], set[bytes]]]) -> tuple[set[str], set[bytes]]:
        ids, bands = set(), set()
        for more_ids, more_bands in accumulators:
            ids |= more_ids
            bands |= more_bands
        return ids, bands

    def extract_output(self, keys: tuple[set[str], set[bytes]]) -> tuple[frozenset[str], frozenset[bytes]]:
        return frozenset(keys[0]), frozenset(keys[1])


def _may_matter(node: DocNode, keys: tuple[frozenset[str], frozenset[bytes]], settings: NearDupSettings) -> bool:
    ids, bands = keys
    return node.id in ids or not bands.isdisjoint(band_values(node.sig, settings))


def _route(node: DocNode, plan: ClusterPlan) -> Iterator[Any]:
    """A node of a cluster of its own is a cluster already; the nodes of larger clusters leave tagged, keyed by
    their cluster, to be grouped."""
    label = plan.labels.get(node.id)
    if label is None:
        yield node.id, [node]
    else:
        yield TaggedOutput(_JOINED, (label, node))


def _plan(nodes: list[DocNode], settings: NearDupSettings) -> ClusterPlan:
    return plan_clusters([n for n in nodes if not n.prior], [n for n in nodes if n.prior], settings)


class NearDedup(beam.PTransform):
    """Groups of exact copies (+ what earlier runs saw) -> groups to emit, marked; tagged `state`: the
    StateRecords this run adds.

    1. each group becomes a node with a MinHash signature; the run's node ids and LSH bands, combined into
       one small set, pick from the state the earlier articles that could matter (same URL, or a shared band);
    2. those and this run's nodes, without their text (about 0.7 KB a node), meet in one place where
       plan_clusters matches URLs with earlier runs' (same text: already seen; changed text: a revision)
       and finds the clusters: LSH band buckets, each member verified (estimated Jaccard >= threshold)
       against its bucket's first member and its predecessor, then a fixed number of rounds of min-label
       propagation (never all pairs);
    3. with that plan as a side input (it lists only the clusters that join something), the groups of
       larger clusters (with their text) are grouped by cluster, and resolve_cluster picks what to emit.

    The text crosses one shuffle, and only for copies; the per-band fan-out (32 elements a node) never leaves
    memory. Fixed rounds bound a chain of copies to `rounds` hops: a longer one may be split into two clusters (two
    representatives, never a wrong merge), which costs recall, not precision."""

    def __init__(self, settings: NearDupSettings, flag_duplicates: bool, prior: beam.PCollection | None,
                 now: str) -> None:
        super().__init__()
        self.settings, self.flag, self.prior, self.now = settings, flag_duplicates, prior, now

    def expand(self, groups: beam.PCollection) -> beam.PCollection:
        settings = self.settings
        nodes = groups | "Node" >> beam.Map(node_of, settings)
        light = nodes | "WithoutText" >> beam.Map(lambda n: replace(n, group=None))
        prior = self.prior if self.prior is not None else groups.pipeline | "NoState" >> beam.Create([])
        run_keys = light | "RunKeys" >> beam.CombineGlobally(_RunKeysFn(settings))
        relevant = (
            prior
            | "PriorNodes" >> beam.FlatMap(_prior_node)
            | "MayMatter" >> beam.Filter(_may_matter, beam.pvalue.AsSingleton(run_keys), settings)
        )
        plan = beam.pvalue.AsSingleton(
            (light, relevant)
            | "AllNodes" >> beam.Flatten()
            | "Together" >> beam.combiners.ToList()
            | "Plan" >> beam.Map(_plan, settings)
        )
        routed = nodes | "Route" >> beam.FlatMap(_route, plan).with_outputs(_JOINED, main="alone")
        joined = routed[_JOINED] | "Clusters" >> beam.GroupByKey()
        return (
            (routed.alone, joined)
            | "AllClusters" >> beam.Flatten()
            | "Resolve" >> beam.ParDo(ResolveClusterDoFn(self.flag, self.now), plan)
            .with_outputs(STATE, main="groups")
        )


class ResolveClusterDoFn(beam.DoFn):
    """A cluster's nodes (with their groups) -> the groups to emit, counted, and (tagged `state`) what the
    state keeps of them."""

    def __init__(self, flag_duplicates: bool, now: str) -> None:
        self.flag, self.now = flag_duplicates, now
        self.duplicates = counter("duplicates")
        self.already_seen = counter("already_seen")
        self.revisions = counter("revisions")

    def process(self, item: tuple[str, Iterable[DocNode]], plan: ClusterPlan) -> Iterator[Any]:
        label, with_groups = item
        nodes = list(with_groups)
        if label in plan.clusters:
            groups = {node.id: node.group for node in nodes}
            nodes = [replace(node, group=groups[node.id]) if node.id in groups else node
                     for node in plan.clusters[label]]
        resolution: Resolution = resolve_cluster(nodes, self.flag)
        self.duplicates.inc(resolution.duplicates)
        self.already_seen.inc(resolution.already_seen)
        for group in resolution.emitted:
            if group.revision > 1 and group.duplicate_of is None:
                self.revisions.inc()
            yield group
        for node, revision in resolution.remembered:
            yield TaggedOutput(STATE, StateRecord(_DOC + node.id, self.now, state_value(node, revision)))


class Deduplicate(beam.PTransform):
    """Articles -> DedupResults to tag and emit (tagged `state`: records for the state log)."""

    def __init__(self, settings: NearDupSettings, flag_duplicates: bool = False,
                 prior: beam.PCollection | None = None, now: str = "1970-01-01T00:00:00Z") -> None:
        super().__init__()
        self.settings, self.flag, self.prior, self.now = settings, flag_duplicates, prior, now

    def expand(self, articles: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            articles
            | "Exact" >> ExactGroups()
            | "Near" >> NearDedup(self.settings, self.flag, self.prior, self.now)
        )

