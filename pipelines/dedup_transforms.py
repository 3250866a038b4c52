"""Beam wiring of deduplication: exact folding, near-duplicate clusters by LSH bands, and the state across runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from connectors.state import StateLog, StateRecord, recency
from pipelines.dedup import ORDER_EVENT_ID, DedupResult, article_key, content_fingerprint, merge_groups, singleton
from pipelines.neardup import (
    DocNode,
    NearDupSettings,
    Resolution,
    band_keys,
    bucket_edges,
    match_prior,
    node_from_state,
    node_of,
    resolve_cluster,
    state_value,
)
from pipelines.transforms import counter

STATE_NAMESPACE = "dedup"
STATE = "state"
_DOC, _BAND = "doc:", "band:"


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
            | "ByContent" >> DedupBy(lambda g: content_fingerprint(g.representative.text), "ByContent")
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
            | "InWindow" >> beam.Filter(lambda r: cutoff is None or r.time >= cutoff)
            | "ByKey" >> beam.Map(lambda r: (r.key, r))
            | "Newest" >> beam.CombinePerKey(_newest)
            | "Records" >> beam.Values()
        )


def _split_state(record: StateRecord) -> Iterator[Any]:
    if record.key.startswith(_DOC):
        doc_id = record.key[len(_DOC):]
        yield TaggedOutput("docs", (doc_id, node_from_state(doc_id, record.value)))
    elif record.key.startswith(_BAND):
        band, doc_id = record.key[len(_BAND):].rsplit("|", 1)
        yield TaggedOutput("bands", (band, doc_id))


def _node_bands(node: DocNode, settings: NearDupSettings) -> list[tuple[str, str]]:
    return [(band, node.id) for band in band_keys(node.sig, settings)]


def _wanted_prior(item: tuple[str, dict[str, list]]) -> Iterator[tuple[str, None]]:
    _band, joined = item
    if joined["current"]:
        for doc_id in set(joined["prior"]):
            yield doc_id, None


def _graph_node(item: tuple[str, dict[str, list]]) -> Iterator[DocNode]:
    _id, joined = item
    prior = joined["prior"][0] if joined["prior"] else None
    if joined["node"]:
        yield match_prior(joined["node"][0], prior)
    elif prior is not None and joined["wanted"]:
        yield prior


def _edges(item: tuple[str, Iterable[DocNode]], threshold: float) -> Iterator[tuple[str, tuple]]:
    _band, members = item
    for later, earlier in bucket_edges(members, threshold):
        yield f"{later.id}|{earlier.id}", (later.id, later.rank, earlier.id, earlier.rank)


def _first_labels(edge: tuple) -> Iterator[tuple[str, tuple]]:
    a, rank_a, b, rank_b = edge
    label = min(rank_a, rank_b)
    yield a, label
    yield b, label


def _spread_label(item: tuple[str, dict[str, list]]) -> Iterator[tuple[str, tuple]]:
    node, joined = item
    for label in joined["label"]:
        yield node, label
        for neighbour in joined["adjacent"]:
            yield neighbour, label


def _by_label(item: tuple[str, dict[str, list]]) -> Iterator[tuple[str, DocNode]]:
    _id, joined = item
    for node in joined["node"]:
        label = joined["label"][0] if joined["label"] else node.rank
        yield label[1][ORDER_EVENT_ID], node  # rank = (not prior, representative_order)


class NearDedup(beam.PTransform):
    """Groups of exact copies (+ what earlier runs saw) -> groups to emit, marked; tagged `state`: the
    StateRecords this run adds. No all-pairs step anywhere:

    1. each group gets a MinHash signature and LSH band keys; a CoGroupByKey of this run's band keys with
       the state's picks the earlier articles that could be copies, a second one by event id fetches them
       and matches this run's URLs with earlier ones (same text: already seen; changed text: a revision);
    2. grouping all those nodes by band key gives candidate buckets; within a bucket each member is
       verified (estimated Jaccard >= threshold) against the bucket's first member and its predecessor;
    3. a fixed number of rounds of min-label propagation over the verified edges labels each node with
       the first node within that many hops (earlier runs' articles first, then representative_order);
    4. nodes grouped by label are clusters; resolve_cluster picks what to emit.

    Fixed rounds bound the shuffles: a chain of copies longer than `rounds` hops may be split into two
    clusters (two representatives, never a wrong merge), which costs recall, not precision."""

    def __init__(self, settings: NearDupSettings, flag_duplicates: bool, prior: beam.PCollection | None,
                 now: str) -> None:
        super().__init__()
        self.settings, self.flag, self.prior, self.now = settings, flag_duplicates, prior, now

    def expand(self, groups: beam.PCollection) -> beam.PCollection:
        settings = self.settings
        nodes = groups | "Node" >> beam.Map(node_of, settings)
        prior = self.prior if self.prior is not None else groups.pipeline | "NoState" >> beam.Create([])
        split = prior | "SplitState" >> beam.FlatMap(_split_state).with_outputs("docs", "bands")

        wanted = (
            {"current": nodes | "CurrentBands" >> beam.FlatMap(_node_bands, settings), "prior": split.bands}
            | "JoinBands" >> beam.CoGroupByKey()
            | "Wanted" >> beam.FlatMap(_wanted_prior)
        )
        graph_nodes = (
            {"node": nodes | "ById" >> beam.Map(lambda n: (n.id, n)), "prior": split.docs, "wanted": wanted}
            | "JoinDocs" >> beam.CoGroupByKey()
            | "MatchPrior" >> beam.FlatMap(_graph_node)
        )
        edges = (
            graph_nodes
            | "Bands" >> beam.FlatMap(lambda n: [(b, replace(n, group=None)) for b in band_keys(n.sig, settings)])
            | "Buckets" >> beam.GroupByKey()
            | "Verify" >> beam.FlatMap(_edges, settings.threshold)
            | "OnePerPair" >> beam.CombinePerKey(min)
            | "Edges" >> beam.Values()
        )
        adjacent = edges | "Adjacent" >> beam.FlatMap(lambda e: [(e[0], e[2]), (e[2], e[0])])
        labels = edges | "FirstLabels" >> beam.FlatMap(_first_labels) | "Round1" >> beam.CombinePerKey(min)
        for number in range(2, settings.rounds + 1):
            labels = (
                {"label": labels, "adjacent": adjacent}
                | f"Join{number}" >> beam.CoGroupByKey()
                | f"Spread{number}" >> beam.FlatMap(_spread_label)
                | f"Round{number}" >> beam.CombinePerKey(min)
            )
        return (
            {"node": graph_nodes | "NodeById" >> beam.Map(lambda n: (n.id, n)), "label": labels}
            | "JoinLabels" >> beam.CoGroupByKey()
            | "ByLabel" >> beam.FlatMap(_by_label)
            | "Clusters" >> beam.GroupByKey()
            | "Resolve" >> beam.ParDo(ResolveClusterDoFn(self.flag, self.now, settings))
            .with_outputs(STATE, main="groups")
        )


class ResolveClusterDoFn(beam.DoFn):
    """A cluster's nodes -> the groups to emit, counted, and (tagged `state`) what the state keeps of them."""

    def __init__(self, flag_duplicates: bool, now: str, settings: NearDupSettings) -> None:
        self.flag, self.now, self.settings = flag_duplicates, now, settings
        self.duplicates = counter("duplicates")
        self.already_seen = counter("already_seen")
        self.revisions = counter("revisions")

    def process(self, item: tuple[str, Iterable[DocNode]]) -> Iterator[Any]:
        _label, nodes = item
        resolution: Resolution = resolve_cluster(nodes, self.flag)
        self.duplicates.inc(resolution.duplicates)
        self.already_seen.inc(resolution.already_seen)
        for group in resolution.emitted:
            if group.revision > 1 and group.duplicate_of is None:
                self.revisions.inc()
            yield group
        for node, revision in resolution.remembered:
            yield TaggedOutput(STATE, StateRecord(_DOC + node.id, self.now, state_value(node, revision)))
            for band in band_keys(node.sig, self.settings):
                yield TaggedOutput(STATE, StateRecord(f"{_BAND}{band}|{node.id}", self.now, 1))


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

