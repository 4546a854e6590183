// inboxops page: keyboard (j/k move, a approve, e edit, r reject, c category) and the live
// queue (polling). Small and dependency-free; served from /static, the only script the
// Content-Security-Policy allows. Nothing here inserts text from mail except the server's
// rendered (escaped) rows.
(function () {
  "use strict";
  var body = document.body;
  var page = body.dataset.page;

  function typing(ev) {
    var el = ev.target;
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }

  function submit(id) {
    var form = document.getElementById(id);
    if (form) { form.requestSubmit ? form.requestSubmit() : form.submit(); }
  }

  // -- the queue ---------------------------------------------------------------------------
  var selected = null;

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#rows tr")); }

  function select(row) {
    rows().forEach(function (r) { r.classList.remove("sel"); });
    if (row) { row.classList.add("sel"); row.scrollIntoView({block: "nearest"}); selected = row.dataset.id; }
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var i = all.findIndex(function (r) { return r.dataset.id === selected; });
    i = i < 0 ? 0 : Math.min(all.length - 1, Math.max(0, i + step));
    select(all[i]);
  }

  function openSelected(hash) {
    if (selected) { window.location.href = "/drafts/" + selected + (hash || ""); }
  }

  function post(url, data) {
    var form = new FormData();
    form.append("csrf", body.dataset.csrf);
    Object.keys(data || {}).forEach(function (k) { form.append(k, data[k]); });
    return fetch(url, {method: "POST", body: form, credentials: "same-origin"});
  }

  function refresh() {
    fetch("/queue/rows" + window.location.search, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var before = rows().map(function (r) { return r.dataset.id; });
        if (before.join(",") !== data.ids.map(String).join(",")) {
          var fresh = data.ids.filter(function (id) { return before.indexOf(String(id)) < 0; }).length;
          document.getElementById("rows").innerHTML = data.html;
          var note = document.getElementById("fresh");
          if (fresh && before.length) { note.textContent = "+" + fresh; note.hidden = false; }
          select(rows().find(function (r) { return r.dataset.id === selected; }) || null);
        }
        document.getElementById("count").textContent = data.count;
        document.getElementById("empty").hidden = data.ids.length > 0;
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  if (page === "queue") {
    move(0);
    document.getElementById("rows").addEventListener("click", function (ev) {
      var row = ev.target.closest("tr");
      if (row) { select(row); }
    });
    setInterval(refresh, (parseFloat(body.dataset.poll) || 5) * 1000);
    document.addEventListener("keydown", function (ev) {
      if (typing(ev) || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
      if (ev.key === "j") { move(1); }
      else if (ev.key === "k") { move(-1); }
      else if (ev.key === "Enter" || ev.key === "o") { openSelected(); }
      else if (ev.key === "e") { openSelected("#edit"); }
      else if (ev.key === "c") { openSelected("#category"); }
      else if ((ev.key === "a" || ev.key === "r") && selected) {
        var id = selected;
        post("/drafts/" + id + (ev.key === "a" ? "/approve" : "/reject"), {})
          .then(function () { move(1); refresh(); });
      } else { return; }
      ev.preventDefault();
    });
  }

  // -- one draft ---------------------------------------------------------------------------
  if (page === "draft") {
    var head = document.getElementById("draft");
    if (window.location.hash === "#edit") { var b = document.getElementById("body"); if (b) { b.focus(); } }
    if (window.location.hash === "#category") { var c = document.getElementById("category"); if (c) { c.focus(); } }
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && typing(ev)) { ev.target.blur(); return; }
      if (typing(ev) || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
      if (ev.key === "a") { submit("approve-form"); }
      else if (ev.key === "r") { submit("reject-form"); }
      else if (ev.key === "e") { var t = document.getElementById("body"); if (t && !t.readOnly) { t.focus(); } }
      else if (ev.key === "c") { var s = document.getElementById("category"); if (s) { s.focus(); } }
      else if (ev.key === "j" && head.dataset.next) { window.location.href = "/drafts/" + head.dataset.next; }
      else if (ev.key === "k" && head.dataset.prev) { window.location.href = "/drafts/" + head.dataset.prev; }
      else if (ev.key === "u") { window.location.href = "/"; }
      else { return; }
      ev.preventDefault();
    });
  }
}());
