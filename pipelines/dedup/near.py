"""Near-duplicate rules: MinHash signatures of word shingles, LSH band keys, verified edges and cluster resolution."""

from __future__ import annotations

import base64
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
from datasketch import MinHashLSH

from connectors.urls import event_id_for
from pipelines.dedup import (
    ORDER_EVENT_ID,
    ORDER_FETCHED,
    ORDER_PUBLISHED,
    fingerprint_from,
    normalize_text,
    representative_order,
)
from pipelines.dedup.revisions import fact_changes, facts_of, same_story_facts
from schemas.records import Article, DedupResult

DEFAULT_THRESHOLD = 0.5
DEFAULT_NUM_PERM = 128
DEFAULT_SHINGLE = 5
DEFAULT_ROUNDS = 3
# Signature values are below 2**32, so a signature packs into 4 bytes per permutation.
_SIG_DTYPE = np.dtype("<u4")


@dataclass(frozen=True)
class NearDupSettings:
    """How near is a duplicate: Jaccard threshold, signature size, shingle width, propagation rounds."""

    threshold: float = DEFAULT_THRESHOLD
    num_perm: int = DEFAULT_NUM_PERM
    shingle: int = DEFAULT_SHINGLE
    rounds: int = DEFAULT_ROUNDS

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], got {self.threshold}")
        if self.rounds < 1:
            raise ValueError("near-duplicate propagation needs at least one round")

    @property
    def bands(self) -> tuple[int, int]:
        """(bands, rows) that datasketch's LSH picks for this threshold, weighting a missed pair 9 times a false
        candidate: every candidate is verified on its signatures, so a false one costs a comparison, a miss is lost."""
        return _lsh_shape(self.threshold, self.num_perm)


@lru_cache(maxsize=32)
def _lsh_shape(threshold: float, num_perm: int) -> tuple[int, int]:
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.1, 0.9))
    return lsh.b, lsh.r


_SPACE = np.uint32(ord(" "))
# Shingles are hashed as polynomials of their code points modulo 2**64. The base is odd, so it has an inverse
# and the hash of any slice comes from two prefix sums: numpy hashes every shingle without a Python call each.
_BASE = 0x9E3779B97F4A7C15
_BASE_INVERSE = pow(_BASE, -1, 1 << 64)


@lru_cache(maxsize=4)
def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """_BASE**i and _BASE**-i modulo 2**64 for i < size."""
    powers, inverses = np.full(size, _BASE, np.uint64), np.full(size, _BASE_INVERSE, np.uint64)
    powers[0] = inverses[0] = 1
    return np.cumprod(powers), np.cumprod(inverses)


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finalizer: every bit of the result depends on every bit of h."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def shingle_hashes(normalized: str, width: int = DEFAULT_SHINGLE) -> np.ndarray:
    """32-bit hashes of the word shingles of a text normalized with normalize_text (words joined by single
    spaces); a text shorter than one shingle is one shingle. A shingle that recurs recurs in the hashes."""
    points = np.frombuffer(normalized.encode("utf-32-le"), np.uint32)
    size = len(points)
    powers, inverses = _powers(max(1 << 16, 1 << size.bit_length()))
    prefix = np.zeros(size + 1, np.uint64)
    np.cumsum(points * powers[:size], out=prefix[1:])
    gaps = np.flatnonzero(points == _SPACE)
    starts, ends = np.concatenate(([0], gaps + 1)), np.concatenate((gaps, [size]))
    count = max(1, len(starts) - width + 1)
    starts, ends = starts[:count], ends[len(ends) - count:]
    return (_fmix64((prefix[ends] - prefix[starts]) * inverses[starts]) >> np.uint64(32)).astype(np.uint32)


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of the permutations h -> a*h + b modulo 2**32 (a odd, so a bijection), from a fixed seed so every
    worker and every run agrees. Drawn as datasketch's "affine32" scheme draws them, but here, so that an
    upgrade of datasketch cannot change stored signatures' meaning."""
    rng = np.random.RandomState(1)
    a = rng.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = rng.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a[:, np.newaxis], b[:, np.newaxis]


DEFAULT_SETTINGS = NearDupSettings()


def normalized_signature(normalized: str, settings: NearDupSettings = DEFAULT_SETTINGS) -> bytes:
    """MinHash signature of a normalized text's shingles, packed as bytes. The values are kept in the state, so
    every run and every worker must compute the same ones (tests/test_dedup_near.py pins them)."""
    a, b = _permutations(settings.num_perm)
    values = a * shingle_hashes(normalized, settings.shingle)  # (permutation, shingle), wrapping modulo 2**32
    values += b
    return values.min(axis=1).astype(_SIG_DTYPE).tobytes()


def signature(text: str, settings: NearDupSettings = DEFAULT_SETTINGS) -> bytes:
    """MinHash signature of a text's word shingles, packed as bytes."""
    return normalized_signature(normalize_text(text), settings)


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two signatures: the share of permutations whose minimum agrees."""
    left, right = np.frombuffer(a, _SIG_DTYPE), np.frombuffer(b, _SIG_DTYPE)
    return float(np.count_nonzero(left == right)) / len(left)


def encode_signature(sig: bytes) -> str:
    return base64.b64encode(sig).decode("ascii")


def decode_signature(text: str) -> bytes:
    return base64.b64decode(text)


@dataclass(frozen=True)
class DocNode:
    """One article (with its exact copies) or one article an earlier run saw, as a node of the copy graph.

    `prior` nodes come from the state; `seen` marks a node of this run whose URL and text an earlier run
    already had (it counts as prior: never emitted again). `cluster` is the id an earlier run gave it.
    `facts` are the tagged facts of the version emitted under it (revisions.facts_of; None: never emitted),
    `event` the event id that version was emitted under when not its own (a revision of another URL's event),
    and `before` the facts of the earlier version at its URL that this node's changed text revises."""

    id: str
    order: tuple
    sig: bytes
    fingerprint: str
    url: str
    prior: bool = False
    seen: bool = False
    cluster: str | None = None
    revision: int = 1
    facts: dict | None = None
    event: str | None = None
    before: dict | None = None
    group: DedupResult | None = field(default=None, compare=False)

    @property
    def event_id(self) -> str:
        """The event this node's version was (or is) emitted under."""
        return self.event or self.id

    @property
    def rank(self) -> tuple:
        """Label order: what earlier runs emitted first (a story's id never changes), then representative_order."""
        return (not self.prior, self.order)


def node_of(group: DedupResult, settings: NearDupSettings = DEFAULT_SETTINGS) -> DocNode:
    """A node for this run's group of exact copies, keyed by its representative's event id. The text is
    normalized once, for its signature and its fingerprint both."""
    article = group.representative
    normalized = normalize_text(article.text)
    fingerprint = fingerprint_from(article, normalized)
    order = representative_order(article)
    return DocNode(id=order[ORDER_EVENT_ID], order=order, sig=normalized_signature(normalized, settings),
                   fingerprint=fingerprint, url=article.url, group=group)


def bucket_edges(members: Iterable[DocNode], threshold: float) -> Iterator[tuple[DocNode, DocNode]]:
    """Verified edges (later, earlier) of one LSH bucket, in O(n): every member is checked against the
    bucket's first member and against its predecessor, never against all others. A pair that only
    meets here through a third member is left to other buckets or to label propagation."""
    ordered = sorted(members, key=lambda n: n.rank)
    if len(ordered) < 2:
        return
    anchor = ordered[0]
    for previous, current in itertools.pairwise(ordered):
        if similarity(current.sig, anchor.sig) >= threshold:
            yield current, anchor
        if previous is not anchor and similarity(current.sig, previous.sig) >= threshold:
            yield current, previous


def propagate(edges: Iterable[tuple[str, str]], ranks: dict[str, tuple], rounds: int) -> dict[str, tuple]:
    """Min-label propagation for a fixed number of rounds: every node ends with the smallest rank within
    `rounds` hops, exact for clusters of that diameter."""
    neighbours: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    labels = {n: ranks[n] for n in neighbours}
    for _ in range(rounds):
        labels = {n: min([labels[n], *(labels[m] for m in neighbours[n])]) for n in neighbours}
    return labels


@dataclass(frozen=True)
class Resolution:
    """What one cluster of copies gives: the groups to emit (marked), and how many copies it folded."""

    emitted: tuple[DedupResult, ...]
    duplicates: int
    already_seen: int
    remembered: tuple[tuple[DocNode, int], ...]


def resolve_cluster(nodes: Iterable[DocNode], flag_duplicates: bool,
                    tag: Callable[[Article], Any] | None = None) -> Resolution:
    """One cluster: the head (first by rank) is the representative; every other article of this run is a
    duplicate of it. A head from an earlier run was emitted then, so nothing of its cluster is emitted
    again as a representative, except revisions of the story (see _revisions). `tag` gives an article's
    TagResult: the facts a revision is told by, kept in the state (without it, only changed text at an
    earlier URL is a revision). `remembered` holds this run's nodes, with the cluster id they now belong to
    and the last revision emitted under their id (0: never emitted), for the state."""
    ordered = sorted(nodes, key=lambda n: n.rank)
    head = ordered[0]
    cluster_id = head.cluster or head.id
    current = [n for n in ordered if not n.prior or n.seen]
    new = [n for n in current if not n.seen]
    articles = [a for n in current for a in ((n.group.representative, *n.group.duplicates) if n.group else ())]
    emitted: list[DedupResult] = []
    versions: dict[str, DocNode] = {}  # this run's nodes emitted, as the state keeps them
    if not head.prior:
        tags = tag(head.group.representative) if tag else None
        facts = facts_of(tags) if tags is not None else None
        changes = _changes(head.before, facts) if head.revision > 1 else ()
        versions[head.id] = replace(head, facts=facts)
        # This run's later copies whose facts differ from the head's are the story's next revisions too.
        revised = list(_revisions(ordered, [n for n in new if n is not head], cluster_id, tag, [versions[head.id]]))
        revised_ids = {version.id for _group, version in revised}
        copies = tuple(a for n in current if n.id not in revised_ids for a in (
            (*n.group.duplicates,) if n is head else (n.group.representative, *n.group.duplicates)))
        emitted.append(replace(head.group, duplicates=tuple(sorted(copies, key=representative_order)),
                               revision=head.revision, cluster_id=cluster_id, tags=tags, changes=changes,
                               event_id=head.event))
    else:
        revised = list(_revisions(ordered, new, cluster_id, tag))
    for group, version in revised:
        emitted.append(group)
        versions[version.id] = version
    duplicates = len(articles) - len(emitted)
    if flag_duplicates:
        emitted_ids = {cluster_id} | {event_id_for(g.representative.canonical_url) for g in emitted}
        for node in new:
            for article in (node.group.representative, *node.group.duplicates):
                article_id = event_id_for(article.canonical_url)
                if article_id in emitted_ids:
                    continue
                emitted_ids.add(article_id)
                emitted.append(DedupResult(article, (), revision=node.revision if article_id == node.id else 1,
                                           duplicate_of=cluster_id, cluster_id=cluster_id))
    emitted_ids = {event_id_for(g.representative.canonical_url) for g in emitted}
    remembered = tuple(
        (replace(versions[n.id], cluster=cluster_id), versions[n.id].revision) if n.id in versions else
        (replace(n, cluster=cluster_id, facts=n.facts if n.seen else n.before),
         n.revision if n.seen or n.id in emitted_ids else n.revision - 1)
        for n in current)
    return Resolution(tuple(emitted), duplicates, sum(1 for n in current if n.seen), remembered)


def _changes(before: dict | None, facts: dict | None) -> tuple[str, ...]:
    """What a revision changed: the facts that differ, or only its text."""
    return tuple((fact_changes(before, facts) if facts is not None else []) or ["text"])


def _revisions(ordered: list[DocNode], new: list[DocNode], cluster_id: str,
               tag: Callable[[Article], Any] | None,
               emitted: Iterable[DocNode] = ()) -> Iterator[tuple[DedupResult, DocNode]]:
    """This run's articles of a story already emitted (by an earlier run, or as `emitted` by this one) that are
    news, each as its group to emit and its node as the state keeps it, in rank order. The rule: changed text
    at a URL an earlier run emitted is that event's next revision; a copy at another URL is a revision of the
    story's event only when its figures or conflict flag (revisions.TELLING) differ from those of every version
    emitted so far, and is folded otherwise."""
    versions = [n for n in ordered if n.prior and not n.seen and n.facts is not None]
    versions += [n for n in emitted if n.facts is not None]
    for node in new:
        tags = tag(node.group.representative) if tag else None
        facts = facts_of(tags) if tags is not None else None
        if node.revision > 1:  # changed text at a URL an earlier run emitted
            event_id, before = node.event_id, node.before
        elif facts is None or not versions or any(same_story_facts(v.facts, facts) for v in versions):
            continue
        else:
            latest = max((v for v in versions if v.event_id == cluster_id), default=None,
                         key=lambda v: v.revision) or max(versions, key=lambda v: v.revision)
            event_id, before = latest.event_id, latest.facts
        revision = max([node.revision, *(v.revision + 1 for v in versions if v.event_id == event_id)])
        changes = _changes(before, facts)
        version = replace(node, revision=revision, facts=facts, event=None if event_id == node.id else event_id)
        versions.append(version)
        yield replace(node.group, revision=revision, cluster_id=cluster_id, tags=tags, changes=changes,
                      event_id=event_id), version


def state_value(node: DocNode, emitted_revision: int) -> dict:
    """What the state keeps of a node: enough to match, order and verify it in later runs (no text)."""
    published, fetched = node.order[ORDER_PUBLISHED] or None, node.order[ORDER_FETCHED]
    value = {"url": node.url, "fp": node.fingerprint, "sig": encode_signature(node.sig), "pub": published,
             "fetched": fetched, "rev": emitted_revision, "cluster": node.cluster}
    # The facts of the version emitted under the node, and the event it went out as when not its own.
    value.update((k, v) for k, v in (("facts", node.facts), ("event", node.event)) if v is not None)
    return value


def node_from_state(doc_id: str, value: dict) -> DocNode:
    """A node for what an earlier run saw, from its state value."""
    published = value.get("pub")
    order = (published is None, published or "", "~", value["fetched"], doc_id, value["url"], "")
    return DocNode(id=doc_id, order=order, sig=decode_signature(value["sig"]), fingerprint=value["fp"],
                   url=value["url"], prior=True, cluster=value.get("cluster"), revision=int(value.get("rev", 0)),
                   facts=value.get("facts"), event=value.get("event"))


def match_prior(node: DocNode, prior: DocNode | None) -> DocNode:
    """This run's node against what an earlier run saw at the same URL: the same text is already seen
    (it takes the earlier place and is not emitted again, with this run's signature of that text); changed text
    is a new revision of the event."""
    if prior is None:
        return node
    if prior.fingerprint == node.fingerprint:
        return replace(prior, seen=True, group=node.group, sig=node.sig)
    return replace(node, revision=prior.revision + 1, before=prior.facts, event=prior.event)


@lru_cache(maxsize=32)
def _band_slices(bands: int, rows: int) -> tuple[tuple[bytes, int, int], ...]:
    """Per band: its number as a prefix, and where its rows lie in a packed signature."""
    width = rows * _SIG_DTYPE.itemsize
    return tuple((bytes((band,)), band * width, (band + 1) * width) for band in range(bands))


def band_values(sig: bytes, settings: NearDupSettings = DEFAULT_SETTINGS) -> list[bytes]:
    """LSH band keys of a signature, raw (band number, then its rows): two signatures share one iff some band
    of rows agrees entirely."""
    return [prefix + sig[start:end] for prefix, start, end in _band_slices(*settings.bands)]


@dataclass(frozen=True)
class ClusterPlan:
    """Where this run's nodes belong. Only clusters that join something are listed: `labels` maps the id of
    each of their nodes to the cluster's label (the head's id), `clusters` a label to the cluster's nodes
    (without their groups; earlier runs' nodes included), head first. A node not listed is a cluster of its
    own that no earlier run saw (most nodes of most runs): it needs nothing but itself to be resolved."""

    labels: dict[str, str]
    clusters: dict[str, tuple[DocNode, ...]]


def plan_clusters(current: Iterable[DocNode], prior: Iterable[DocNode],
                  settings: NearDupSettings = DEFAULT_SETTINGS) -> ClusterPlan:
    """This run's nodes (one per group of exact copies) against what earlier runs saw -> the clusters.

    A node whose id (its representative's URL) an earlier run saw is matched with that record (match_prior:
    already seen, or a revision); an earlier article enters the graph when it shares an LSH band with one of
    this run's nodes. Then find_clusters. Earlier articles that neither match nor share a band are left out,
    so `prior` may be all of the state or only what could matter (what the pipeline hands in)."""
    prior_by_id = {node.id: node for node in prior}
    graph: dict[str, DocNode] = {}
    # Each node's bands, worked out once here for find_clusters too.
    banded: dict[str, list[bytes]] = {}
    bands: set[bytes] = set()
    matched: set[str] = set()  # nodes an earlier run saw at their URL: already seen, or a revision
    for node in current:
        banded[node.id] = values = band_values(node.sig, settings)
        bands.update(values)
        earlier = prior_by_id.pop(node.id, None)
        if earlier is not None:
            matched.add(node.id)
        graph[node.id] = match_prior(node, earlier)
    for node in prior_by_id.values():
        values = band_values(node.sig, settings)
        if not bands.isdisjoint(values):
            graph[node.id], banded[node.id] = node, values
    joined = [c for c in find_clusters(graph.values(), settings, banded) if len(c) > 1 or c[0].id in matched]
    return ClusterPlan(labels={node.id: cluster[0].id for cluster in joined for node in cluster},
                       clusters={cluster[0].id: tuple(cluster) for cluster in joined})


@dataclass(frozen=True)
class Copy:
    """What exact folding needs of one article: its URL key, its GUID key (the feed's URL and the entry's
    GUID, or the URL key where either is missing) and its node as an article alone (node_of a singleton)."""

    url_key: str
    guid_key: str
    node: DocNode


def first_copy(members: Iterable[Copy]) -> Copy:
    return min(members, key=lambda c: c.node.order)


def fold_exact(copies: Iterable[Copy]) -> list[list[Copy]]:
    """Sets of exact copies: articles with one URL key, then sets whose first article (by representative_order)
    has one GUID key, then sets whose first article has one text fingerprint. Each set is one group of
    copies (merge_groups of its articles), whose node is its first article's."""
    sets = [[copy] for copy in copies]
    for key in (lambda c: c.url_key, lambda c: c.guid_key, lambda c: c.node.fingerprint):
        merged: dict[str, list[Copy]] = {}
        for members in sets:
            merged.setdefault(key(first_copy(members)), []).extend(members)
        sets = list(merged.values())
    return sets


@dataclass(frozen=True)
class CopyPlan:
    """Where this run's articles go. `labels` maps the URL key of every article that is not alone (it has
    exact copies, or its group's cluster joins something) to its cluster's label; `clusters` maps the labels
    of clusters that join something to their nodes, as ClusterPlan does. An article not listed is a cluster
    of its own that no earlier run saw: it needs nothing but itself to be resolved."""

    labels: dict[str, str]
    clusters: dict[str, tuple[DocNode, ...]]


def plan_copies(copies: Iterable[Copy], prior: Iterable[DocNode],
                settings: NearDupSettings = DEFAULT_SETTINGS) -> CopyPlan:
    """This run's articles against what earlier runs saw: exact sets (fold_exact), then plan_clusters of
    the sets' nodes."""
    sets = fold_exact(copies)
    clusters = plan_clusters([first_copy(members).node for members in sets], prior, settings)
    labels: dict[str, str] = {}
    for members in sets:
        head = first_copy(members).node.id
        label = clusters.labels.get(head, head if len(members) > 1 else None)
        if label is not None:
            labels.update((copy.url_key, label) for copy in members)
    return CopyPlan(labels, clusters.clusters)


def find_clusters(nodes: Iterable[DocNode], settings: NearDupSettings = DEFAULT_SETTINGS,
                  banded: dict[str, list[bytes]] | None = None) -> list[list[DocNode]]:
    """The near-duplicate clusters of these nodes (band buckets, verified edges, fixed rounds of label
    propagation): clusters, each sorted by rank, the head first. `banded` may give nodes' bands already
    worked out (band_values), by node id."""
    banded = banded or {}
    by_id = {n.id: n for n in nodes}
    # Most bands hold one node: a list is made only for a band that a second node shares.
    first: dict[bytes, DocNode] = {}
    shared: dict[bytes, list[DocNode]] = {}
    for node in by_id.values():
        for band in banded.get(node.id) or band_values(node.sig, settings):
            other = first.setdefault(band, node)
            if other is not node:
                shared.setdefault(band, [other]).append(node)
    edges = {(a.id, b.id) for members in shared.values() for a, b in bucket_edges(members, settings.threshold)}
    labels = propagate(edges, {i: n.rank for i, n in by_id.items()}, settings.rounds)
    clusters: dict[str, list[DocNode]] = defaultdict(list)
    for node in by_id.values():
        clusters[labels[node.id][1][ORDER_EVENT_ID] if node.id in labels else node.id].append(node)
    return sorted((sorted(c, key=lambda n: n.rank) for c in clusters.values()), key=lambda c: c[0].rank)
