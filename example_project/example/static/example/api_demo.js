// The JSON API from plain JavaScript: upload a workbook (dry run), confirm the import,
// start a bulk update, and follow each task's progress from its event stream.
"use strict";

(() => {
  const root = document.getElementById("api-demo");
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const byId = (id) => document.getElementById(id);
  // Counted for the browser test: progress must arrive through the stream.
  window.bulkopsDemo = { events: 0 };

  async function call(url, options = {}) {
    const headers = { Accept: "application/json", "X-CSRFToken": csrfToken, ...options.headers };
    const response = await fetch(url, { credentials: "same-origin", ...options, headers });
    const data = await response.json();
    if (!response.ok) {
      const error = new Error(data.detail);
      error.fields = data.errors || {};
      throw error;
    }
    return data;
  }

  function postJSON(url, body) {
    return call(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  function report(error) {
    // The API names each field that was wrong: say which.
    const fields = Object.entries(error.fields || {}).map(
      ([field, messages]) => `${field}: ${messages.join(" ")}`
    );
    byId("problem").textContent = [error.message, ...fields].join(" ");
  }

  function show(task) {
    byId("progress-bar").value = task.percent;
    const numbers = interpolate(
      gettext("%(percent)s%% — %(processed)s of %(total)s rows, %(succeeded)s succeeded, %(failed)s failed"),
      { ...task, total: task.total === null ? "?" : task.total },
      true
    );
    const state = task.outcome_display || task.status_display;
    byId("progress-text").textContent = `${task.label}: ${state}. ${numbers}`;
    root.dataset.status = task.status;
    root.dataset.outcome = task.outcome;
  }

  function watch(task) {
    show(task);
    const source = new EventSource(task.links.events);
    const update = (event) => {
      window.bulkopsDemo.events += 1;
      show(JSON.parse(event.data));
    };
    source.addEventListener("progress", update);
    source.addEventListener("finished", (event) => {
      update(event);
      source.close();
    });
  }

  async function finished(task) {
    while (!task.is_finished) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      task = await call(task.links.self);
    }
    return task;
  }

  let upload = null;

  byId("import-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    byId("problem").textContent = "";
    const form = new FormData();
    form.append("file", byId("import-file").files[0]);
    form.append("key_field", "email");
    try {
      const dryRun = await call(root.dataset.uploadUrl, { method: "POST", body: form });
      upload = dryRun.upload;
      // The dry run of the whole file is a task: a small file's has finished already.
      const check = dryRun.check && (await finished(dryRun.check));
      const summary = document.createElement("p");
      summary.textContent = check
        ? interpolate(
            gettext("%(rows)s rows checked; %(failed)s with errors. Nothing is saved yet."),
            { rows: check.processed, failed: check.failed },
            true
          )
        : dryRun.problem;
      const list = document.createElement("ul");
      const errors = check ? (await call(check.links.errors)).results : [];
      for (const error of errors.slice(0, 10)) {
        const item = document.createElement("li");
        item.textContent = interpolate(
          gettext("Row %(row)s, %(column)s: %(message)s"),
          { row: error.row, column: error.field || "—", message: error.message },
          true
        );
        list.append(item);
      }
      byId("dry-run").replaceChildren(summary, list);
      byId("import-confirm").hidden = !dryRun.can_import;
    } catch (error) {
      report(error);
    }
  });

  byId("import-confirm").addEventListener("click", async () => {
    byId("problem").textContent = "";
    try {
      const task = await postJSON(root.dataset.confirmUrl, { upload, key_field: "email" });
      byId("import-confirm").hidden = true;
      watch(task);
    } catch (error) {
      report(error);
    }
  });

  byId("update-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    byId("problem").textContent = "";
    // The list page's own filter, in the query string: the same rows it would show.
    const url = `${root.dataset.updateUrl}?city=${encodeURIComponent(byId("update-from").value)}`;
    try {
      const task = await postJSON(url, {
        all_matching: true,
        values: { city: byId("update-to").value },
      });
      watch(task);
    } catch (error) {
      report(error);
    }
  });
})();
