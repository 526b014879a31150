// What HTML cannot do alone: copying a value to the clipboard. Everything works without it.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector(".copied");
  navigator.clipboard.writeText(field.value).then(
    () => { if (status) status.textContent = "Copied."; },
    () => { field.select(); if (status) status.textContent = "Select the key and copy it."; },
  );
});

// The deliveries' live tail: rows the server sends (server-sent events) replace the row
// of the same delivery or go on top. Without the script, the Filter button reloads.
const live = document.querySelector("[data-live]");
if (live && window.EventSource) {
  const rows = document.getElementById("delivery-rows");
  const news = document.querySelector(".live-news");
  let count = 0;
  const source = new EventSource(live.dataset.live);
  source.addEventListener("delivery", (event) => {
    const holder = document.createElement("tbody");
    holder.innerHTML = event.data;
    const row = holder.firstElementChild;
    const old = rows.querySelector(`tr[data-id="${row.dataset.id}"]`);
    document.getElementById("no-rows")?.remove();
    if (old) old.replaceWith(row); else rows.prepend(row);
    count += 1;
    news.textContent = `${count} update${count === 1 ? "" : "s"} since the page loaded.`;
  });
  source.addEventListener("end", () => source.close());
}
