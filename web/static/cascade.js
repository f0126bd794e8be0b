/* 听风 cascade explorer: the repost tree drawn by ECharts (pan and zoom with the mouse), and
   the same posts listed in an <ol> of buttons for the keyboard and screen readers. Clicking a
   node or a list item fills the side panel. Crawled text is set with textContent only; links
   to originals are kept only when http(s) (the server already dropped others). */
"use strict";

(function () {
  const root = document.getElementById("cascade");
  if (!root || !window.echarts) { return; }
  const colors = {negative: "#d9534f", neutral: "#999", positive: "#5cb85c", unscored: "#ccc"};
  const panel = document.getElementById("cascade-panel");
  const list = document.getElementById("cascade-nodes");
  const box = document.getElementById("chart-cascade");
  let byId = {};

  function num(x) { return x === null || x === undefined ? "—" : Number(x).toLocaleString("zh-CN"); }
  function safeHref(url) { return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null; }
  function size(n) { return Math.min(32, 6 + 3 * Math.log2(1 + (n.engagement || 0))); }
  function excerpt(text, k) { const t = (text || "").replace(/\s+/g, " "); return t.length > k ? t.slice(0, k) + "…" : t; }

  function show(id) {
    const n = byId[id];
    if (!n) { return; }
    panel.querySelector(".hint").hidden = true;
    const post = panel.querySelector(".post");
    post.classList.remove("hidden");
    post.dataset.node = n.id;
    const link = post.querySelector("a.author");
    const plain = post.querySelector(".author-plain");
    if (n.account_url) {
      link.href = n.account_url; link.textContent = n.author || ""; link.hidden = false;
      plain.textContent = ""; plain.hidden = true;
    } else {
      link.removeAttribute("href"); link.textContent = ""; link.hidden = true;
      plain.textContent = n.author || ""; plain.hidden = false;
    }
    post.querySelector(".when").textContent = n.time || "—";
    post.querySelector(".sentiment").textContent = n.sentiment_name || "";
    const title = post.querySelector(".title");
    title.textContent = n.title || ""; title.hidden = !n.title;
    post.querySelector(".text").textContent = n.placeholder ? root.dataset.missing : n.text;
    post.querySelector(".counts").textContent = n.placeholder ? "" :
      root.dataset.reposts + " " + num(n.reposts) + " · " + root.dataset.comments + " " +
      num(n.comments) + " · " + root.dataset.likes + " " + num(n.likes);
    const source = post.querySelector("a.source");
    const href = safeHref(n.url);
    if (href) { source.href = href; source.hidden = false; }
    else { source.removeAttribute("href"); source.hidden = true; }
    list.querySelectorAll("button[aria-current]").forEach(function (b) { b.removeAttribute("aria-current"); });
    const item = list.querySelector('li[data-node="' + CSS.escape(n.id) + '"] button');
    if (item) { item.setAttribute("aria-current", "true"); }
  }

  function draw(data) {
    byId = {};
    const kids = {};
    data.nodes.forEach(function (n) {
      byId[n.id] = n;
      if (n.parent !== null) { (kids[n.parent] = kids[n.parent] || []).push(n); }
    });
    function item(n) {
      const color = colors[n.sentiment] || colors.unscored;
      return {name: n.author || "", id: n.id, value: n.engagement, symbol: "circle",
              symbolSize: size(n), itemStyle: {color: color, borderColor: color},
              children: (kids[n.id] || []).map(item)};
    }
    const top = byId[data.root];
    const chart = echarts.init(box);
    chart.setOption({
      animationDuration: 300,
      tooltip: {trigger: "item", renderMode: "richText", formatter: function (p) {
        const n = byId[p.data.id];
        return n ? tingfeng.fill(root.dataset.label, {label: n.author || "", value: excerpt(n.text, 40)}) : "";
      }},
      series: [{type: "tree", data: top ? [item(top)] : [], roam: true, layout: "orthogonal",
                orient: "LR", top: 16, bottom: 16, left: 48, right: 120,
                expandAndCollapse: false, initialTreeDepth: -1,
                label: {show: data.nodes.length <= 80, position: "right", fontSize: 11},
                lineStyle: {color: "#bbb", width: 1}}]
    });
    chart.on("click", function (p) { if (p.data && p.data.id) { show(p.data.id); } });
    window.addEventListener("resize", function () { chart.resize(); });
    list.replaceChildren();
    const ordered = [];  /* depth first, so each reply sits under what it replies to */
    (function walk(n) { ordered.push(n); (kids[n.id] || []).forEach(walk); })(top || data.nodes[0]);
    ordered.forEach(function (n) {
      const li = document.createElement("li");
      li.dataset.node = n.id;
      li.style.marginLeft = Math.min(n.depth, 12) + "em";
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link sent-" + n.sentiment;
      b.textContent = tingfeng.fill(root.dataset.label, {label: n.author || "",
        value: n.placeholder ? root.dataset.missing : excerpt(n.title || n.text, 60)});
      b.addEventListener("click", function () { show(n.id); });
      li.appendChild(b);
      list.appendChild(li);
    });
    root.dataset.ready = "ready";
  }

  tingfeng.getJSON(root.dataset.url).then(draw).catch(function (err) {
    root.dataset.ready = "error";
    panel.querySelector(".hint").textContent = root.dataset.failed + " (" + err.message + ")";
  });
})();
