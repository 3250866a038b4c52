"""Deduplication in Beam: the batch stage (exact and near copies, across runs through the state) and the
streaming one (keyed state with expiry timers)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import apache_beam as beam
from apache_beam.coders import FloatCoder, StrUtf8Coder
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms import userstate
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.utils.timestamp import Duration

from connectors.state import StateLog, StateRecord, recency
from pipelines.beam import BatchingDoFn, counter
from pipelines.beam.tag import shared_tagger
from pipelines.dedup import article_key, fingerprint, merge_groups, singleton
from pipelines.dedup.near import (
    Copy,
    CopyPlan,
    DocNode,
    NearDupSettings,
    Resolution,
    band_values,
    first_copy,
    fold_exact,
    node_from_state,
    node_of,
    plan_copies,
    resolve_cluster,
    state_value,
)
from pipelines.dedup.revisions import fact_changes, facts_of
from pipelines.tagging import ConflictTagger
from schemas.records import Article, DedupResult, TagResult

STATE_NAMESPACE = "dedup"


STATE = "state"


_DOC = "doc:"


_JOINED = "joined"


def copy_of(node: DocNode, keep_text: bool = False) -> Copy:
    """The exact-folding keys of the article of a node of one article (without the article, unless asked).
    Feed GUIDs are unique only within their feed, so the GUID key is the feed's URL and the GUID; an article
    without one keeps its URL key."""
    article = node.group.representative
    url_key = article_key(article)
    guid = f"guid:{article.feed_url}|{article.guid}" if article.guid and article.feed_url else "url:" + url_key
    return Copy(url_key, guid, node if keep_text else replace(node, group=None))


class ArticleNodesDoFn(BatchingDoFn):
    """Article -> its DocNode (node_of), made BATCH at a time.

    Fused after extraction, a node made between two extractions took 0.35-0.42 ms on real pages and one made
    right after the last of a batch 0.13-0.2 ms: extraction evicts the signature's working set from the
    CPU's caches."""

    BATCH = 64

    def __init__(self, settings: NearDupSettings) -> None:
        self.settings = settings

    def process_one(self, article: Article) -> Iterator[DocNode]:
        yield node_of(singleton(article), self.settings)


class CopiesCombineFn(beam.combiners.ToListCombineFn):
    """Nodes -> one list of their copies without text (copy_of), made as the nodes are combined rather than by a
    step of their own."""

    def add_input(self, copies: list[Copy], node: DocNode) -> list[Copy]:
        copies.append(copy_of(node))
        return copies


def _newest(records: Iterable[StateRecord]) -> StateRecord:
    return max(records, key=recency)


class ReadDedupState(beam.PTransform):
    """The committed segments listed when the pipeline was built -> newest StateRecord per key within the
    retention window. Segments are read by a worker each (a vanished one is skipped), never by the launcher."""

    def __init__(self, root: str, segments: list[str], cutoff: str | None) -> None:
        super().__init__()
        self.root, self.segments, self.cutoff = root, segments, cutoff

    def expand(self, pipeline: beam.pvalue.PBegin) -> beam.PCollection:
        return (
            pipeline
            | "Segments" >> beam.Create(self.segments)
            | "Spread" >> beam.Reshuffle()
            | "Read" >> beam.FlatMap(_article_records, self.root, self.cutoff)
            | "Newest" >> beam.CombinePerKey(_newest)
            | "Records" >> beam.Values()
        )


def _article_records(path: str, root: str, cutoff: str | None) -> Iterator[tuple[str, StateRecord]]:
    """A segment's article records within the retention window, by key."""
    for record in StateLog(root, STATE_NAMESPACE).records([path]):
        if cutoff is None or record.time >= cutoff:
            yield record.key, record


def _prior_node(record: StateRecord) -> DocNode:
    """A state record of an article an earlier run saw -> its node."""
    doc_id = record.key[len(_DOC):]
    return node_from_state(doc_id, record.value)


def _run_keys(copies: list[Copy], settings: NearDupSettings) -> tuple[frozenset[str], frozenset[bytes]]:
    """This run's articles -> (their node ids, their LSH bands): what decides which earlier articles can matter."""
    return (frozenset(copy.node.id for copy in copies),
            frozenset(band for copy in copies for band in band_values(copy.node.sig, settings)))


def _if_it_may_matter(record: StateRecord, keys: tuple[frozenset[str], frozenset[bytes]],
                      settings: NearDupSettings) -> Iterator[DocNode]:
    """The node of an earlier run's article, if it may matter to this run's: the same id, or a shared band."""
    node = _prior_node(record)
    ids, bands = keys
    if node.id in ids or not bands.isdisjoint(band_values(node.sig, settings)):
        yield node


def _route(node: DocNode, plan: CopyPlan) -> Iterator[Any]:
    """An article alone is a cluster already; the articles of larger clusters (or with exact copies) leave
    tagged, keyed by their cluster, to be grouped."""
    label = plan.labels.get(article_key(node.group.representative))
    if label is None:
        yield node.id, [node]
    else:
        yield TaggedOutput(_JOINED, (label, node))


class Deduplicate(beam.PTransform):
    """Articles (+ what earlier runs saw) -> DedupResults to tag and emit, marked; tagged `state`: the lines
    of the StateRecords this run adds. No all-pairs step anywhere, and each article's text crosses at most one
    shuffle:

    1. each article gets a node: MinHash signature, fingerprint, representative_order; this run's articles,
       without their text (about 1 KB an article), are combined into one list, and its node ids and LSH bands
       pick from the state the earlier articles that could matter (same URL, or a shared band);
    2. that list and those earlier articles meet in one place where
       plan_copies folds exact copies (URL key, then feed GUID, then text fingerprint), matches URLs with
       earlier runs' (same text: already seen; changed text: a revision) and finds the clusters: LSH band
       buckets, each member verified (estimated Jaccard >= threshold) against its bucket's first member
       and its predecessor, then a fixed number of rounds of min-label propagation;
    3. with that plan as a side input (it lists only the articles that are not alone), the articles of
       larger clusters are grouped by cluster with their text, their exact copies folded again there, and
       resolve_cluster picks what to emit (of a story an earlier run emitted: only revisions, told by changed
       text at its URL or by a copy's tagged facts); an article alone is resolved where it is.

    Fixed rounds bound a chain of copies to `rounds` hops: a longer one may be split into two clusters (two
    representatives, never a wrong merge), which costs recall, not precision."""

    def __init__(self, settings: NearDupSettings, flag_duplicates: bool = False,
                 prior: beam.PCollection | None = None, now: str = "1970-01-01T00:00:00Z") -> None:
        super().__init__()
        self.settings, self.flag, self.prior, self.now = settings, flag_duplicates, prior, now

    def expand(self, articles: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        settings = self.settings
        nodes = articles | "Node" >> beam.ParDo(ArticleNodesDoFn(settings))
        # This run's articles without their text, in one list: the plan's input, and what picks the earlier
        # articles that may matter. Without defaults, the list is used as it comes: CombineGlobally's default
        # would make each stage read the whole list back once more (a side input) only to learn whether it is
        # empty. The views' defaults are what each step makes of no articles.
        together = nodes | "Together" >> beam.CombineGlobally(CopiesCombineFn()).without_defaults()
        if self.prior is None:  # nothing earlier runs saw: the plan is of this run's articles alone
            relevant: Any = []
        else:
            relevant = beam.pvalue.AsList(
                self.prior
                | "MayMatter" >> beam.FlatMap(
                    _if_it_may_matter,
                    beam.pvalue.AsSingleton(together | "RunKeys" >> beam.Map(_run_keys, settings),
                                            default_value=_run_keys([], settings)),
                    settings)
            )
        plan = beam.pvalue.AsSingleton(
            together | "Plan" >> beam.Map(plan_copies, relevant, settings),
            default_value=plan_copies([], [], settings),
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
    state keeps of them (each record as its segment line). It tags what it emits or weighs as a revision, so
    the facts go into the state; the tags travel on with the group to the events' step."""

    def __init__(self, flag_duplicates: bool, now: str) -> None:
        self.flag, self.now = flag_duplicates, now
        self.duplicates = counter("duplicates")
        self.already_seen = counter("already_seen")
        self.revisions = counter("revisions")
        self.tagger: ConflictTagger | None = None

    def setup(self) -> None:
        # The tagger tells a revision by its facts; the events' step reuses the tags of what is emitted.
        self.tagger = shared_tagger()

    def _tag(self, article: Article) -> TagResult:
        return self.tagger.tag(article.title, article.text, article.language)

    def process(self, item: tuple[str, Iterable[DocNode]], plan: CopyPlan) -> Iterator[Any]:
        label, articles = item  # nodes of one article each
        nodes = list(articles)
        if len(nodes) > 1:  # (one article, most often one alone, has nothing to fold)
            nodes = [replace(first_copy(members).node, group=merge_groups(copy.node.group for copy in members))
                     for members in fold_exact(copy_of(node, keep_text=True) for node in nodes)]
        if label in plan.clusters:
            groups = {node.id: node.group for node in nodes}
            planned = plan.clusters[label]
            unplanned = set(groups) - {node.id for node in planned}
            if unplanned:  # the plan and this fold disagree: fail loudly rather than lose the articles
                raise RuntimeError(f"cluster {label}: groups {sorted(unplanned)} are not in the run's plan")
            nodes = [replace(node, group=groups[node.id]) if node.id in groups else node for node in planned]
        resolution: Resolution = resolve_cluster(nodes, self.flag, self._tag)
        self.duplicates.inc(resolution.duplicates)
        self.already_seen.inc(resolution.already_seen)
        for group in resolution.emitted:
            if group.revision > 1 and group.duplicate_of is None:
                self.revisions.inc()
            yield group
        for node, revision in resolution.remembered:
            yield TaggedOutput(STATE, StateRecord(_DOC + node.id, self.now, state_value(node, revision)).to_line())


DEFAULT_EXPIRY = 30 * 24 * 3600.0


class FirstSeenDoFn(beam.DoFn):
    """(key, item) -> item the first time its key is seen, and again only once `expiry` seconds have passed.

    Keyed state remembers when a key was first seen; an event-time timer forgets it after the expiry so state
    stays bounded. Not Beam's DeduplicatePerKey: its processing-time timer spec makes the DirectRunner fail
    on a streaming pipeline with PeriodicImpulse ("... was not replaced as expected", Beam 2.77), and there the
    watermark jumps ahead between ticks, firing expiry timers at once; so state is only cleared once the
    expiry has also passed on the clock (event times of polls are clock times).
    """

    FIRST_SEEN = userstate.ReadModifyWriteStateSpec("first_seen", FloatCoder())
    EXPIRY = userstate.TimerSpec("expiry", TimeDomain.WATERMARK)

    def __init__(self, expiry: float) -> None:
        self.expiry = expiry

    def process(self, keyed: tuple[str, Any], timestamp: Any = beam.DoFn.TimestampParam,
                first_seen: Any = beam.DoFn.StateParam(FIRST_SEEN),  # noqa: B008 - Beam's parameter idiom
                expiry: Any = beam.DoFn.TimerParam(EXPIRY)) -> Iterator[Any]:  # noqa: B008
        seen = first_seen.read()
        if seen is not None and float(timestamp) < seen + self.expiry:
            return
        first_seen.write(float(timestamp))
        expiry.set(timestamp + Duration(seconds=self.expiry))
        yield keyed[1]

    @userstate.on_timer(EXPIRY)
    def forget(self, first_seen: Any = beam.DoFn.StateParam(FIRST_SEEN)) -> None:  # noqa: B008
        seen = first_seen.read()
        if seen is not None and time.time() >= seen + self.expiry:
            first_seen.clear()


class FirstSeen(beam.PTransform):
    """Elements whose key has not been seen within `expiry` seconds, so an article still in a feed an hour
    later is not emitted again."""

    def __init__(self, key: Any, expiry: float, label: str) -> None:
        super().__init__(label)
        self.key = key
        self.expiry = expiry

    def expand(self, items: beam.PCollection) -> beam.PCollection:
        return (
            items
            | "Key" >> beam.Map(lambda item, key=self.key: (key(item), item)).with_output_types(tuple[str, Any])
            | "FirstSeen" >> beam.ParDo(FirstSeenDoFn(self.expiry))
        )


@dataclass(frozen=True)
class UrlVersion:
    """What the stream keeps of the version last emitted at a URL: when, its text's fingerprint, its
    revision and its tagged facts (revisions.facts_of). No text."""

    at: float
    fingerprint: str
    revision: int
    facts: dict[str, Any] | None

    def to_json(self) -> str:
        return json.dumps({"at": self.at, "fp": self.fingerprint, "rev": self.revision, "facts": self.facts})

    @staticmethod
    def from_json(text: str) -> UrlVersion:
        value = json.loads(text)
        return UrlVersion(value["at"], value["fp"], value["rev"], value["facts"])


def next_version(prior: UrlVersion | None, article: Article, at: float, expiry: float,
                 tag: Callable[[Article], Any]) -> tuple[DedupResult | None, UrlVersion | None]:
    """An article at a URL against the version last emitted there: (the group to emit or None, the version to
    keep or None to keep the prior). A URL not seen within `expiry` is a first version; the same text is
    nothing new; other text is the next revision of the URL's event, with what changed (its facts, or 'text')."""
    if prior is not None and at < prior.at + expiry:
        if prior.fingerprint == fingerprint(article):
            return None, None
        tags = tag(article)
        facts = facts_of(tags)
        changes = tuple(fact_changes(prior.facts, facts) or ["text"])
        revision = prior.revision + 1
        return (DedupResult(article, (), revision=revision, changes=changes, tags=tags),
                UrlVersion(at, fingerprint(article), revision, facts))
    tags = tag(article)
    return DedupResult(article, (), tags=tags), UrlVersion(at, fingerprint(article), 1, facts_of(tags))


class UrlVersionsDoFn(beam.DoFn):
    """(URL key, article) -> DedupResult by next_version, tagged (the events' step reuses the tags); the kept
    version is forgotten after the expiry, as FirstSeenDoFn's keys are."""

    VERSION = userstate.ReadModifyWriteStateSpec("version", StrUtf8Coder())
    EXPIRY = userstate.TimerSpec("expiry", TimeDomain.WATERMARK)

    def __init__(self, expiry: float) -> None:
        self.expiry = expiry
        self.tagger: Any = None

    def setup(self) -> None:
        self.tagger = shared_tagger()
        self.revisions = counter("revisions")

    def _tag(self, article: Article) -> Any:
        return self.tagger.tag(article.title, article.text, article.language)

    def process(self, keyed: tuple[str, Article], timestamp: Any = beam.DoFn.TimestampParam,
                version: Any = beam.DoFn.StateParam(VERSION),  # noqa: B008 - Beam's parameter idiom
                expiry: Any = beam.DoFn.TimerParam(EXPIRY)) -> Iterator[DedupResult]:  # noqa: B008
        kept = version.read()
        group, now_kept = next_version(UrlVersion.from_json(kept) if kept else None, keyed[1], float(timestamp),
                                       self.expiry, self._tag)
        if group is None:
            return
        if group.revision > 1:
            self.revisions.inc()
        version.write(now_kept.to_json())
        expiry.set(timestamp + Duration(seconds=self.expiry))
        yield group

    @userstate.on_timer(EXPIRY)
    def forget(self, version: Any = beam.DoFn.StateParam(VERSION)) -> None:  # noqa: B008
        kept = version.read()
        if kept and time.time() >= UrlVersion.from_json(kept).at + self.expiry:
            version.clear()


class StreamingDedup(beam.PTransform):
    """Articles -> groups to emit: by text fingerprint, the same text once within `expiry` seconds (polled
    again, or at another URL); then by canonical URL key, changed text at a URL already emitted as the next
    revision of its event. Near-duplicates need the batch stage's band grouping and are not caught here: a
    rewritten story at another URL is its own event."""

    def __init__(self, expiry: float = DEFAULT_EXPIRY) -> None:
        super().__init__()
        self.expiry = expiry

    def expand(self, articles: beam.PCollection) -> beam.PCollection:
        return (
            articles
            | "ByContent" >> FirstSeen(fingerprint, self.expiry, "ByContent")
            | "KeyByUrl" >> beam.Map(lambda a: (article_key(a), a)).with_output_types(tuple[str, Any])
            | "ByUrl" >> beam.ParDo(UrlVersionsDoFn(self.expiry))
        )
