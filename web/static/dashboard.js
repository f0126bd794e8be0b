/* The monitor dashboard: ECharts charts from /api/monitors/{name}/series. Labels come from
   the API (already in the reader's language) or from data-* attributes of #charts. */
"use strict";

(function () {
  const root = document.getElementById("charts");
  if (!root || !window.echarts) { return; }
  const summary = document.getElementById("series-summary");
  const colors = {negative: "#d64545", neutral: "#9aa5b1", positive: "#2f9e6e", unscored: "#d9dde3"};
  const charts = [];

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
    const zoom = [{type: "inside"}, {type: "slider", height: 18, bottom: 4}];
    const grid = {left: 48, right: 48, top: 36, bottom: 56};
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

  tingfeng.getJSON(root.dataset.seriesUrl).then(draw).catch(function (err) {
    summary.textContent = root.dataset.failed + " (" + err.message + ")";
    root.dataset.ready = "error";
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
