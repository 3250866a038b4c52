// sitrep dashboard: follows the server's event stream (Server-Sent Events) and draws the map, the timeline and
// the list. Every string from an event is untrusted: it reaches the page through textContent and attributes
// only, and links only when they are http(s).
(function () {
  "use strict";

  const LIST_LIMIT = 300; // events drawn in the list at once (the newest that pass the filters)
  const EVIDENCE_LIMIT = 8;
  const FAMILY_COLORS = {
    battles: "#d62728",
    explosions: "#ff7f0e",
    violence_against_civilians: "#9467bd",
    protests: "#1f77b4",
    riots: "#17becf",
    strategic_developments: "#2ca02c",
    tags: "#8c564b",
    none: "#9e9e9e",
  };
  const FAMILY_LABELS = {
    battles: "Battles",
    explosions: "Explosions / remote violence",
    violence_against_civilians: "Violence against civilians",
    protests: "Protests",
    riots: "Riots",
    strategic_developments: "Strategic developments",
    tags: "Other tags", // the cross-cutting tags (terrorism, displacement, ...) and codes this page does not know
    none: "No topic",
  };

  const state = {
    events: new Map(), // event_id -> revisions, oldest first; Map order: least recently revised first
    maxEvents: 5000,
    instance: null,
    topicLabels: new Map(),
    countries: {}, // alpha-2 -> {numeric, name}
    numericToAlpha2: new Map(),
    filters: { topic: "", country: "", language: "", conflict: false },
    status: null,
    items: new Map(), // event_id -> {li, revision count drawn}
    map: null,
    rendered: false, // whether events were drawn once (later ones are marked as they arrive)
    fresh: new Set(), // ids of events that arrived (or were revised) since the last drawing, once drawn once
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeHref(value) {
    if (typeof value !== "string") return null;
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function str(value) {
    return typeof value === "string" ? value : "";
  }

  function arr(value) {
    return Array.isArray(value) ? value : [];
  }

  // --- what an event says -------------------------------------------------------------------------------

  function latest(revisions) {
    return revisions[revisions.length - 1];
  }

  function when(event) {
    const text = str(event.published_at) || str(event.fetched_at);
    const date = text ? new Date(text) : null;
    return date && !isNaN(date) ? date : null;
  }

  function topicCodes(event) {
    return arr(event.topics).map((t) => t && str(t.code)).filter(Boolean);
  }

  function countryCodes(event) {
    const codes = arr(event.locations).map((l) => l && str(l.country_code)).filter(Boolean);
    return [...new Set(codes)];
  }

  // The top of a topic code ("battles.armed_clash" is a battle); a family this page does not know is "tags".
  function family(code) {
    const top = code.split(".")[0];
    return top in FAMILY_COLORS && top !== "none" ? top : "tags";
  }

  // The family an event is counted under on the timeline: its strongest event-type topic, else a tag, else none.
  function mainFamily(event) {
    const topics = arr(event.topics).filter((t) => t && str(t.code));
    const sorted = topics.slice().sort((a, b) => (Number(b.score) || 0) - (Number(a.score) || 0));
    const typed = sorted.find((t) => family(t.code) !== "tags");
    if (typed) return family(typed.code);
    return sorted.length ? "tags" : "none";
  }

  function countryName(code) {
    const known = state.countries[code];
    return known ? known.name : code;
  }

  function located(event) {
    return arr(event.locations).find((l) => l && typeof l.lat === "number" && typeof l.lon === "number") || null;
  }

  function matches(event) {
    const f = state.filters;
    if (f.topic && !topicCodes(event).some((c) => c === f.topic || c.startsWith(f.topic + "."))) return false;
    if (f.country && !countryCodes(event).includes(f.country)) return false;
    if (f.language && str(event.language) !== f.language) return false;
    if (f.conflict && !(event.conflict && event.conflict.is_conflict === true)) return false;
    return true;
  }

  // --- taking events ------------------------------------------------------------------------------------

  function take(event) {
    if (!event || typeof event.event_id !== "string") return;
    const id = event.event_id;
    const revision = Number.isInteger(event.revision) ? event.revision : 1;
    const held = state.events.get(id) || [];
    if (held.some((e) => (Number.isInteger(e.revision) ? e.revision : 1) === revision)) return;
    held.push(event);
    held.sort((a, b) => (a.revision || 1) - (b.revision || 1));
    state.events.delete(id);
    state.events.set(id, held);
    if (state.rendered) state.fresh.add(id);
    for (const t of arr(event.topics)) {
      if (t && str(t.code) && str(t.label)) state.topicLabels.set(t.code, t.label);
    }
    while (state.events.size > state.maxEvents) {
      const oldest = state.events.keys().next().value;
      state.events.delete(oldest);
    }
    scheduleRender();
  }

  let renderPending = false;
  function scheduleRender() {
    if (renderPending) return;
    renderPending = true;
    requestAnimationFrame(() => {
      renderPending = false;
      render();
    });
  }

  // --- the stream ---------------------------------------------------------------------------------------

  let source = null;
  function connect() {
    source = new EventSource("/events");
    source.addEventListener("open", () => setConnection("live", "live"));
    source.addEventListener("error", () => setConnection("reconnecting", "reconnecting…"));
    source.addEventListener("hello", (message) => {
      const hello = JSON.parse(message.data);
      if (state.instance && hello.instance !== state.instance) {
        // A new server: its ids start again, so forget what the old one sent and ask for everything.
        source.close();
        state.events.clear();
        state.instance = null;
        scheduleRender();
        connect();
        return;
      }
      state.instance = hello.instance;
      state.maxEvents = hello.max_events || state.maxEvents;
    });
    source.addEventListener("revision", (message) => {
      try {
        take(JSON.parse(message.data));
      } catch (e) {
        // the server sends JSON it parsed itself; a message that is not is skipped rather than stop the page
      }
    });
    source.addEventListener("status", (message) => {
      state.status = JSON.parse(message.data);
      renderStatus();
    });
  }

  function setConnection(name, text) {
    document.body.dataset.connection = name;
    $("connection").textContent = text;
  }

  // --- status line --------------------------------------------------------------------------------------

  function renderStatus() {
    const status = state.status;
    if (!status) return;
    const src = status.source || {};
    $("source").textContent = `${str(src.kind)} ${str(src.name)}`;
    const error = $("source-error");
    error.hidden = !src.error;
    error.textContent = src.error ? `source: ${src.error}` : "";
    const bad = $("bad");
    bad.hidden = !status.bad;
    $("bad-count").textContent = `${status.bad} bad message${status.bad === 1 ? "" : "s"}`;
    const list = $("bad-list");
    list.replaceChildren(
      ...arr(status.recent_bad).slice().reverse().map((b) => {
        const item = el("li");
        item.append(el("strong", null, str(b.reason)), " ", el("code", null, str(b.excerpt)));
        return item;
      }),
    );
  }

  // --- filters ------------------------------------------------------------------------------------------

  function fillSelect(select, options, selected, allLabel) {
    const wanted = [["", allLabel], ...options];
    if (selected && !options.some(([value]) => value === selected)) wanted.push([selected, `${selected} (0)`]);
    const key = JSON.stringify(wanted);
    // Options replaced under a reader's hand close the list they opened: wait until they leave it.
    if (select.dataset.key !== key && document.activeElement !== select) {
      select.dataset.key = key;
      select.replaceChildren(
        ...wanted.map(([value, label]) => {
          const option = el("option", null, label);
          option.value = value;
          return option;
        }),
      );
    }
    if (select.value !== selected) select.value = selected;
  }

  function renderFilters(all) {
    const topics = new Map();
    const countries = new Map();
    const languages = new Map();
    const bump = (counts, key) => counts.set(key, (counts.get(key) || 0) + 1);
    for (const event of all) {
      const codes = topicCodes(event);
      for (const top of new Set(codes.map((code) => code.split(".")[0]))) bump(topics, top);
      for (const code of new Set(codes)) if (code.includes(".")) bump(topics, code);
      countryCodes(event).forEach((c) => bump(countries, c));
      if (str(event.language)) bump(languages, event.language);
    }
    const topicLabel = (code) =>
      code.includes(".") ? `\u00a0\u00a0${state.topicLabels.get(code) || code}` : state.topicLabels.get(code) || FAMILY_LABELS[code] || code;
    fillSelect(
      $("filter-topic"),
      [...topics.keys()].sort().map((code) => [code, `${topicLabel(code)} (${topics.get(code)})`]),
      state.filters.topic,
      "all topics",
    );
    fillSelect(
      $("filter-country"),
      [...countries.keys()]
        .sort((a, b) => countryName(a).localeCompare(countryName(b)))
        .map((code) => [code, `${countryName(code)} (${countries.get(code)})`]),
      state.filters.country,
      "all countries",
    );
    fillSelect(
      $("filter-language"),
      [...languages.keys()].sort().map((code) => [code, `${code} (${languages.get(code)})`]),
      state.filters.language,
      "all languages",
    );
  }

  function setFilter(name, value) {
    state.filters[name] = value;
    scheduleRender();
  }

  // --- the list -----------------------------------------------------------------------------------------

  function formatTime(date) {
    return date && !isNaN(date) ? date.toISOString().slice(0, 16).replace("T", " ") + " UTC" : "no date";
  }

  function casualtyText(event) {
    const c = event.casualties || {};
    return ["killed", "injured", "abducted"]
      .filter((kind) => c[kind] && Number.isInteger(c[kind].count))
      .map((kind) => `${c[kind].count} ${kind}`)
      .join(" · ");
  }

  function evidence(event) {
    const sentences = [];
    const c = event.casualties || {};
    for (const kind of ["killed", "injured", "abducted"]) if (c[kind]) sentences.push(...arr(c[kind].evidence));
    for (const t of arr(event.topics)) if (t) sentences.push(...arr(t.evidence));
    return [...new Set(sentences.filter((s) => typeof s === "string" && s))];
  }

  function revisionBlock(revisions) {
    const block = el("details", "revisions");
    block.append(el("summary", null, `Revisions (${revisions.length}) and what changed`));
    const list = el("ol", "revision-list");
    for (const event of revisions.slice().reverse()) {
      const number = event.revision || 1;
      const item = el("li", "revision");
      item.dataset.revision = String(number);
      const head = el("div", "revision-head");
      head.append(el("strong", null, `Revision ${number}`), ` · fetched ${formatTime(event.fetched_at ? new Date(event.fetched_at) : null)}`);
      item.append(head);
      const changes = arr(event.changes).filter((c) => typeof c === "string");
      if (changes.length) {
        const ul = el("ul", "changes");
        changes.forEach((c) => ul.append(el("li", null, c)));
        item.append(ul);
      } else {
        item.append(el("div", "changes-none", number === 1 ? "first version" : "no change listed"));
      }
      const said = el("div", "revision-said", str(event.title));
      const cas = casualtyText(event);
      if (cas) said.append(el("span", "casualties", ` — ${cas}`));
      item.append(said);
      list.append(item);
    }
    block.append(list);
    return block;
  }

  function eventItem(revisions) {
    const event = latest(revisions);
    const li = el("li", "event");
    li.dataset.eventId = event.event_id;
    li.dataset.revisions = String(revisions.length);
    li.style.setProperty("--family", FAMILY_COLORS[mainFamily(event)]);

    const meta = el("div", "meta");
    meta.append(el("time", null, formatTime(when(event))));
    const src = event.source || {};
    meta.append(el("span", "source", str(src.name) || str(src.domain) || "unknown source"));
    const countries = countryCodes(event);
    if (countries.length) meta.append(el("span", "countries", countries.map(countryName).join(", ")));
    if (str(event.language)) meta.append(el("span", "language", event.language));
    if (revisions.length > 1) meta.append(el("span", "revision-count", `rev ${event.revision} · ${revisions.length} revisions`));
    li.append(meta);

    const title = el("h3", "title");
    const href = safeHref(event.canonical_url) || safeHref(event.url);
    if (href) {
      const link = el("a", null, str(event.title) || href);
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      title.append(link);
    } else {
      title.textContent = str(event.title) || "(no title)";
    }
    li.append(title);
    if (str(event.summary)) li.append(el("p", "summary", event.summary));

    const topics = el("div", "topics");
    for (const t of arr(event.topics)) {
      if (!t || !str(t.code)) continue;
      const chip = el("span", "topic", str(t.label) || t.code);
      chip.style.setProperty("--family", FAMILY_COLORS[family(t.code)] || FAMILY_COLORS.none);
      chip.title = t.code;
      topics.append(chip);
    }
    if (topics.childNodes.length) li.append(topics);

    const cas = casualtyText(event);
    if (cas) li.append(el("div", "casualties", cas));

    const sentences = evidence(event);
    if (sentences.length) {
      const box = el("details", "evidence");
      box.append(el("summary", null, `Evidence (${sentences.length} sentence${sentences.length === 1 ? "" : "s"})`));
      const ul = el("ul");
      sentences.slice(0, EVIDENCE_LIMIT).forEach((s) => ul.append(el("li", null, s)));
      box.append(ul);
      li.append(box);
    }
    if (revisions.length > 1) li.append(revisionBlock(revisions));
    return li;
  }

  function renderList(shown) {
    const list = $("events");
    const sorted = shown.slice().sort((a, b) => (when(latest(b)) || 0) - (when(latest(a)) || 0)).slice(0, LIST_LIMIT);
    const keep = new Set();
    const nodes = sorted.map((revisions) => {
      const id = latest(revisions).event_id;
      keep.add(id);
      let drawn = state.items.get(id);
      if (!drawn || drawn.count !== revisions.length || drawn.top !== latest(revisions)) {
        const li = eventItem(revisions);
        if (drawn) {
          // keep what the reader opened open
          const wasOpen = [...drawn.li.querySelectorAll("details")].filter((d) => d.open).map((d) => d.className);
          li.querySelectorAll("details").forEach((d) => (d.open = wasOpen.includes(d.className)));
        }
        if (state.fresh.delete(id)) {
          // arrived while the page was open: marked for a moment, so the eye finds it
          li.classList.add("flash");
          setTimeout(() => li.classList.remove("flash"), 2500);
        }
        drawn = { li, count: revisions.length, top: latest(revisions) };
        state.items.set(id, drawn);
      }
      return drawn.li;
    });
    for (const id of [...state.items.keys()]) if (!keep.has(id)) state.items.delete(id);
    list.replaceChildren(...nodes);
    $("empty").hidden = shown.length > 0;
    $("empty").textContent = state.events.size ? "No event passes these filters." : "Waiting for events…";
    const more = $("more");
    more.hidden = shown.length <= LIST_LIMIT;
    more.textContent = `The newest ${LIST_LIMIT} of ${shown.length} are listed.`;
  }

  // --- the map ------------------------------------------------------------------------------------------

  function setUpMap(topology) {
    const svg = d3.select("#map");
    const land = topojson.feature(topology, topology.objects.countries);
    const projection = d3.geoNaturalEarth1().fitExtent(
      [
        [4, 4],
        [956, 466],
      ],
      { type: "Sphere" },
    );
    const path = d3.geoPath(projection);
    svg.append("path").attr("class", "sphere").attr("d", path({ type: "Sphere" }));
    svg.append("path").attr("class", "graticule").attr("d", path(d3.geoGraticule10()));
    const countries = svg
      .append("g")
      .attr("class", "countries")
      .selectAll("path")
      .data(land.features)
      .join("path")
      .attr("class", "country")
      .attr("data-country", (feature) => state.numericToAlpha2.get(String(feature.id)) || null)
      .attr("d", path)
      .on("click", (e, feature) => {
        const code = state.numericToAlpha2.get(String(feature.id));
        if (code && countryCounts.get(code)) {
          state.filters.country = state.filters.country === code ? "" : code;
          scheduleRender();
        }
      });
    countries.append("title");
    const dots = svg.append("g").attr("class", "dots");
    state.map = { svg, projection, countries, dots };
  }

  let countryCounts = new Map();
  function renderMap(shown) {
    countryCounts = new Map();
    for (const revisions of shown) {
      for (const code of countryCodes(latest(revisions))) countryCounts.set(code, (countryCounts.get(code) || 0) + 1);
    }
    if (!state.map) return;
    const max = Math.max(1, ...countryCounts.values());
    const shade = d3.scaleSequential([0, max], (t) => d3.interpolateOrRd(0.3 + 0.5 * t));
    state.map.countries.each(function (feature) {
      const code = state.numericToAlpha2.get(String(feature.id));
      const count = (code && countryCounts.get(code)) || 0;
      const node = d3.select(this);
      node.style("fill", count ? shade(count) : null).classed("has-events", count > 0);
      node.classed("selected", !!code && code === state.filters.country);
      const name = (code && countryName(code)) || (feature.properties && feature.properties.name) || "";
      node.select("title").text(count ? `${name}: ${count} event${count === 1 ? "" : "s"}` : name);
    });
    const placed = shown
      .map((revisions) => {
        const event = latest(revisions);
        const place = located(event);
        const xy = place && state.map.projection([place.lon, place.lat]);
        return xy ? { event, place, xy } : null;
      })
      .filter(Boolean);
    state.map.dots
      .selectAll("circle")
      .data(placed, (d) => d.event.event_id)
      .join((enter) => enter.append("circle").attr("class", "dot").attr("r", 6).call((c) => c.append("title")))
      .attr("data-event-id", (d) => d.event.event_id)
      .attr("cx", (d) => d.xy[0])
      .attr("cy", (d) => d.xy[1])
      .style("fill", (d) => FAMILY_COLORS[mainFamily(d.event)])
      .on("click", (e, d) => {
        const item = state.items.get(d.event.event_id);
        if (item) {
          item.li.scrollIntoView({ block: "center", behavior: "smooth" });
          item.li.classList.add("flash");
          setTimeout(() => item.li.classList.remove("flash"), 1200);
        }
      })
      .select("title")
      .text((d) => `${str(d.place.name)}: ${str(d.event.title)}`);
  }

  // --- the timeline -------------------------------------------------------------------------------------

  const utcDate = d3.utcFormat("%b %d");
  const utcHourMinute = d3.utcFormat("%H:%M");
  function utcTick(date) {
    return +d3.utcDay.floor(date) === +date ? utcDate(date) : utcHourMinute(date);
  }

  function renderTimeline(shown) {
    const svg = d3.select("#timeline");
    svg.selectAll("*").remove();
    const dated = shown.map((r) => latest(r)).filter((e) => when(e));
    const legend = $("timeline-legend");
    if (!dated.length) {
      svg.append("text").attr("class", "no-data").attr("x", 480).attr("y", 115).text("No dated event yet");
      legend.replaceChildren();
      $("timeline-unit").textContent = "";
      return;
    }
    const times = dated.map(when);
    const span = d3.max(times) - d3.min(times);
    const hour = 3600e3;
    const [interval, unit] = span <= 3 * 24 * hour ? [d3.utcHour, "per hour"] : span <= 120 * 24 * hour ? [d3.utcDay, "per day"] : [d3.utcWeek, "per week"];
    $("timeline-unit").textContent = `(events ${unit}, UTC)`;
    const families = Object.keys(FAMILY_COLORS).filter((f) => dated.some((e) => mainFamily(e) === f));
    const bins = new Map();
    for (const event of dated) {
      const start = +interval.floor(when(event));
      const bin = bins.get(start) || Object.fromEntries([["start", start], ...families.map((f) => [f, 0])]);
      bin[mainFamily(event)] += 1;
      bins.set(start, bin);
    }
    const rows = [...bins.values()].sort((a, b) => a.start - b.start);
    const first = interval.floor(d3.min(times));
    const last = interval.offset(interval.floor(d3.max(times)), 1);
    const margin = { top: 10, right: 16, bottom: 28, left: 36 };
    const width = 960;
    const height = 230;
    const x = d3.scaleUtc([first, last], [margin.left, width - margin.right]);
    const stacked = d3.stack().keys(families)(rows);
    const top = d3.max(rows, (r) => families.reduce((sum, f) => sum + r[f], 0)) || 1;
    const y = d3.scaleLinear([0, top], [height - margin.bottom, margin.top]).nice();
    const barWidth = (start) => Math.max(2, x(interval.offset(new Date(start), 1)) - x(new Date(start)) - 1);
    svg
      .append("g")
      .selectAll("g")
      .data(stacked)
      .join("g")
      .style("fill", (layer) => FAMILY_COLORS[layer.key])
      .selectAll("rect")
      .data((layer) => layer.map((d) => Object.assign(d, { key: layer.key })))
      .join("rect")
      .attr("class", "bar")
      .attr("x", (d) => x(new Date(d.data.start)))
      .attr("y", (d) => y(d[1]))
      .attr("height", (d) => Math.max(0, y(d[0]) - y(d[1])))
      .attr("width", (d) => barWidth(d.data.start))
      .append("title")
      .text((d) => `${formatTime(new Date(d.data.start))}: ${d[1] - d[0]} ${FAMILY_LABELS[d.key]}`);
    svg
      .append("g")
      .attr("class", "axis")
      .attr("transform", `translate(0,${height - margin.bottom})`)
      .call(d3.axisBottom(x).ticks(8).tickFormat(utcTick));
    svg
      .append("g")
      .attr("class", "axis")
      .attr("transform", `translate(${margin.left},0)`)
      .call(d3.axisLeft(y).ticks(Math.min(5, top)).tickFormat(d3.format("d")));
    legend.replaceChildren(
      ...families.map((f) => {
        const item = el("span", "legend-item", FAMILY_LABELS[f]);
        item.style.setProperty("--family", FAMILY_COLORS[f]);
        return item;
      }),
    );
  }

  // --- all of it ----------------------------------------------------------------------------------------

  function render() {
    const all = [...state.events.values()];
    const latestAll = all.map(latest);
    renderFilters(latestAll);
    const shown = all.filter((revisions) => matches(latest(revisions)));
    const revisionCount = all.reduce((sum, r) => sum + r.length, 0);
    $("counts").textContent = `${all.length} event${all.length === 1 ? "" : "s"} · ${revisionCount} revision${revisionCount === 1 ? "" : "s"}`;
    const f = state.filters;
    const filtered = f.topic || f.country || f.language || f.conflict;
    $("filter-conflict").checked = f.conflict;
    $("shown").textContent = filtered ? `${shown.length} of ${all.length} shown` : "";
    $("clear-filters").disabled = !filtered;
    document.body.dataset.events = String(all.length);
    document.body.dataset.shown = String(shown.length);
    renderList(shown);
    renderMap(shown);
    renderTimeline(shown);
    state.rendered = state.rendered || all.length > 0;
    state.fresh.clear();
  }

  async function loadJSON(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  function start() {
    for (const name of ["topic", "country", "language"]) $(`filter-${name}`).addEventListener("blur", scheduleRender);
    $("filter-topic").addEventListener("change", (e) => setFilter("topic", e.target.value));
    $("filter-country").addEventListener("change", (e) => setFilter("country", e.target.value));
    $("filter-language").addEventListener("change", (e) => setFilter("language", e.target.value));
    $("filter-conflict").addEventListener("change", (e) => setFilter("conflict", e.target.checked));
    $("clear-filters").addEventListener("click", () => {
      state.filters = { topic: "", country: "", language: "", conflict: false };
      scheduleRender();
    });
    connect();
    Promise.all([loadJSON("/api/countries"), loadJSON("/data/countries-110m.json")])
      .then(([codes, topology]) => {
        state.countries = codes;
        for (const [alpha2, info] of Object.entries(codes)) state.numericToAlpha2.set(String(info.numeric), alpha2);
        setUpMap(topology);
        state.items.clear(); // list items drawn before the country names arrived show codes: draw them again
        document.body.dataset.map = "drawn";
        scheduleRender();
      })
      .catch((error) => {
        $("source-error").hidden = false;
        $("source-error").textContent = `map: ${error.message}`;
      });
    scheduleRender();
  }

  start();
})();
