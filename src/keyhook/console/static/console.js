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
