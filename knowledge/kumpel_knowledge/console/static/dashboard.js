/* Draws each dashboard chart with Chart.js from the table under it (the table is the data: charts,
   tables and CSV downloads cannot disagree). A bar with an inbox link behind it opens that link;
   the same links are in the table for keyboard and screen-reader users. Without JavaScript the
   tables stay open and complete. */
(function () {
  "use strict";
  // Typing a date means "my own period": switch the selector, so the dates are not ignored.
  var preset = document.getElementById("period");
  ["from", "to"].forEach(function (id) {
    var input = document.getElementById(id);
    if (input && preset) { input.addEventListener("change", function () { preset.value = "custom"; }); }
  });
  if (typeof window.Chart === "undefined") { return; }
  var Chart = window.Chart;
  // Contrast at least 3:1 against white for graphical objects (WCAG 1.4.11).
  var COLOURS = ["#1e6b34", "#0b5cad", "#8a5a00", "#b3261e", "#6b3fa0", "#4a5360", "#005f6b"];
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 14;
  Chart.defaults.color = "#1b1f24";
  Chart.defaults.animation = false;

  function number(cell) { var n = parseInt(cell.textContent, 10); return isNaN(n) ? 0 : n; }

  function readTable(table) {
    var headers = Array.prototype.map.call(table.tHead.rows[0].cells, function (c) { return c.textContent.trim(); });
    var rows = Array.prototype.map.call(table.tBodies[0].rows, function (row) { return row.cells; });
    return { headers: headers, rows: rows };
  }

  function labels(data) { return data.rows.map(function (cells) { return cells[0].textContent.trim(); }); }

  function column(data, index, label, colour) {
    return {
      label: label || data.headers[index],
      data: data.rows.map(function (cells) { return number(cells[index]); }),
      backgroundColor: colour, borderColor: colour, column: index, maxBarThickness: 32
    };
  }

  function datasets(data, indexes) {
    return indexes.map(function (index, n) { return column(data, index, null, COLOURS[n % COLOURS.length]); });
  }

  function range(from, to) { var out = []; for (var i = from; i < to; i++) { out.push(i); } return out; }

  function config(kind, data) {
    var width = data.headers.length;
    var scales = { y: { beginAtZero: true, ticks: { precision: 0 } } };
    if (kind === "line") {
      return { type: "line", data: { labels: labels(data), datasets: datasets(data, range(1, width)) }, options: { scales: scales } };
    }
    if (kind === "stacked") {
      return {
        type: "bar", data: { labels: labels(data), datasets: datasets(data, range(1, width)) },
        options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
      };
    }
    if (kind === "bar") {  // the entries, the last column is the count
      return {
        type: "bar", data: { labels: labels(data), datasets: [column(data, width - 1, null, COLOURS[1])] },
        options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
      };
    }
    if (kind === "bar-pair") {  // thumbs up and down: the last two columns
      return {
        type: "bar", data: { labels: labels(data), datasets: [column(data, width - 2, null, COLOURS[0]), column(data, width - 1, null, COLOURS[3])] },
        options: { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
      };
    }
    if (kind === "grouped") {
      return { type: "bar", data: { labels: labels(data), datasets: datasets(data, range(1, width)) }, options: { scales: scales } };
    }
    if (kind === "heat") {  // per hour of the day, all weekdays together; the table has each weekday
      var total = {
        label: "Fragen (alle Wochentage)", backgroundColor: COLOURS[1], borderColor: COLOURS[1], maxBarThickness: 32,
        data: data.rows.map(function (cells) { var sum = 0; for (var i = 1; i < cells.length; i++) { sum += number(cells[i]); } return sum; })
      };
      return { type: "bar", data: { labels: labels(data), datasets: [total] }, options: { plugins: { legend: { display: false } }, scales: scales } };
    }
    return null;
  }

  function linkOnClick(data) {
    return function (event, elements, chart) {
      if (!elements.length) { return; }
      var element = elements[0];
      var dataset = chart.data.datasets[element.datasetIndex];
      if (dataset.column === undefined) { return; }
      var cell = data.rows[element.index][dataset.column];
      var href = cell && cell.getAttribute("data-href");
      if (href) { window.location.assign(href); }
    };
  }

  document.querySelectorAll("table[data-chart]").forEach(function (table) {
    var canvas = document.getElementById(table.getAttribute("data-canvas"));
    if (!canvas) { return; }
    var data = readTable(table);
    var settings = config(table.getAttribute("data-chart"), data);
    if (!settings) { return; }
    settings.options.maintainAspectRatio = false;
    settings.options.responsive = true;
    settings.options.onClick = linkOnClick(data);
    settings.options.onHover = function (event, elements, chart) {
      var linked = elements.length && (function (e) {
        var ds = chart.data.datasets[e.datasetIndex];
        var cell = ds.column !== undefined ? data.rows[e.index][ds.column] : null;
        return cell && cell.hasAttribute("data-href");
      })(elements[0]);
      chart.canvas.classList.toggle("chart-link", !!linked);
    };
    new Chart(canvas, settings);
    canvas.setAttribute("data-drawn", "true");
    // The chart is drawn: fold the table away to keep the page short (one click opens it again).
    var details = table.closest("details");
    if (details) { details.removeAttribute("open"); }
  });
}());
