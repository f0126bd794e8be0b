/* 听风 account page: the account's posts per sentiment label per time bucket (stacked bars)
   and its net sentiment (a line on its own axis, -1 to 1), drawn by ECharts from
   /api/accounts/{platform}/{author_id}/series (labels only, no crawled text). */
"use strict";

(function () {
  const box = document.getElementById("chart-account-sentiment");
  if (!box || !window.echarts) { return; }
  const colors = {negative: "#d64545", neutral: "#9aa5b1", positive: "#2f9e6e", unscored: "#d9dde3"};

  function say(text, state) {
    box.classList.add("empty-chart");
    box.textContent = text;
    box.dataset.ready = state;
  }

  function draw(data) {
    const busy = data.sentiment.filter(function (s) {
      return s.posts.some(function (n) { return n > 0; });
    });
    if (!busy.length) { say(box.dataset.empty, "empty"); return; }
    const series = busy.map(function (s) {
      return {name: s.name, type: "bar", stack: "posts", data: s.posts, barMaxWidth: 48,
              itemStyle: {color: colors[s.label] || "#ccc"}};
    });
    series.push({name: box.dataset.net, type: "line", yAxisIndex: 1, data: data.net,
                 connectNulls: false, itemStyle: {color: "#2b6cb0"}});
    const chart = echarts.init(box, null, {renderer: "canvas"});
    chart.setOption({
      animationDuration: 300, grid: {left: 48, right: 48, top: 36, bottom: 56},
      tooltip: {trigger: "axis"}, legend: {top: 0},
      xAxis: {type: "category", data: data.labels},
      yAxis: [{type: "value", name: box.dataset.posts, minInterval: 1},
              {type: "value", name: box.dataset.net, min: -1, max: 1}],
      dataZoom: [{type: "inside"}, {type: "slider", height: 18, bottom: 4}],
      series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
    box.dataset.ready = "ready";
  }

  fetch(box.dataset.url, {credentials: "same-origin", headers: {Accept: "application/json"}})
    .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
    .then(draw)
    .catch(function (err) { say(box.dataset.failed + " (" + err.message + ")", "error"); });
}());
