// The catalog explorer's progressive enhancement. The server renders every page (and the
// first page of the table) without JavaScript; this script adds live filtering, sorting and
// paging, picking models to compare, and the compare table on a static site. On `catalog
// serve` the table asks the server for each page of a view (/explorer/table.json: no 100k-row
// download); a static export has no server, so there it filters rows.json, with rules that
// mirror pipeline/web/rows.py. Text goes in with textContent only.
"use strict";

(function () {
  const body = document.body;
  const PAGE_SIZE = 100;
  const SORTS = { id: "id", name: "name", input: "in", output: "out", context: "ctx",
                  "max-output": "maxOut", created: "created", rank: "rank" };
  const CAP_LABELS = { vision: "vision", tools: "tools", reasoning: "reasoning",
                       "structured-output": "JSON", "image-gen": "image gen", free: "free" };
  const MULTI = ["capability", "tier", "state", "kind"];

  function modelHref(id) {
    const path = id.split("/").map(encodeURIComponent).join("/").replace(/%7E/g, "~");
    return body.dataset.modelBase + path + body.dataset.modelSuffix;
  }
  function usd(v) {
    if (v === null || v === undefined) return "—";
    if (v === 0) return "$0";
    return "$" + Number(v).toLocaleString("en-US", { maximumSignificantDigits: 6 });
  }
  function count(v) { return v === null || v === undefined ? "—" : Number(v).toLocaleString("en-US"); }
  function day(epoch) {
    return typeof epoch === "number" ? new Date(epoch * 1000).toISOString().slice(0, 10) : "—";
  }
  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  function loadRows() {
    return fetch(body.dataset.rows, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("rows.json: HTTP " + r.status);
      return r.json();
    });
  }

  // -- view state: the URL's query string is the whole state ----------------------------------
  // A filter of several values may come as a comma list or as a repeated key (the form without
  // JavaScript sends capability=vision&capability=tools): both mean the same, as on the server.
  function readState() {
    const p = new URLSearchParams(location.search);
    const s = { q: (p.get("q") || "").trim(), provider: (p.get("provider") || "").trim().toLowerCase(),
                bucket: p.get("bucket") || "", sort: SORTS[p.get("sort")] ? p.get("sort") : "id",
                desc: p.get("dir") === "desc", page: Math.max(1, parseInt(p.get("page") || "1", 10) || 1) };
    MULTI.forEach(function (k) {
      const values = p.getAll(k).join(",").split(",").map(function (v) { return v.trim(); }).filter(Boolean);
      s[k] = values.filter(function (v, i) { return values.indexOf(v) === i; });
    });
    return s;
  }
  function query(s) {
    const p = new URLSearchParams();
    if (s.q) p.set("q", s.q);
    MULTI.forEach(function (k) { if (s[k].length) p.set(k, s[k].join(",")); });
    if (s.provider) p.set("provider", s.provider);
    if (s.bucket) p.set("bucket", s.bucket);
    if (s.sort !== "id") p.set("sort", s.sort);
    if (s.desc) p.set("dir", "desc");
    if (s.page > 1) p.set("page", String(s.page));
    return p.toString();
  }
  function writeState(s) {
    const q = query(s);
    history.replaceState(null, "", location.pathname + (q ? "?" + q : ""));
  }
  function matches(s) {
    const needle = s.q.toLowerCase();
    return function (r) {
      if (needle && !["id", "alias", "name"].some(function (f) { return String(r[f]).toLowerCase().includes(needle); })) return false;
      if (s.capability.length && !s.capability.every(function (c) { return r.caps.includes(c); })) return false;
      if (s.tier.length && !s.tier.includes(r.tier)) return false;
      if (s.state.length && !s.state.includes(r.state)) return false;
      if (s.kind.length && !s.kind.includes(r.kind)) return false;
      if (s.provider && s.provider !== String(r.provider).toLowerCase() && s.provider !== String(r.family).toLowerCase()) return false;
      if (s.bucket && !r.buckets.includes(s.bucket)) return false;
      return true;
    };
  }
  function select(rows, s) {
    const key = SORTS[s.sort];
    const found = rows.filter(matches(s));
    const present = found.filter(function (r) { return r[key] !== null && r[key] !== undefined; });
    const missing = found.filter(function (r) { return r[key] === null || r[key] === undefined; });
    present.sort(function (a, b) {
      let x = a[key], y = b[key];
      if (typeof x === "string") { x = x.toLowerCase(); y = String(y).toLowerCase(); }
      const c = x < y ? -1 : x > y ? 1 : (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
      return s.desc ? -c : c;
    });
    return present.concat(missing);
  }

  // -- the catalog table ------------------------------------------------------------------------
  function rowNode(r, picked) {
    const tr = document.createElement("tr");
    tr.dataset.id = r.id;
    const pick = document.createElement("input");
    pick.type = "checkbox"; pick.className = "pick"; pick.value = r.id; pick.checked = picked.has(r.id);
    pick.setAttribute("aria-label", "compare " + r.id);
    const c0 = el("td"); c0.appendChild(pick); tr.appendChild(c0);
    const idCell = el("td", null, "id");
    const a = el("a", r.id); a.href = modelHref(r.id); idCell.appendChild(a);
    idCell.appendChild(el("div", r.name, "name")); tr.appendChild(idCell);
    tr.appendChild(el("td", r.kind));
    tr.appendChild(el("td", r.variable ? "variable" : usd(r.in), "num"));
    tr.appendChild(el("td", r.variable ? "variable" : usd(r.out), "num"));
    tr.appendChild(el("td", count(r.ctx), "num"));
    tr.appendChild(el("td", count(r.maxOut), "num"));
    tr.appendChild(el("td", day(r.created)));
    tr.appendChild(el("td", r.rank === null ? "—" : r.rank.toFixed(3), "num"));
    tr.appendChild(el("td", r.tier));
    tr.appendChild(el("td", r.state));
    const caps = el("td");
    r.caps.forEach(function (c, i) {
      if (i) caps.appendChild(document.createTextNode(" "));
      caps.appendChild(el("span", CAP_LABELS[c] || c, "cap cap-" + c));
    });
    tr.appendChild(caps);
    return tr;
  }

  // rows: every row (a static export), or null: the server answers each page (body.dataset.table).
  function catalogPage(rows) {
    const form = document.querySelector("form.filters");
    const tbody = document.getElementById("rows");
    const picked = new Set();
    const compareButton = document.getElementById("compare-picked");
    let state = readState();

    function syncForm() {
      form.elements.q.value = state.q;
      form.elements.provider.value = state.provider;
      form.elements.bucket.value = state.bucket;
      MULTI.forEach(function (k) {
        form.querySelectorAll('input[name="' + k + '"]').forEach(function (box) { box.checked = state[k].includes(box.value); });
      });
    }
    function fromForm() {
      state.q = form.elements.q.value.trim();
      state.provider = form.elements.provider.value.trim().toLowerCase();
      state.bucket = form.elements.bucket.value;
      MULTI.forEach(function (k) {
        state[k] = Array.from(form.querySelectorAll('input[name="' + k + '"]:checked')).map(function (b) { return b.value; });
      });
      state.page = 1;
    }
    let asked = 0;
    function render() {
      if (rows) {
        const selected = select(rows, state);
        const pages = Math.max(1, Math.ceil(selected.length / PAGE_SIZE));
        state.page = Math.min(state.page, pages);
        draw(selected.slice((state.page - 1) * PAGE_SIZE, state.page * PAGE_SIZE), selected.length, pages);
        return;
      }
      const mine = ++asked;  // a newer view's answer wins over a late one
      const q = query(state);
      fetch(body.dataset.table + (q ? "?" + q : ""), { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("table.json: HTTP " + r.status);
        return r.json();
      }).then(function (answer) {
        if (mine !== asked) return;
        state.page = answer.page;
        draw(answer.rows, answer.total, answer.pages);
      }).catch(function (err) {
        if (mine !== asked) return;
        body.dataset.ready = "error";
        const main = document.querySelector("main");
        main.insertBefore(el("p", "Live filtering is unavailable (" + err.message + "); the links still work.", "warn"), main.firstChild);
      });
    }
    function draw(shown, total, pages) {
      const frag = document.createDocumentFragment();
      shown.forEach(function (r) { frag.appendChild(rowNode(r, picked)); });
      tbody.replaceChildren(frag);
      document.getElementById("total").textContent = total.toLocaleString("en-US");
      document.getElementById("page").textContent = String(state.page);
      document.getElementById("pages").textContent = String(pages);
      document.querySelectorAll("a.sort").forEach(function (a) {
        const label = a.textContent.replace(/ [▲▼]$/, "");
        a.textContent = label + (a.dataset.sort === state.sort ? (state.desc ? " ▼" : " ▲") : "");
      });
      const prev = document.querySelector('.pager a[rel="prev"]');
      const next = document.querySelector('.pager a[rel="next"]');
      setPager(prev, "prev", state.page > 1);
      setPager(next, "next", state.page < pages);
      writeState(state);
      body.dataset.ready = "1";
    }
    function setPager(link, rel, enabled) {
      const pager = document.querySelector(".pager");
      if (!link) {
        link = el("a", rel === "prev" ? "← previous" : "next →"); link.rel = rel; link.href = "#";
        if (rel === "prev") pager.replaceChild(link, pager.firstElementChild); else pager.replaceChild(link, pager.lastElementChild);
      }
      link.hidden = !enabled;
      link.onclick = function (ev) { ev.preventDefault(); state.page += rel === "prev" ? -1 : 1; render(); window.scrollTo(0, 0); };
    }
    syncForm();
    form.addEventListener("input", function () { fromForm(); render(); });
    form.addEventListener("change", function () { fromForm(); render(); });
    form.addEventListener("submit", function (ev) { ev.preventDefault(); fromForm(); render(); });
    document.querySelectorAll("a.sort").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        const sort = a.dataset.sort;
        if (state.sort === sort) state.desc = !state.desc;
        else { state.sort = sort; state.desc = ["created", "rank", "context", "max-output"].includes(sort); }
        state.page = 1;
        render();
      });
    });
    tbody.addEventListener("change", function (ev) {
      const box = ev.target;
      if (!box.classList || !box.classList.contains("pick")) return;
      if (box.checked) picked.add(box.value); else picked.delete(box.value);
      compareButton.disabled = picked.size < 2 || picked.size > 4;
      compareButton.textContent = "Compare selected (" + picked.size + ")";
    });
    compareButton.addEventListener("click", function () {
      location.href = body.dataset.compare + "?ids=" + encodeURIComponent(Array.from(picked).join(","));
    });
    render();
  }

  // -- compare ------------------------------------------------------------------------------------
  const COMPARE = [["Name", "name"], ["Alias", "alias"], ["Provider", "provider"], ["Kind", "kind"],
    ["Input $/1M", "in"], ["Output $/1M", "out"], ["Cache read $/1M", "cacheRead"], ["Context", "ctx"],
    ["Max output", "maxOut"], ["Created", "created"], ["Rank", "rank"], ["Tier", "tier"], ["State", "state"],
    ["Reasoning", "reasoning"], ["Capabilities", "caps"], ["Input modalities", "modIn"],
    ["Output modalities", "modOut"], ["Buckets", "buckets"]];
  function cell(key, v) {
    if (key === "in" || key === "out" || key === "cacheRead") return usd(v);
    if (key === "ctx" || key === "maxOut") return count(v);
    if (key === "created") return day(v);
    if (key === "rank") return v === null || v === undefined ? "—" : v.toFixed(3);
    if (Array.isArray(v)) return v.slice().sort().join(", ") || "—";
    return v === null || v === undefined || v === "" ? "—" : String(v);
  }
  function comparePage(rows) {
    const list = document.getElementById("model-ids");
    const frag = document.createDocumentFragment();
    rows.forEach(function (r) { const o = document.createElement("option"); o.value = r.id; frag.appendChild(o); });
    list.replaceChildren(frag);
    const ids = (new URLSearchParams(location.search).get("ids") || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean).slice(0, 4);
    if (!document.getElementById("compare-table") && ids.length) {
      const byRef = {};
      rows.forEach(function (r) { byRef[r.id] = r; if (r.alias) byRef[r.alias] = byRef[r.alias] || r; });
      const chosen = ids.map(function (i) { return byRef[i]; }).filter(Boolean);
      const table = el("table", null, "compare"); table.id = "compare-table";
      const head = el("tr"); head.appendChild(el("th"));
      chosen.forEach(function (r) { const th = el("th"); const a = el("a", r.id); a.href = modelHref(r.id); th.appendChild(a); head.appendChild(th); });
      const thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
      const tb = el("tbody");
      COMPARE.forEach(function (pair) {
        const tr = el("tr"); tr.dataset.field = pair[1];
        const cells = chosen.map(function (r) { return cell(pair[1], r[pair[1]]); });
        if (new Set(cells).size > 1) tr.className = "diff";
        tr.appendChild(el("th", pair[0]));
        cells.forEach(function (c) { tr.appendChild(el("td", c)); });
        tb.appendChild(tr);
      });
      table.appendChild(tb);
      document.getElementById("compare").replaceChildren(table);
      const input = document.querySelector('.compare-form input[name="ids"]');
      if (input && !input.value) input.value = ids.join(",");
    }
    body.dataset.ready = "1";
  }

  // -- how old the data is ---------------------------------------------------------------------
  // The server writes the banner when it renders a page over old data; a static export is read
  // later than it was written, so the banner is renewed here (or added once the data is older
  // than the schedule allows). Words as pipeline/timeutil.py's data_age, text as routes.py's
  // banner_text.
  function ageWords(seconds) {
    if (seconds < 0) return "in the future";
    const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
    for (let i = 0; i < units.length; i++) {
      const size = units[i][1];
      if (seconds >= size) {
        const n = Math.floor(seconds / size);
        return n + " " + units[i][0] + (n !== 1 ? "s" : "") + " old";
      }
    }
    return "just now";
  }
  function renewDataAge() {
    const asOf = body.dataset.asOf;
    const at = Date.parse(asOf || "");
    if (isNaN(at)) return;
    const seconds = Math.floor((Date.now() - at) / 1000);
    const degraded = body.dataset.degraded === "1";
    if (!degraded && !(seconds > Number(body.dataset.staleAfter))) return;
    const shown = seconds >= 86400 ? asOf.slice(0, 10) : asOf;
    let text = "Data as of " + shown + ", " + ageWords(seconds) +
      (degraded ? " (embedded catalog, degraded). OpenRouter could not be reached: this is the catalog shipped with the package. " : ". ") +
      "Prices and models may have changed since.";
    let banner = document.getElementById("data-age");
    if (!banner) {
      banner = el("div", null, "banner");
      banner.id = "data-age";
      banner.setAttribute("role", "alert");
      document.querySelector("header").after(banner);
    }
    banner.textContent = text;
  }
  renewDataAge();

  const page = body.dataset.page;
  if (page === "catalog" && body.dataset.table && document.querySelector("form.filters")) {
    catalogPage(null);
  } else if (page === "catalog" || page === "compare") {
    loadRows().then(function (rows) {
      if (page === "catalog") catalogPage(rows); else comparePage(rows);
    }).catch(function (err) {
      body.dataset.ready = "error";
      const main = document.querySelector("main");
      main.insertBefore(el("p", "Live filtering is unavailable (" + err.message + "); the links still work.", "warn"), main.firstChild);
    });
  } else {
    body.dataset.ready = "1";
  }
})();
