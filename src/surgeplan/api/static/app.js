// Live updates over server-sent events (same-origin, the session cookie authenticates).
(function () {
  "use strict";
  var dot = document.getElementById("live-dot");
  var feed = document.getElementById("live-feed");
  var status = document.getElementById("live-status");
  var alerts = document.getElementById("alerts");
  if (!window.EventSource) return;
  var es = new EventSource("/api/v1/events");
  es.onopen = function () { if (dot) dot.classList.add("on"); };
  es.onerror = function () { if (dot) dot.classList.remove("on"); };
  function text(tag, s, cls) { var e = document.createElement(tag); e.textContent = s; if (cls) e.className = cls; return e; }
  es.addEventListener("measurements", function (ev) {
    var d = JSON.parse(ev.data);
    if (status) status.textContent = "Last measurement " + d.last_ts + ": " + d.rows + " rows from " + d.resources + " resources.";
    if (!feed) return;
    d.latest.slice(0, 10).forEach(function (m) {
      var li = text("li", m.ts.replace("T", " ").slice(0, 19) + "  " + m.resource_id + "  " + m.load.toFixed(2), "new measurement");
      li.dataset.resource = m.resource_id;
      feed.insertBefore(li, feed.firstChild);
    });
    while (feed.children.length > 40) feed.removeChild(feed.lastChild);
  });
  function refreshAlerts() {
    if (!alerts) return;
    var q = alerts.dataset.quantile || "p90";
    fetch("/api/v1/alerts?quantile=" + encodeURIComponent(q), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) return;
        alerts.dataset.version = d.version;
        ["critical", "high", "watch"].forEach(function (level) {
          var rows = d.items.filter(function (a) { return a.urgency === level; });
          var ul = document.getElementById("list-" + level);
          document.getElementById("count-" + level).textContent = rows.length;
          ul.innerHTML = "";
          rows.slice(0, 40).forEach(function (a) {
            var li = document.createElement("li");
            var link = text("a", a.resource_id, "alert-link");
            link.href = "/resources/" + encodeURIComponent(a.resource_id);
            li.appendChild(link);
            li.appendChild(text("span", " " + a.status + (a.priority_class === "vital" ? " · vital" : ""), "muted"));
            ul.appendChild(li);
          });
          if (!rows.length) ul.appendChild(text("li", "none", "muted"));
        });
      });
  }
  es.addEventListener("alerts", refreshAlerts);
  es.addEventListener("plan", refreshAlerts);
})();
