// See bcsync/web/theme.py: Airflow's theme from the parent frame, links into Airflow in the top window.
(function () {
  var TOKENS = JSON.parse(document.currentScript.dataset.tokens);
  var root = document.documentElement, parentRoot = null;
  try { if (window.parent !== window) parentRoot = window.parent.document.documentElement; } catch (e) {}
  function copyTheme() {
    var style = window.parent.getComputedStyle(parentRoot);
    if (!style.getPropertyValue("--chakra-colors-bg")) return;
    TOKENS.forEach(function (name) {
      var value = style.getPropertyValue("--chakra-" + name);
      if (value) root.style.setProperty("--chakra-" + name, value.trim());
    });
    var dark = parentRoot.classList.contains("dark");
    root.setAttribute("data-airflow-theme", dark ? "dark" : "light");
    root.style.colorScheme = dark ? "dark" : "light";
  }
  if (parentRoot) {
    copyTheme();
    new MutationObserver(copyTheme).observe(parentRoot, {attributes: true, attributeFilter: ["class", "style"]});
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-airflow]");
    if (!link || !parentRoot || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    var top = window.parent;
    top.history.pushState({}, "", link.href);
    top.dispatchEvent(new top.PopStateEvent("popstate", {state: {}}));
  });
})();
