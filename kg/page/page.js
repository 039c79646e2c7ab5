/* kg page: legend and filters, search, tooltips and details over vis-network.
 * All paper text comes from the JSON block and reaches the DOM through textContent only;
 * links are kept only when they are http(s). Nothing here fetches anything. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("kg-data").textContent);
  var VIEWS = { map: "Concept map", full: "Full graph" };
  var years = data.years || [null, null];
  var state = {
    view: "map",
    nodeKinds: {},
    edgeKinds: {},
    from: years[0],
    to: years[1],
    matches: [],
    matchIndex: -1,
    timings: { start: performance.now(), ready: {}, settled: {} },
  };
  var colours = {};
  data.kinds.forEach(function (k) { colours[k.kind] = k.colour; state.nodeKinds[k.kind] = true; });
  var edgeColours = {};
  data.edge_kinds.forEach(function (k) { edgeColours[k.kind] = k.colour; state.edgeKinds[k.kind] = true; });
  var views = {};
  var tipTimer = null;
  var overTip = false;

  // -- DOM helpers (text only) ----------------------------------------------------------
  function safeUrl(url) {
    return typeof url === "string" && /^https?:\/\/[^\s"'<>\\]+$/i.test(url) ? url : null;
  }
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === null || value === undefined) return;
      if (key === "text") node.textContent = String(value);
      else if (key === "className") node.className = value;
      else if (key === "href") {
        var url = safeUrl(value);
        if (url) { node.href = url; node.target = "_blank"; node.rel = "noopener noreferrer"; }
      } else if (key === "onclick") node.addEventListener("click", value);
      else if (key === "style") node.style.cssText = value;
      else node.setAttribute(key, String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }
  function $(id) { return document.getElementById(id); }
  function conceptLabel(id) { var c = data.concepts[id]; return c ? c.label : id; }
  function nodeLabel(id) {
    if (data.concepts[id]) return data.concepts[id].label;
    if (data.papers[id]) return data.papers[id].title;
    if (data.authors[id]) return data.authors[id].name;
    return id;
  }
  function inYears(year) {
    if (year === null || year === undefined) return true;
    return (state.from === null || year >= state.from) && (state.to === null || year <= state.to);
  }
  function link(url, text) {
    var safe = safeUrl(url);
    if (!safe) return null;
    var label = text || (/^https?:\/\/(export\.)?arxiv\.org\//i.test(safe) ? "arXiv ↗" : "link ↗");
    return el("a", { href: safe, text: label });
  }
  function jump(id, text) {
    return el("button", { className: "link", type: "button", text: text || nodeLabel(id),
      onclick: function () { select(id); } });
  }
  function polarity(pol) { return el("span", { className: "pol pol-" + pol, text: pol }); }
  function badge(consensus) {
    return el("span", { className: "badge", text: consensus, style: "background:" + (data.consensus[consensus] || "#868e96") });
  }

  // -- descriptions (tooltip: compact; details panel: full) ------------------------------
  function claimItem(c, compact) {
    // c = [subject, relation, object, polarity, sentence, hedged]
    return el("div", { className: "claim" }, [
      el("div", {}, [conceptLabel(c[0]) + " ", el("em", { text: c[1] }), " ", conceptLabel(c[2]), ": ", polarity(c[3]),
        c[5] ? " (hedged)" : null]),
      el("blockquote", { text: compact && c[4].length > 220 ? c[4].slice(0, 219) + "…" : c[4] }),
    ]);
  }
  function describePaper(id, compact) {
    var p = data.papers[id];
    var authors = p.authors.slice(0, compact ? 6 : p.authors.length).join(", ");
    if ((compact && p.authors.length > 6) || p.more_authors) authors += " et al.";
    var parts = [
      el("h2", { text: p.title }),
      el("div", { className: "meta", text: [p.year, p.venue].filter(Boolean).join(" · ") }),
      el("div", { className: "meta", text: authors }),
      el("div", { className: "meta" }, [link(p.url), p.url && !compact ? " " : null,
        compact ? null : el("span", { text: "cited by " + p.cited_in_corpus + " in the corpus" +
          (p.citation_count !== null && p.citation_count !== undefined ? " · " + p.citation_count + " citations" : "") +
          " · PageRank " + p.pagerank })]),
    ];
    var claims = data.claims[id] || [];
    if (claims.length) {
      parts.push(el("h3", { text: claims.length + (claims.length === 1 ? " claim" : " claims") }));
      claims.forEach(function (c) { parts.push(claimItem(c, compact)); });
    }
    if (!compact && p.concepts.length) {
      parts.push(el("h3", { text: "Concepts" }));
      parts.push(el("ul", { className: "plain" }, p.concepts.map(function (c) { return el("li", {}, [jump(c)]); })));
    }
    return parts;
  }
  function aggregatedEdges(id) {
    var out = [];
    ["map"].forEach(function (v) {
      data.views[v].edges.forEach(function (e) { if (e.from === id || e.to === id) out.push(e); });
    });
    return out;
  }
  function describeConcept(id, compact) {
    var c = data.concepts[id];
    var parts = [
      el("h2", { text: c.label }),
      el("div", { className: "meta" }, [el("span", { className: "badge", text: c.kind, style: "background:" + colours[c.kind] }),
        " " + c.n_papers + " papers · " + c.n_claims + " claims"]),
    ];
    if (!compact && c.aliases.length) parts.push(el("div", { className: "meta", text: "Also: " + c.aliases.join(", ") }));
    var edges = aggregatedEdges(id);
    if (edges.length) {
      parts.push(el("h3", { text: "Claimed links" }));
      parts.push(el("ul", { className: "plain" }, edges.map(function (e) {
        var text = conceptLabel(e.from) + " " + e.kind + " " + conceptLabel(e.to) + " (" + e.n_papers + " papers) ";
        return el("li", {}, [compact ? text : el("button", { className: "link", type: "button", text: text,
          onclick: function () { showEdge(e.id); } }), badge(e.consensus)]);
      })));
    }
    if (!compact) {
      var papers = Object.keys(data.papers).filter(function (p) { return data.papers[p].concepts.indexOf(id) >= 0; });
      papers.sort(function (a, b) { return (data.papers[b].year || 0) - (data.papers[a].year || 0) || (a < b ? -1 : 1); });
      if (papers.length) {
        parts.push(el("h3", { text: papers.length + " papers" }));
        parts.push(el("ul", { className: "plain" }, papers.slice(0, 100).map(function (p) {
          return el("li", {}, [jump(p, data.papers[p].title), " " + (data.papers[p].year || "")]);
        })));
      }
    }
    return parts;
  }
  function describeAuthor(id, compact) {
    var a = data.authors[id];
    var parts = [el("h2", { text: a.name }), el("div", { className: "meta", text: a.papers.length + " papers in the corpus" })];
    parts.push(el("ul", { className: "plain" }, a.papers.slice(0, compact ? 5 : 200).map(function (p) {
      return el("li", {}, [compact ? data.papers[p].title : jump(p, data.papers[p].title)]);
    })));
    return parts;
  }
  function describe(id, compact) {
    if (data.papers[id]) return describePaper(id, compact);
    if (data.concepts[id]) return describeConcept(id, compact);
    if (data.authors[id]) return describeAuthor(id, compact);
    return [el("h2", { text: String(id) })];
  }
  var edgeIndex = null;
  function findEdge(id) {
    if (!edgeIndex) {
      edgeIndex = {};
      Object.keys(VIEWS).forEach(function (v) {
        data.views[v].edges.forEach(function (e) { edgeIndex[e.id] = e; });
      });
    }
    return edgeIndex[id] || null;
  }
  function describeEdge(id, compact) {
    var e = findEdge(id);
    if (!e) return [];
    if (e.kind !== "affects" && e.kind !== "explains") {
      return [el("h2", { text: e.kind }), el("div", { className: "meta" }, [jump(e.from), " " + e.kind + " ", jump(e.to)])];
    }
    var parts = [
      el("h2", { text: conceptLabel(e.from) + " " + e.kind + " " + conceptLabel(e.to) }),
      el("div", { className: "meta" }, [badge(e.consensus), " " + e.n_papers + " papers: " +
        Object.keys(e.counts).filter(function (k) { return e.counts[k]; }).map(function (k) { return e.counts[k] + " " + k; }).join(", ")]),
    ];
    var byPolarity = {};
    e.papers.forEach(function (p) {
      if (!data.papers[p] || !inYears(data.papers[p].year)) return;
      (data.claims[p] || []).forEach(function (c) {
        if (c[0] === e.from && c[2] === e.to && c[1] === e.kind) (byPolarity[c[3]] = byPolarity[c[3]] || []).push([p, c]);
      });
    });
    Object.keys(e.counts).forEach(function (pol) {
      var items = byPolarity[pol];
      if (!items) return;
      parts.push(el("h3", {}, [polarity(pol), " (" + items.length + ")"]));
      items.slice(0, compact ? 3 : items.length).forEach(function (item) {
        var paper = data.papers[item[0]];
        parts.push(el("div", { className: "claim" }, [
          el("blockquote", { text: item[1][4] }),
          el("div", { className: "meta" }, [compact ? paper.title : jump(item[0], paper.title),
            " " + (paper.year || "") + " ", link(paper.url)]),
        ]));
      });
    });
    return parts;
  }

  // -- tooltip and details panel -----------------------------------------------------
  function fill(target, parts) {
    target.replaceChildren.apply(target, parts.filter(Boolean));
  }
  function showTip(parts, pointer) {
    var tip = $("tooltip");
    clearTimeout(tipTimer);
    fill(tip, parts);
    tip.hidden = false;
    var stage = $("stage").getBoundingClientRect();
    // Beside the pointer, never under it (the node stays clickable): right and below if it
    // fits, else left or above.
    var x = pointer.x + 14, y = pointer.y + 14;
    if (x + tip.offsetWidth > stage.width - 8) x = pointer.x - 14 - tip.offsetWidth;
    if (y + tip.offsetHeight > stage.height - 8) y = pointer.y - 14 - tip.offsetHeight;
    tip.style.left = Math.max(x, 4) + "px";
    tip.style.top = Math.max(y, 4) + "px";
  }
  function hideTip() {
    clearTimeout(tipTimer);
    tipTimer = setTimeout(function () { if (!overTip) $("tooltip").hidden = true; }, 300);
  }
  function details(id) { fill($("details"), describe(id, false)); }
  function showEdge(id) { fill($("details"), describeEdge(id, false)); }
  function select(id) {
    details(id);
    var v = views[state.view];
    if (v && v.nodes.get(id) && v.visible.has(id)) {
      v.network.selectNodes([id]);
      v.network.focus(id, { scale: Math.max(v.network.getScale(), 0.8), animation: false });
    }
  }

  // -- filters -------------------------------------------------------------------------
  function nodeVisible(node) {
    if (!state.nodeKinds[node.kind]) return false;
    if (node.kind === "paper") return inYears(node.year);
    if (node.kind === "author" && node.years) {
      return !((state.from !== null && node.years[1] < state.from) || (state.to !== null && node.years[0] > state.to));
    }
    return true;
  }
  function edgeVisible(v, edge) {
    if (!state.edgeKinds[edge.kind] || !v.visible.has(edge.from) || !v.visible.has(edge.to)) return false;
    if (edge.years) return edge.years.length === 0 || edge.years.some(inYears);
    return inYears(edge.year);
  }
  function computeVisible(v) {
    v.visible = new Set();
    data.views[v.name].nodes.forEach(function (n) { if (nodeVisible(n)) v.visible.add(n.id); });
  }
  function refresh() {
    Object.keys(views).forEach(function (name) {
      var v = views[name];
      computeVisible(v);
      v.nodeView.refresh();
      v.edgeView.refresh();
    });
    status();
    if ($("search").value) search($("search").value);
  }
  function status() {
    var v = views[state.view];
    if (!v) return;
    var text = VIEWS[state.view] + ": " + v.nodeView.length + " nodes, " + v.edgeView.length + " edges";
    if (!state.timings.settled[state.view]) text += " (laying out…)";
    $("status").textContent = text;
  }

  // -- networks -------------------------------------------------------------------------
  function edgeStyle(e) {
    var style = { id: e.id, from: e.from, to: e.to, kind: e.kind, year: e.year, years: e.years };
    if (e.kind === "affects" || e.kind === "explains") {
      style.color = { color: data.consensus[e.consensus], highlight: "#000", hover: "#000" };
      style.width = e.width;
      style.dashes = e.kind === "explains" ? [8, 4] : false;
    } else {
      style.color = { color: edgeColours[e.kind], highlight: "#343a40", hover: "#343a40" };
      style.width = 1;
      style.dashes = e.kind === "studies" ? [2, 4] : false;
      if (e.kind === "studies" || e.kind === "wrote") style.arrows = { to: { enabled: false } };
    }
    return style;
  }
  function nodeStyle(n) {
    var concept = !!data.concepts[n.id];
    return {
      id: n.id, label: n.label, kind: n.kind, year: n.year, years: n.years, x: n.x, y: n.y,
      size: n.size, shape: n.shape,
      color: { background: colours[n.kind], border: "#495057", highlight: { background: colours[n.kind], border: "#000" },
        hover: { background: colours[n.kind], border: "#000" } },
      font: concept ? { size: 22, face: "system-ui", strokeWidth: 4, strokeColor: "#fff" } : { size: 11, color: "#495057" },
    };
  }
  function build(name) {
    var spec = data.views[name];
    var v = { name: name, visible: new Set() };
    v.nodes = new vis.DataSet(spec.nodes.map(nodeStyle));
    v.edges = new vis.DataSet(spec.edges.map(edgeStyle));
    computeVisible(v);
    v.nodeView = new vis.DataView(v.nodes, { filter: function (n) { return v.visible.has(n.id); } });
    v.edgeView = new vis.DataView(v.edges, { filter: function (e) { return edgeVisible(v, e); } });
    var options = JSON.parse(JSON.stringify(spec.options));
    options.physics.enabled = false; // drawn at once from the positions computed in Python
    if (spec.nodes.length > 2000) options.interaction.hideEdgesOnZoom = true; // smooth zoom
    var container = $("net-" + name);
    container.hidden = false;
    v.network = new vis.Network(container, { nodes: v.nodeView, edges: v.edgeView }, options);
    v.network.fit({ animation: false });
    views[name] = v;
    v.network.once("afterDrawing", function () {
      state.timings.ready[name] = performance.now();
      setTimeout(function () { stabilise(v, spec); }, 0);
    });
    v.network.on("hoverNode", function (p) { showTip(describe(p.node, true), p.pointer.DOM); });
    v.network.on("blurNode", hideTip);
    v.network.on("hoverEdge", function (p) { showTip(describeEdge(p.edge, true), p.pointer.DOM); });
    v.network.on("blurEdge", hideTip);
    v.network.on("dragStart", function () { $("tooltip").hidden = true; });
    v.network.on("click", function (p) {
      if (p.nodes.length) details(p.nodes[0]);
      else if (p.edges.length) showEdge(p.edges[0]);
    });
    return v;
  }
  // Physics refines the Python layout for at most spec.iterations iterations or
  // spec.budget_ms milliseconds, in chunks (the picture updates between chunks), then freezes.
  function stabilise(v, spec) {
    var name = v.name, done = 0, t0 = performance.now();
    var progress = $("progress");
    if (!spec.iterations) return finish();
    var chunk = Math.max(1, Math.min(spec.chunk || 10, spec.iterations));
    v.network.on("stabilizationIterationsDone", step);
    v.network.setOptions({ physics: { enabled: true, stabilization: { enabled: true, fit: false, updateInterval: chunk } } });
    v.network.stabilize(chunk);
    function step() {
      done += chunk;
      if (state.view === name) {
        progress.hidden = false;
        progress.textContent = "Laying out " + spec.nodes.length + " nodes: " + Math.min(100, Math.round((100 * done) / spec.iterations)) + "%";
      }
      // After this event vis restarts its animation loop; the next chunk (or the freeze) must
      // come after that, so it is scheduled rather than called here.
      setTimeout(function () {
        if (done >= spec.iterations || performance.now() - t0 > spec.budget_ms) finish();
        else v.network.stabilize(Math.min(chunk, spec.iterations - done));
      }, 0);
    }
    function finish() {
      v.network.off("stabilizationIterationsDone", step);
      v.network.setOptions({ physics: { enabled: false } }); // frozen: nothing moves any more
      v.network.stopSimulation();
      state.timings.iterations = state.timings.iterations || {};
      state.timings.iterations[name] = done;
      progress.hidden = true;
      v.network.fit({ animation: false });
      settled(name);
    }
  }
  function settled(name) {
    if (!state.timings.settled[name]) state.timings.settled[name] = performance.now();
    if (name === state.view) status();
    if (data.focus && name === state.view && views[name].nodes.get(data.focus) && !state.focused) {
      state.focused = true;
      select(data.focus);
    }
  }
  function show(name) {
    if (!data.views[name]) return;
    state.view = name;
    Object.keys(VIEWS).forEach(function (other) { $("net-" + other).hidden = other !== name; });
    if (!views[name]) build(name);
    legendCounts();
    status();
    if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
    if ($("search").value) search($("search").value);
    document.querySelectorAll('input[name="view"]').forEach(function (r) { r.checked = r.value === name; });
  }

  // -- search ---------------------------------------------------------------------------
  function haystack(id) {
    var parts = [nodeLabel(id), id];
    if (data.papers[id]) parts = parts.concat(data.papers[id].authors, [data.papers[id].venue || ""]);
    if (data.concepts[id]) parts = parts.concat(data.concepts[id].aliases);
    return parts.join(" \u0001 ").toLowerCase();
  }
  var haystacks = {};
  function search(query) {
    var q = query.trim().toLowerCase();
    var v = views[state.view];
    state.matches = [];
    state.matchIndex = -1;
    if (!q || !v) {
      $("matches").textContent = "";
      if (v) v.network.unselectAll();
      return state.matches;
    }
    data.views[state.view].nodes.forEach(function (n) {
      if (!v.visible.has(n.id)) return;
      var hay = haystacks[n.id] || (haystacks[n.id] = haystack(n.id));
      if (hay.indexOf(q) >= 0) state.matches.push(n.id);
    });
    $("matches").textContent = state.matches.length + (state.matches.length === 1 ? " match" : " matches");
    v.network.selectNodes(state.matches.slice(0, 500));
    return state.matches;
  }
  function next() {
    if (!state.matches.length) return null;
    state.matchIndex = (state.matchIndex + 1) % state.matches.length;
    var id = state.matches[state.matchIndex];
    details(id);
    views[state.view].network.focus(id, { scale: 1.0, animation: false });
    return id;
  }

  // -- legend, controls -----------------------------------------------------------------
  function counts(name, field) {
    var out = {};
    data.views[name][field].forEach(function (item) { out[item.kind] = (out[item.kind] || 0) + 1; });
    return out;
  }
  function legendCounts() {
    var nodeCounts = counts(state.view, "nodes"), edgeCounts = counts(state.view, "edges");
    document.querySelectorAll("input[data-kind]").forEach(function (box) {
      box.parentNode.querySelector(".count").textContent = String(nodeCounts[box.dataset.kind] || 0);
    });
    document.querySelectorAll("input[data-edge-kind]").forEach(function (box) {
      box.parentNode.querySelector(".count").textContent = String(edgeCounts[box.dataset.edgeKind] || 0);
    });
  }
  function legend() {
    var nodeCounts = counts("full", "nodes");
    fill($("node-kinds"), data.kinds.map(function (k) {
      return el("label", {}, [
        el("input", { type: "checkbox", checked: "", "data-kind": k.kind }),
        el("span", { className: "swatch", style: "background:" + k.colour }),
        k.label, el("span", { className: "count", text: String(nodeCounts[k.kind] || 0) }),
      ]);
    }));
    var edgeCounts = counts("full", "edges");
    fill($("edge-kinds"), data.edge_kinds.map(function (k) {
      return el("label", {}, [
        el("input", { type: "checkbox", checked: "", "data-edge-kind": k.kind }),
        el("span", { className: "swatch line", style: "background:" + k.colour }),
        k.label, el("span", { className: "count", text: String(edgeCounts[k.kind] || 0) }),
      ]);
    }));
    fill($("consensus"), Object.keys(data.consensus).map(function (c) {
      return el("div", {}, [el("span", { className: "swatch line", style: "background:" + data.consensus[c] }), " " + c]);
    }));
    document.querySelectorAll("input[data-kind]").forEach(function (box) {
      box.addEventListener("change", function () { state.nodeKinds[box.dataset.kind] = box.checked; refresh(); });
    });
    document.querySelectorAll("input[data-edge-kind]").forEach(function (box) {
      box.addEventListener("change", function () { state.edgeKinds[box.dataset.edgeKind] = box.checked; refresh(); });
    });
    if (data.notes.length) { $("note").textContent = data.notes.join(" "); $("note").hidden = false; }
    var names = $("concept-names");
    Object.keys(data.concepts).sort().forEach(function (c) { names.appendChild(el("option", { value: data.concepts[c].label })); });
  }
  function controls() {
    document.querySelectorAll('input[name="view"]').forEach(function (radio) {
      radio.addEventListener("change", function () { if (radio.checked) show(radio.value); });
    });
    var from = $("year-from"), to = $("year-to");
    if (years[0] === null) { $("years").hidden = true; }
    else {
      [from, to].forEach(function (box) { box.min = years[0]; box.max = years[1]; });
      from.value = years[0];
      to.value = years[1];
      var onYears = function () {
        setYears(from.value === "" ? null : Number(from.value), to.value === "" ? null : Number(to.value));
      };
      from.addEventListener("change", onYears);
      to.addEventListener("change", onYears);
    }
    var box = $("search");
    box.addEventListener("input", function () { search(box.value); });
    box.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { ev.preventDefault(); next(); } });
    var tip = $("tooltip");
    tip.addEventListener("mouseenter", function () { overTip = true; clearTimeout(tipTimer); });
    tip.addEventListener("mouseleave", function () { overTip = false; hideTip(); });
  }
  function setYears(a, b) {
    state.from = a;
    state.to = b;
    $("year-from").value = a === null ? "" : a;
    $("year-to").value = b === null ? "" : b;
    refresh();
  }
  function setKind(kind, on) {
    var box = document.querySelector('input[data-kind="' + kind + '"]') ||
      document.querySelector('input[data-edge-kind="' + kind + '"]');
    if (box) { box.checked = on; box.dispatchEvent(new Event("change")); }
  }

  legend();
  controls();
  window.kgPage = {
    data: data,
    state: state,
    views: views,
    show: show,
    search: search,
    next: next,
    setYears: setYears,
    setKind: setKind,
    details: details,
    showEdge: showEdge,
    describe: function (id, compact) { return el("div", {}, describe(id, !!compact)); },
    visible: function () {
      var v = views[state.view];
      return { nodes: v.nodeView.length, edges: v.edgeView.length, drawn: v.network.body.nodeIndices.length,
        drawnEdges: v.network.body.edgeIndices.length };
    },
  };
  var initial = location.hash === "#full" ? "full" : "map";
  if (data.focus && !data.views.map.nodes.some(function (n) { return n.id === data.focus; })) initial = "full";
  show(initial);
})();
