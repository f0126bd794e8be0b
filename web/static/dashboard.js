/* The monitor dashboard: ECharts charts from /api/monitors/{name}/series, then the emotion
   curve and tier split (/emotions, /tiers), then the analysis panels one by one
   (/panels/{drivers,events,regions,funnel,health,share}), each shown as it arrives. Labels come
   from the API (already in the reader's language) or from data-* attributes. Crawled text is
   only ever set with textContent; links are offered only for http(s) addresses; tooltips of
   charts that name monitors or places are drawn on the canvas (richText), never as HTML. */
"use strict";

(function () {
  const root = document.getElementById("charts");
  if (!root || !window.echarts) { return; }
  const summary = document.getElementById("series-summary");
  const colors = {negative: "#d64545", neutral: "#9aa5b1", positive: "#2f9e6e", unscored: "#d9dde3"};
  const palette = ["#d64545", "#dd8a2e", "#2f9e6e", "#2b6cb0", "#805ad5", "#319795", "#718096",
                   "#b7791f", "#c05621"];
  const charts = [];
  const zoom = [{type: "inside"}, {type: "slider", height: 18, bottom: 4}];
  const grid = {left: 48, right: 48, top: 36, bottom: 56};
  const EVENTS_SHOWN = 10;  /* of the 20 the API gives, as `tingfeng report events` lists them */

  function chart(id) {
    const el = document.getElementById(id);
    const c = echarts.init(el, null, {renderer: "canvas"});
    charts.push(c);
    return c;
  }

  function draw(data) {
    const posts = root.dataset.posts;
    const engagement = root.dataset.engagement;
    const negative = data.totals.negative_share === null ? "—"
      : (data.totals.negative_share * 100).toFixed(1) + "%";
    summary.textContent = data.totals.posts
      ? tingfeng.fill(root.dataset.summary, {posts: data.totals.posts,
          engagement: data.totals.engagement, negative: negative, from: data.labels[0] || "",
          to: data.labels[data.labels.length - 1] || ""})
      : root.dataset.empty;
    chart("chart-volume").setOption({
      animationDuration: 300, grid: grid, tooltip: {trigger: "axis"}, legend: {top: 0},
      xAxis: {type: "category", data: data.labels},
      yAxis: [{type: "value", name: posts, minInterval: 1}, {type: "value", name: engagement}],
      dataZoom: zoom,
      series: [
        {name: posts, type: "line", data: data.posts, areaStyle: {opacity: 0.15},
         itemStyle: {color: "#2b6cb0"}},
        {name: engagement, type: "line", yAxisIndex: 1, data: data.engagement,
         itemStyle: {color: "#dd8a2e"}}
      ]
    });
    chart("chart-sentiment").setOption({
      animationDuration: 300, grid: grid, tooltip: {trigger: "axis"}, legend: {top: 0},
      xAxis: {type: "category", data: data.labels}, yAxis: {type: "value", minInterval: 1},
      dataZoom: zoom,
      series: data.sentiment.map(function (s) {
        return {name: s.name, type: "bar", stack: "posts", data: s.posts,
                itemStyle: {color: colors[s.label]}};
      })
    });
    chart("chart-platforms").setOption({
      animationDuration: 300, grid: {left: 96, right: 24, top: 16, bottom: 24},
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
      xAxis: {type: "value", minInterval: 1},
      yAxis: {type: "category", data: data.platforms.map(function (p) { return p.name; }).reverse()},
      series: [{name: posts, type: "bar", itemStyle: {color: "#2b6cb0"},
                data: data.platforms.map(function (p) { return p.posts; }).reverse()}]
    });
    root.dataset.points = String(data.posts.length);
    root.dataset.ready = "1";
  }

  /* -- small helpers ------------------------------------------------------------------- */
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function num(x) { return x === null || x === undefined ? "—" : Number(x).toLocaleString("zh-CN", {maximumFractionDigits: 1}); }
  function pct(x) {
    if (x === null || x === undefined) { return "—"; }
    /* reach rates are often a few in a hundred thousand: keep two significant digits */
    return (x > 0 && x < 0.001 ? (x * 100).toPrecision(2) : (x * 100).toFixed(1)) + "%";
  }
  function signed(x) { return x === null || x === undefined ? "—" : (x >= 0 ? "+" : "") + x.toFixed(2); }
  function interval(ci, fmt) { return ci ? fmt(ci[0]) + " – " + fmt(ci[1]) : "—"; }
  function safeHref(url) { return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null; }
  function netColor(net) {
    if (net === null || net === undefined) { return colors.neutral; }
    return net < -0.1 ? colors.negative : net > 0.1 ? colors.positive : colors.neutral;
  }
  function setState(box, state, text) {
    box.dataset.state = state;
    const line = box.querySelector(".state");
    if (line) { line.textContent = text || ""; line.hidden = !text; }
    box.querySelectorAll(".chart").forEach(function (c) { c.hidden = state === "empty"; });
  }
  function show(box, selector) {
    const part = box.querySelector(selector);
    if (part) { part.classList.remove("hidden"); }
    return part;
  }

  /* One post to read: platform · author · time, its text, and a link to the original. */
  function postItem(p, labels, extra) {
    const li = el("li", null, "example");
    const meta = [p.platform_name, p.author, p.time_label].filter(Boolean).join(" · ");
    li.appendChild(el("span", meta + (extra ? " · " + extra : ""), "when"));
    li.appendChild(el("span", p.text, "text"));
    const href = safeHref(p.url);
    if (href) {
      const a = el("a", labels.source);
      a.href = href;
      a.rel = "noopener noreferrer nofollow";
      a.target = "_blank";
      li.appendChild(a);
    }
    return li;
  }

  /* -- emotions and tiers (counted by the store) ------------------------------------- */
  function drawEmotions(box, data) {
    const note = box.querySelector(".note");
    const used = data.emotions.filter(function (e) { return e.posts.some(function (n) { return n > 0; }); });
    if (!data.totals.labelled) { setState(box, "empty", box.dataset.empty); return; }
    const labelled = data.buckets.map(function (_, i) {
      return used.reduce(function (n, e) { return n + e.posts[i]; }, 0);
    });
    note.textContent = tingfeng.fill(box.dataset.labelled,
      {share: pct(data.totals.labelled / (data.totals.labelled + data.totals.unlabelled))});
    chart("chart-emotions").setOption({
      animationDuration: 300, grid: grid, legend: {top: 0, type: "scroll"},
      tooltip: {trigger: "axis", valueFormatter: function (v) { return v === null ? "—" : v.toFixed(1) + "%"; }},
      xAxis: {type: "category", data: data.labels, boundaryGap: false},
      yAxis: {type: "value", max: 100, axisLabel: {formatter: "{value}%"}},
      dataZoom: zoom,
      series: used.map(function (e, k) {
        return {name: e.name, type: "line", stack: "share", areaStyle: {opacity: 0.6},
                symbol: "none", itemStyle: {color: palette[k % palette.length]},
                data: e.posts.map(function (n, i) { return labelled[i] ? 100 * n / labelled[i] : null; })};
      })
    });
    setState(box, "ready");
  }

  function drawTiers(box, data) {
    box.querySelector(".note").textContent = tingfeng.fill(box.dataset.note,
      {accounts: num(data.totals.accounts), none: num(data.totals.no_author)});
    if (!data.tiers.length) { setState(box, "empty", box.dataset.empty); return; }
    const rows = data.tiers.slice().reverse();
    chart("chart-tiers").setOption({
      animationDuration: 300, grid: {left: 64, right: 24, top: 32, bottom: 24}, legend: {top: 0},
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
      xAxis: {type: "value", minInterval: 1},
      yAxis: {type: "category", data: rows.map(function (t) { return t.name; })},
      series: [
        {name: box.dataset.posts, type: "bar", itemStyle: {color: "#2b6cb0"},
         data: rows.map(function (t) { return t.posts; })},
        {name: box.dataset.accounts, type: "bar", itemStyle: {color: "#dd8a2e"},
         data: rows.map(function (t) { return t.accounts; })}
      ]
    });
    setState(box, "ready");
  }

  /* -- the why ----------------------------------------------------------------------- */
  function drawDrivers(box, d, labels) {
    const hot = box.querySelector(".hot");
    hot.replaceChildren();
    if (d.hot_terms.length) {
      hot.appendChild(el("strong", tingfeng.fill(labels.label, {label: box.dataset.hot, value: ""})));
      d.hot_terms.forEach(function (h) { hot.appendChild(el("span", h.term + " " + h.count, "badge")); });
    }
    const rising = box.querySelector(".emerging");
    rising.replaceChildren();
    if (d.emerging && d.emerging.length) {
      rising.appendChild(el("strong", tingfeng.fill(labels.label, {label: box.dataset.emerging, value: ""})));
      d.emerging.forEach(function (h) {
        rising.appendChild(el("span", h.term + " " + h.previous_count + "→" + h.count, "badge"));
      });
    }
    if (d.empty) { setState(box, "empty", d.empty); return; }
    const body = show(box, "table").querySelector("tbody");
    body.replaceChildren();
    d.drivers.forEach(function (r) {
      const tr = el("tr");
      tr.appendChild(el("td", r.term, "term"));
      tr.appendChild(el("td", r.z.toFixed(1), "n"));
      tr.appendChild(el("td", num(r.count), "n"));
      tr.appendChild(el("td", num(r.other_count), "n"));
      const cell = el("td");
      const list = el("ul", null, "examples");
      r.examples.forEach(function (p) { list.appendChild(postItem(p, labels)); });
      cell.appendChild(list);
      tr.appendChild(cell);
      body.appendChild(tr);
    });
    setState(box, "ready", tingfeng.fill(box.dataset.counts, {n: num(d.negative_posts), m: num(d.other_posts)}));
  }

  /* The biggest stories: a row of figures, then a row with the posts that show what each is
     about (the first one open, the others behind a "more" toggle). */
  function drawEvents(box, d, labels) {
    if (d.empty) { setState(box, "empty", d.empty); return; }
    const body = show(box, "table").querySelector("tbody");
    body.replaceChildren();
    d.events.slice(0, EVENTS_SHOWN).forEach(function (e) {
      const tr = el("tr", null, "event");
      tr.dataset.event = e.event_id;
      tr.appendChild(el("td", e.label_terms.slice(0, 4).join(labels.sep), "term"));
      tr.appendChild(el("td", num(e.size), "n"));
      tr.appendChild(el("td", num(e.accounts), "n"));
      tr.appendChild(el("td", e.span, "when"));
      tr.appendChild(el("td", e.platforms.map(function (p) { return p.name + " " + p.posts; }).join(labels.sep)));
      const net = el("td", signed(e.net), "n");
      net.style.color = netColor(e.net);
      tr.appendChild(net);
      body.appendChild(tr);
      const posts = el("tr", null, "event-posts");
      const cell = el("td");
      cell.colSpan = 6;
      const list = el("ul", null, "examples");
      e.representatives.forEach(function (p, i) {
        const item = postItem(p, labels, tingfeng.fill(labels.copies, {n: p.copies}));
        if (i === 0) { list.appendChild(item); return; }
        let more = list.querySelector("details");
        if (!more) {
          more = el("details");
          more.appendChild(el("summary", labels.more));
          list.appendChild(more);
        }
        more.appendChild(item);
      });
      cell.appendChild(list);
      posts.appendChild(cell);
      body.appendChild(posts);
    });
    setState(box, "ready", d.events.length > EVENTS_SHOWN
      ? tingfeng.fill(box.dataset.shown, {n: EVENTS_SHOWN, total: d.events.length}) : "");
  }

  function drawRegions(box, d, labels) {
    const known = d.regions.filter(function (r) { return r.known; });
    if (d.empty) {
      setState(box, "empty", d.total ? tingfeng.fill(labels.aside, {text: d.empty, note: d.coverage_text}) : d.empty);
      return;
    }
    const rows = known.slice().reverse();
    document.getElementById("chart-regions").style.height = Math.max(200, 22 * rows.length + 60) + "px";
    chart("chart-regions").setOption({
      animationDuration: 300, grid: {left: 64, right: 64, top: 8, bottom: 24},
      tooltip: {trigger: "item", renderMode: "richText", formatter: function (p) {
        const r = rows[p.dataIndex];
        return tingfeng.fill(labels.region, {region: r.region, posts: num(r.posts), share: pct(r.share),
                                             net: signed(r.net)});
      }},
      xAxis: {type: "value", minInterval: 1},
      yAxis: {type: "category", data: rows.map(function (r) { return r.region; })},
      series: [{name: labels.posts, type: "bar",
                label: {show: true, position: "right", formatter: function (p) { return signed(rows[p.dataIndex].net); }},
                data: rows.map(function (r) { return {value: r.posts, itemStyle: {color: netColor(r.net)}}; })}]
    });
    setState(box, "ready", d.coverage_text);
  }

  /* -- the measurement models --------------------------------------------------------- */
  function drawFunnel(box, d) {
    const notes = box.querySelector(".notes");
    notes.replaceChildren();
    if (d.empty) { setState(box, "empty", d.empty); return; }
    d.notes.concat(d.steps.map(function (s) { return s.note; })).filter(Boolean)
      .forEach(function (n) { notes.appendChild(el("li", n)); });
    const rates = {};
    d.steps.forEach(function (s) { rates[s.target] = s.rate; });
    /* exposure no post measured (no reads, no followers known) is left out, and said */
    const layers = d.layers.filter(function (l) { return l.layer !== "exposure" || l.value > 0; });
    if (layers.length < d.layers.length) { notes.prepend(el("li", box.dataset.unmeasured)); }
    chart("chart-funnel").setOption({
      animationDuration: 300,
      tooltip: {trigger: "item", renderMode: "richText", formatter: function (p) {
        const layer = layers[p.dataIndex];
        const text = tingfeng.fill(section.dataset.label, {label: layer.name, value: num(layer.value)});
        return layer.layer in rates
          ? tingfeng.fill(section.dataset.aside, {text: text, note: box.dataset.rate + " " + pct(rates[layer.layer])})
          : text;
      }},
      series: [{type: "funnel", sort: "none", left: "8%", width: "84%", top: 8, bottom: 8,
                minSize: "12%", gap: 2,
                label: {position: "inside", color: "#fff", formatter: function (p) {
                  const layer = layers[p.dataIndex];
                  const value = num(layer.value);
                  const rate = layer.layer in rates && rates[layer.layer] !== null ? " · " + pct(rates[layer.layer]) : "";
                  return layer.name + " " + value + rate;
                }},
                /* widths on a log scale: layers differ by decades (reads against reposts) */
                data: layers.map(function (layer, k) {
                  return {name: layer.name, value: Math.log10(1 + layer.value) + 1,
                          itemStyle: {color: palette[3 + k]}};
                })}]
    });
    setState(box, "ready");
  }

  function drawHealth(box, d) {
    const body = show(box, "table").querySelector("tbody");
    body.replaceChildren();
    d.components.forEach(function (c) {
      const tr = el("tr");
      tr.dataset.component = c.name;
      tr.appendChild(el("td", c.label));
      tr.appendChild(el("td", c.score === null ? "—" : c.score.toFixed(0), "n"));
      tr.appendChild(el("td", Object.keys(c.inputs).map(function (k) {
        const v = c.inputs[k];
        return k + "=" + (v === null ? "—" : typeof v === "number" ? Number(v.toPrecision(3)) : v);
      }).join(section.dataset.sep), "inputs"));
      body.appendChild(tr);
    });
    if (d.empty) { setState(box, "empty", d.empty); return; }
    chart("chart-health").setOption({
      animationDuration: 300,
      series: [{type: "gauge", min: 0, max: 100, radius: "90%", center: ["50%", "58%"],
                progress: {show: true, width: 14}, axisLine: {lineStyle: {width: 14}},
                detail: {valueAnimation: false, formatter: function (v) { return v.toFixed(0); }, fontSize: 28},
                title: {offsetCenter: [0, "70%"]},
                data: [{value: Math.round(d.index * 10) / 10, name: box.dataset.index}]}]
    });
    setState(box, "ready");
  }

  function drawShare(box, d) {
    const notes = box.querySelector(".notes");
    /* the overlap, then what the figures count (every post collected for each monitor) */
    notes.textContent = [d.multi_brand_posts ? tingfeng.fill(box.dataset.overlap, {n: num(d.multi_brand_posts)}) : ""]
      .concat(d.notes || []).filter(Boolean).join(" ");
    if (d.empty) { setState(box, "empty", d.empty); return; }
    const body = show(box, "table").querySelector("tbody");
    body.replaceChildren();
    d.brands.forEach(function (b) {
      const tr = el("tr", null, b.self ? "self" : "");
      tr.dataset.brand = b.brand;
      [[b.brand, ""], [num(b.mentions), "n"], [b.share_pct.toFixed(1) + "%", "n"],
       [interval(b.share_ci, pct), ""], [b.engagement_pct.toFixed(1) + "%", "n"],
       [signed(b.net), "n"], [interval(b.net_ci, signed), ""]].forEach(function (cell) {
        tr.appendChild(el("td", cell[0], cell[1]));
      });
      body.appendChild(tr);
    });
    chart("chart-share").setOption({
      animationDuration: 300, grid: {left: 48, right: 24, top: 32, bottom: 32}, legend: {top: 0},
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}, renderMode: "richText",
                valueFormatter: function (v) { return v.toFixed(1) + "%"; }},
      xAxis: {type: "category", data: d.brands.map(function (b) { return b.brand; }),
              axisLabel: {interval: 0, overflow: "truncate", width: 120}},
      yAxis: {type: "value", max: 100, axisLabel: {formatter: "{value}%"}},
      series: [
        {name: box.dataset.volume, type: "bar", itemStyle: {color: "#2b6cb0"},
         data: d.brands.map(function (b) { return b.share_pct; })},
        {name: box.dataset.engagement, type: "bar", itemStyle: {color: "#dd8a2e"},
         data: d.brands.map(function (b) { return b.engagement_pct; })}
      ]
    });
    setState(box, "ready");
  }

  /* -- loading ------------------------------------------------------------------------- */
  const section = document.getElementById("panels");
  const drawers = {drivers: drawDrivers, events: drawEvents, regions: drawRegions,
                   funnel: drawFunnel, health: drawHealth, share: drawShare};

  function loadPart(box, drawer) {
    setState(box, "loading", section ? section.dataset.loading : "");
    return tingfeng.getJSON(box.dataset.url).then(function (data) { drawer(box, data); })
      .catch(function (err) {
        setState(box, "error", (section ? section.dataset.failed : "") + " (" + err.message + ")");
      });
  }

  function loadPanels() {
    if (!section) { return; }
    const labels = {source: section.dataset.source, posts: section.dataset.posts,
                    net: section.dataset.net, copies: section.dataset.copies,
                    more: section.dataset.more, label: section.dataset.label,
                    sep: section.dataset.sep, aside: section.dataset.aside,
                    region: section.dataset.region};
    const head = document.getElementById("panels-window");
    let said = false;
    /* all at once: the server reads the window once for all of them, and the quick ones
       (regions, funnel, health) show while drivers and events are still being computed */
    Object.keys(drawers).forEach(function (name) {
      const box = document.getElementById("panel-" + name);
      if (!box) { return; }
      setState(box, "loading", section.dataset.loading);
      tingfeng.getJSON(box.dataset.url).then(function (data) {
        /* the window's posts as the query selects them: share of voice counts another thing */
        if (!said && name !== "share") {
          head.textContent = tingfeng.fill(section.dataset.window, {window: data.window, posts: num(data.posts)});
          said = true;
        }
        drawers[name](box, data[name], labels);
      }).catch(function (err) {
        setState(box, "error", section.dataset.failed + " (" + err.message + ")");
      });
    });
  }

  tingfeng.getJSON(root.dataset.seriesUrl).then(draw).then(function () {
    const emotions = document.getElementById("emotions");
    const tiers = document.getElementById("tiers");
    return Promise.all([emotions && loadPart(emotions, drawEmotions), tiers && loadPart(tiers, drawTiers)]);
  }).catch(function (err) {
    summary.textContent = root.dataset.failed + " (" + err.message + ")";
    root.dataset.ready = "error";
  }).then(loadPanels);
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
