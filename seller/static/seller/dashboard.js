// Draws the dashboard's charts from the figures the page carries (metrics.summary as JSON).
(function () {
  const data = JSON.parse(document.getElementById("metrics-data").textContent);
  const days = data.by_day.map((d) => d.date);
  const colors = { sent: "#2e7d32", delivered: "#1565c0", read: "#6a1b9a", failed: "#c62828",
                   blocked: "#ef6c00", deferred: "#9e9d24", ai: "#00897b", fallback: "#8d6e63" };
  const palette = ["#ef6c00", "#c62828", "#6a1b9a", "#1565c0", "#2e7d32", "#9e9d24", "#00838f", "#5d4037"];
  const base = { responsive: true, maintainAspectRatio: false, animation: false };
  // Lines get a stack of their own: on the stacked axis they would otherwise add up.

  new Chart(document.getElementById("chart-outcomes"), {
    type: "bar",
    data: {
      labels: days,
      datasets: [
        { label: "sent", data: data.by_day.map((d) => d.sent), backgroundColor: colors.sent, stack: "out" },
        { label: "failed", data: data.by_day.map((d) => d.failed), backgroundColor: colors.failed, stack: "out" },
        { label: "blocked", data: data.by_day.map((d) => d.blocked_total), backgroundColor: colors.blocked, stack: "out" },
        { label: "deferred", data: data.by_day.map((d) => d.deferred), backgroundColor: colors.deferred, stack: "out" },
        { label: "delivered", type: "line", data: data.by_day.map((d) => d.delivered), borderColor: colors.delivered, backgroundColor: colors.delivered, stack: "delivered" },
        { label: "read", type: "line", data: data.by_day.map((d) => d.read), borderColor: colors.read, backgroundColor: colors.read, stack: "read" },
      ],
    },
    options: { ...base, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
  });

  const reasons = Object.entries(data.blocked).sort((a, b) => b[1] - a[1]);
  new Chart(document.getElementById("chart-blocked"), {
    type: "doughnut",
    data: {
      labels: reasons.length ? reasons.map((r) => r[0]) : ["nothing blocked"],
      datasets: [{ data: reasons.length ? reasons.map((r) => r[1]) : [1],
                   backgroundColor: reasons.length ? palette : ["#e0e0e0"] }],
    },
    options: { ...base, plugins: { legend: { position: "right" } } },
  });

  new Chart(document.getElementById("chart-generation"), {
    type: "bar",
    data: {
      labels: days,
      datasets: [
        { label: "AI", data: data.by_day.map((d) => d.generated - d.fallback), backgroundColor: colors.ai, stack: "gen" },
        { label: "fallback", data: data.by_day.map((d) => d.fallback), backgroundColor: colors.fallback, stack: "gen" },
        { label: "avg generation ms", type: "line", yAxisID: "ms", data: data.by_day.map((d) => d.generation_latency_ms.avg),
          borderColor: "#37474f", backgroundColor: "#37474f", spanGaps: true },
      ],
    },
    options: { ...base, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
                                  ms: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } } } },
  });

  // Each group's lift as a floating bar from the interval's low to its high end, and the estimate.
  const groups = [{ name: "all", ...data }].concat(
    data.by_trigger.map((t) => ({ name: t.trigger, ...t })),
    data.by_variant.map((v) => ({ name: v.trigger + " / " + v.variant, ...v }))
  ).filter((g) => g.lift.ci95);
  const points = (x) => Math.round(x * 1000) / 10;
  new Chart(document.getElementById("chart-lift"), {
    type: "bar",
    data: {
      labels: groups.length ? groups.map((g) => g.name + (g.lift.enough_data ? "" : " (not enough data yet)")) : ["no holdout yet"],
      datasets: [
        { label: "95 % interval", data: groups.map((g) => [points(g.lift.ci95[0]), points(g.lift.ci95[1])]),
          backgroundColor: groups.map((g) => (g.lift.enough_data ? "#90caf9" : "#e0e0e0")), grouped: false, order: 1 },
        { label: "lift", type: "line", showLine: false, data: groups.map((g) => points(g.lift.absolute)),
          borderColor: "#0d47a1", backgroundColor: "#0d47a1", pointRadius: 6, order: 0 },
      ],
    },
    options: { ...base, indexAxis: "x", scales: { y: { title: { display: true, text: "points" } } } },
  });

  new Chart(document.getElementById("chart-attributed"), {
    type: "bar",
    data: {
      labels: days,
      datasets: [
        { label: "attributed revenue, ₸", data: data.by_day.map((d) => d.attribution.revenue), backgroundColor: "#2e7d32" },
        { label: "attributed orders", type: "line", yAxisID: "orders", data: data.by_day.map((d) => d.attribution.orders),
          borderColor: "#1565c0", backgroundColor: "#1565c0" },
      ],
    },
    options: { ...base, scales: { y: { beginAtZero: true }, orders: { position: "right", beginAtZero: true,
                                  ticks: { precision: 0 }, grid: { drawOnChartArea: false } } } },
  });

  new Chart(document.getElementById("chart-shops"), {
    type: "bar",
    data: {
      labels: data.by_shop.map((s) => s.shop_name || "shop " + s.shop_id),
      datasets: ["sent", "failed", "blocked_total", "deferred"].map((key) => ({
        label: key.replace("_total", ""), data: data.by_shop.map((s) => s[key]),
        backgroundColor: colors[key.replace("_total", "")],
      })),
    },
    options: { ...base, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
})();
