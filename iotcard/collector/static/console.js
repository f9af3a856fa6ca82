// iotcard console: the company switch, the card actions and the 定向查询 wildcard check. No framework, no network
// but this collector.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  const panel = document.getElementById("actions");
  if (panel) actions(panel);
});

// A whitelisted wildcard (*.haiwell.com, **.haiwell.com) is a pattern, not a host: the same rule as the API's.
function wildcard(target, template) {
  const host = target.split("://").pop().split("/")[0];
  if (!host.includes("*")) return null;
  const domain = host.replace(/^[*.]+/, "").replace(/:\d+$/, "") || "haiwell.com";
  return template.replace("{target}", target).replace("{domain}", domain);
}

function actions(panel) {
  const d = panel.dataset;
  const outcome = document.getElementById("action-outcome");
  const query = d.company ? "?company=" + encodeURIComponent(d.company) : "";
  const url = (tail) => `${d.base}/cards/${d.iccid}/actions/${tail}${query}`;
  const buttons = () => panel.querySelectorAll("button");

  const show = (kind, state, text) => {
    outcome.className = "outcome " + kind;
    outcome.replaceChildren();
    const head = document.createElement("span");
    head.className = "state";
    head.textContent = state;
    outcome.append(head);
    if (text) {
      const body = document.createElement("div");
      body.className = "detail";
      body.textContent = text;
      outcome.append(body);
    }
  };

  const describe = (result) => {
    if (!result) return "";
    if (Array.isArray(result.results)) return result.results.map((r) => `${r.target}: ${r.verdict}`).join("\n");
    if (Array.isArray(result.findings)) return result.findings.map((f) => f.summary || f.code).join("\n");
    if (result.cycle_total_bytes !== undefined) return `${(result.cycle_total_bytes / 1048576).toFixed(1)} MB`;
    return "";
  };

  // After an action the device reports; the collector stores it a moment later: reload the page's figures.
  const refresh = async (tries) => {
    const before = document.getElementById("plan").dataset.updated;
    for (let n = 0; n < tries; n++) {
      await new Promise((done) => setTimeout(done, 500));
      const page = await fetch(location.href, { credentials: "same-origin" });
      if (!page.ok) return;
      const fresh = new DOMParser().parseFromString(await page.text(), "text/html");
      for (const id of ["banners", "card-head", "plan", "charts", "diagnosis", "directed", "sim", "device"]) {
        const now = fresh.getElementById(id);
        if (now) document.getElementById(id).replaceWith(document.importNode(now, true));
      }
      if (fresh.getElementById("plan").dataset.updated !== before) return;
    }
  };

  const finish = async (status, body) => {
    if (status >= 400) {
      show("bad", d.failed, [body.message, body.hint].filter(Boolean).join(" — "));
      return;
    }
    if (body.state === "ok") {
      show("ok", d.done, describe(body.result));
      await refresh(body.action === "refresh_usage" ? 10 : 4);
    } else if (body.state === "failed") {
      show("bad", d.failed, [body.error_code, body.error_message].filter(Boolean).join(": "));
    } else {
      show("wait busy", body.state === "offline" ? d.offline : d.waiting, "");
      await new Promise((done) => setTimeout(done, 2000));
      const again = await fetch(url(body.id), { credentials: "same-origin" });
      await finish(again.status, await again.json());
    }
  };

  const run = async (name, payload) => {
    for (const b of buttons()) b.disabled = true;
    show("wait busy", d.running, "");
    try {
      const answer = await fetch(url(name), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-Console": "1" },
        body: payload ? JSON.stringify(payload) : "",
      });
      await finish(answer.status, await answer.json());
    } catch (error) {
      show("bad", d.failed, String(error));
    } finally {
      for (const b of buttons()) b.disabled = false;
      checkTargets();
    }
  };

  for (const button of panel.querySelectorAll("button[data-action]")) {
    button.addEventListener("click", () => run(button.dataset.action));
  }

  const form = document.getElementById("probe-form");
  const field = document.getElementById("probe-targets");
  const hint = document.getElementById("probe-hint");
  const targets = () => (field ? field.value.split(/[\s,]+/).filter(Boolean) : []);
  function checkTargets() {
    if (!form) return true;
    const problems = targets().map((t) => wildcard(t, d.wildcard)).filter(Boolean);
    hint.hidden = problems.length === 0;
    hint.textContent = problems.join("\n");
    document.getElementById("act-probe").disabled = problems.length > 0 || targets().length === 0;
    return problems.length === 0;
  }
  if (form) {
    field.addEventListener("input", checkTargets);
    checkTargets();
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (checkTargets()) run("probe", { targets: targets() });
    });
  }
}
